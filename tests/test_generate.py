"""scripts/generate.py: PNGs per stage, a captioned grid, prompts from a file, seeds, errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
from conftest import CAPTIONS, make_tiny_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import generate  # noqa: E402


@pytest.fixture
def saved_pipeline(tmp_path, bag_of_words):
    make_tiny_pipeline(bag_of_words).save_pretrained(tmp_path / "model")
    return str(tmp_path / "model")


def test_generate_writes_both_stages_and_a_grid(tmp_path, saved_pipeline):
    out = tmp_path / "out"
    generate.main(
        ["--model", saved_pipeline, "--prompt", *CAPTIONS[:2], "--num_images", "2", "--output_dir", str(out)]
    )
    records = json.loads((out / "images.json").read_text())
    assert len(records) == 4 and [r["prompt"] for r in records] == [CAPTIONS[0]] * 2 + [CAPTIONS[1]] * 2
    for record in records:
        assert PIL.Image.open(out / record["stage1"]).size == (64, 64)
        assert PIL.Image.open(out / record["stage2"]).size == (256, 256)
    grid = PIL.Image.open(out / "grid.png")
    assert grid.size[0] == 4 * 256 and grid.size[1] > 2 * 256  # 4 columns, two stages, caption strip


def test_same_seed_same_files_from_a_prompts_file(tmp_path, saved_pipeline):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text(f"{CAPTIONS[0]}\n\n{CAPTIONS[2]}\n")
    runs = []
    for name in ("a", "b"):
        generate.main(
            [
                "--model",
                saved_pipeline,
                "--prompts_file",
                str(prompts),
                "--num_images",
                "1",
                "--seed",
                "7",
                "--output_dir",
                str(tmp_path / name),
            ]
        )
        records = json.loads((tmp_path / name / "images.json").read_text())
        runs.append([np.asarray(PIL.Image.open(tmp_path / name / r["stage2"])) for r in records])
    assert len(runs[0]) == 2
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_generate_rejects_bad_arguments(tmp_path, saved_pipeline, capsys):
    for argv in (
        ["--model", saved_pipeline],
        ["--model", saved_pipeline, "--prompts_file", str(tmp_path / "no.txt")],
        ["--model", saved_pipeline, "--prompt", "a bird", "--num_images", "0"],
    ):
        with pytest.raises(SystemExit):
            generate.main(argv)
    assert "--prompts_file" in capsys.readouterr().err
    # Errors of the model or the prompt: argparse's one line and exit code 2, not a traceback.
    for argv, message in (
        (["--model", str(tmp_path / "no-such-model")], "no-such-model: no such model folder"),
        (["--model", str(tmp_path)], "has no model_index.json: not a saved pipeline"),
        (["--model", saved_pipeline, "--prompt", "   "], "`prompt` is empty"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            generate.main([*argv, "--prompt", "a bird"] if "--prompt" not in argv else argv)
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err.splitlines()[-1]
