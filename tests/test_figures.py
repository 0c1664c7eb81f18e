"""The CUB figure scripts as a user runs them: the memorization check and the Stage-II figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import PIL.Image
import pytest
import torch
from conftest import TINY_D, make_tiny_pipeline
from cub_fixture import make_cub_tree

from stackgan_hf.data import load_stackgan_dataset, prepare_cub
from stackgan_hf.evaluation.stackgan import train_dataset_classifier
from stackgan_hf.models import StackGANStage1Discriminator
from stackgan_hf.text import HashedBagOfWordsEncoder

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from nearest_neighbors import nearest  # noqa: E402


@pytest.fixture(scope="module")
def cub_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("figures")
    tree = make_cub_tree(root, num_classes=4, images_per_class=4)
    prepare_cub(tree["cub_dir"], tree["birds_dir"], root / "prepared", image_size=304)
    train = load_stackgan_dataset(str(root / "prepared"), split="train")
    train_dataset_classifier(train, steps=2, base_channels=8).save_pretrained(root / "judge")
    captions = [caption for row in train["captions"] for caption in row]
    vocabulary = HashedBagOfWordsEncoder.build_vocabulary(captions)
    encoder = HashedBagOfWordsEncoder(vocabulary, embedding_dim=16)
    make_tiny_pipeline(encoder).save_pretrained(root / "model")
    make_tiny_pipeline(encoder, stage2=False).save_pretrained(root / "stage1_only")
    StackGANStage1Discriminator(text_embedding_dim=16, **TINY_D).save_pretrained(
        root / "stage1_only" / "discriminator"
    )
    return root


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / script), *args], capture_output=True, text=True
    )


def test_nearest_finds_the_copy_and_measures_its_distance():
    keys = torch.rand(5, 3, 4, 4)
    queries = torch.stack([keys[3], keys[1] + 0.1])
    distance, index = nearest(queries, keys, "rms")
    assert index.tolist() == [3, 1] and distance[0] == 0 and distance[1] == pytest.approx(0.1, abs=1e-5)
    distance, index = nearest(queries * 2, keys, "cosine")  # cosine ignores the scale
    assert index[0] == 3 and distance[0] == pytest.approx(0, abs=1e-6)


def test_memorization_check_writes_its_figure_and_distances(cub_run):
    output = cub_run / "memorization"
    result = _run(
        "nearest_neighbors.py",
        *("--model", str(cub_run / "model"), "--dataset", str(cub_run / "prepared")),
        *("--classifier", str(cub_run / "judge"), "--num_samples", "6", "--num_shown", "3"),
        *("--output_dir", str(output)),
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads((output / "nearest_neighbors.json").read_text())
    assert metrics["num_generated"] == 6 and metrics["real_test"]["num_images"] > 0
    for name in ("generated", "real_test"):
        assert metrics[name]["mean_nn_pixel_rms"] > 0 and 0 <= metrics[name]["mean_nn_feature_cosine"] <= 2
    assert PIL.Image.open(output / "nearest_neighbors.png").size[0] == 3 * 128
    bad_args = ("--output_dir", str(output))
    bad = _run(
        "nearest_neighbors.py",
        *("--model", "m", "--dataset", "d", "--classifier", "c", "--num_shown", "0", *bad_args),
    )
    assert bad.returncode == 2 and "--num_shown" in bad.stderr and "Traceback" not in bad.stderr


def test_stage2_figures(cub_run):
    output = cub_run / "figures"
    common = ("--dataset", str(cub_run / "prepared"), "--output_dir", str(output))
    result = _run("stackgan_figures.py", "--model", str(cub_run / "model"), "--num_compared", "2", *common)
    assert result.returncode == 0, result.stderr
    real = PIL.Image.open(output / "real_grid_8x8.png")
    assert PIL.Image.open(output / "stage2_grid_8x8.png").size == real.size
    assert PIL.Image.open(output / "bicubic_grid_8x8.png").size == real.size
    assert real.size[0] == 8 * 256  # the tiny test split has fewer than 64 rows: fewer rows of 8
    compared = PIL.Image.open(output / "bicubic_vs_stage2.png")
    assert compared.size[0] == 2 * 256 and compared.size[1] > 3 * 256
    stage1_output = cub_run / "figures_stage1"
    stage1_only = _run(
        "stackgan_figures.py",
        "--model",
        str(cub_run / "stage1_only"),
        *common[:2],
        "--output_dir",
        str(stage1_output),
    )
    assert stage1_only.returncode == 0, stage1_only.stderr
    assert sorted(path.name for path in stage1_output.iterdir()) == [
        "bicubic_grid_8x8.png",
        "real_grid_8x8.png",
    ]
    assert PIL.Image.open(stage1_output / "bicubic_grid_8x8.png").size == real.size


def test_heldout_accuracy_averages_over_seeds(cub_run):
    def heldout(name: str, *args: str) -> dict:
        output = cub_run / name
        result = _run(
            "heldout_accuracy.py",
            str(cub_run / "stage1_only"),
            "--dataset",
            str(cub_run / "prepared"),
            "--split",
            "train",
            "--output",
            str(output),
            *args,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(output.read_text())["stage1_only"]

    one = heldout("one.json", "--seed", "1")
    several = heldout("several.json", "--num_seeds", "3")
    assert several["seeds"] == [0, 1, 2]
    for key in ("heldout_acc_real", "heldout_acc_mismatched"):
        per_seed = several[f"{key}_per_seed"]
        assert per_seed[1] == pytest.approx(one[key], abs=1e-4)
        assert several[key] == pytest.approx(sum(per_seed) / 3, abs=1e-4) and several[f"{key}_std"] >= 0
