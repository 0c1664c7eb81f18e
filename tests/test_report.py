"""scripts/make_report.py on a tiny two-stage run: every section, self-contained HTML, PDF with Chromium."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_TRAINING, reset_accelerate_state

from stackgan_hf.models import StackGANStage1Generator
from stackgan_hf.report import (
    confusion_matrix,
    layer_table,
    load_discriminator,
    table_of_contents,
    to_html,
)
from stackgan_hf.training import StackGANTrainingConfig, train

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    output = tmp_path_factory.mktemp("report-run") / "run"
    config = StackGANTrainingConfig(
        **TINY_TRAINING,
        output_dir=str(output),
        stage="both",
        dataset="synthetic-birds",
        synthetic_num_images=16,
        max_train_steps=2,
        stage2_max_train_steps=2,
        checkpointing_steps=2,
        seed=0,
    )
    train(config)
    reset_accelerate_state()
    return output


def test_layer_table_covers_the_model_and_counts_its_parameters():
    model = StackGANStage1Generator(text_embedding_dim=16, noise_dim=8, condition_dim=4, base_channels=16)
    rows = layer_table(model, torch.zeros(1, 16), torch.zeros(1, 8))
    assert rows[0][0].startswith("conditioning.") and rows[-1][2] == "1x3x64x64"
    assert len({name for name, *_ in rows}) == len(rows)  # each layer once, in the order they ran
    # Containers are reported through their children, which hold every parameter.
    assert sum(parameters for *_, parameters in rows) == model.num_parameters()


def test_confusion_matrix_counts_every_pair(tiny_run):
    from stackgan_hf import StackGANPipeline
    from stackgan_hf.data.synthetic_birds import generate_synthetic_birds

    pipeline = StackGANPipeline.from_pretrained(tiny_run / "stage1")
    discriminator = load_discriminator(tiny_run / "stage1", 1)
    rows = generate_synthetic_birds(8, image_size=76, seed=0, split="train")
    counts = confusion_matrix(pipeline, discriminator, rows, stage=1, num_rows=8)
    assert counts.shape == (3, 2) and (counts.sum(axis=1) == 8).all()
    again = confusion_matrix(pipeline, discriminator, rows, stage=1, num_rows=8)
    np.testing.assert_array_equal(again, counts)


def test_report_has_every_section_and_embeds_its_images(tiny_run, tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_report", ROOT / "scripts" / "make_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.main(
        [
            "--run",
            str(tiny_run),
            "--ddpm",
            str(ROOT / "results" / "ddpm_mnist"),
            "--confusion_rows",
            "8",
            "--output_dir",
            str(tmp_path / "report"),
        ]
    )
    text = (out / "report.md").read_text()
    for heading in (
        "## Contents",
        "### Stage-I generator",
        "### Stage-I discriminator",
        "### Stage-II generator",
        "### Stage-II discriminator",
        "## Training curves",
        "## Discriminator confusion matrices",
        "## Hyper-parameters",
        "## Random samples",
        "## DDPM on MNIST",
        "### Forward process",
    ):
        assert heading in text, heading
    assert "- [Training curves](#training-curves)" in text
    for image in re.findall(r"!\[\]\((report_files/[^)]+)\)", text):
        assert (out / image).is_file(), image
    html = (out / "report.html").read_text()
    assert 'src="report_files' not in html and html.count("data:image/png;base64,") >= 6
    if shutil.which("chromium"):
        assert (out / "report.pdf").read_bytes()[:4] == b"%PDF"


def test_metrics_section_shows_the_fixed_prompts(tmp_path):
    from stackgan_hf.report import metrics_section

    path = ROOT / "results" / "quickstart" / "metrics.json"
    text = metrics_section([path])
    prompts = json.loads(path.read_text())["prompts"]
    assert "Fixed prompts" in text and text.count(" | red/blue/yellow | ") == 1
    first = prompts[0]["stages"]["stage1"]
    assert f"| {prompts[0]['prompt']} | red/blue/yellow | {first['all_colors']:.2f} |" in text
    without = {key: value for key, value in json.loads(path.read_text()).items() if key != "prompts"}
    (tmp_path / "m.json").write_text(json.dumps(without))
    assert "Fixed prompts" not in metrics_section([tmp_path / "m.json"])


def test_table_of_contents_links_headings():
    assert table_of_contents("## A b\n### C-d\n") == "- [A b](#a-b)\n  - [C-d](#c-d)\n"
    # Every section once (not "Contents"), each linked to the id the HTML gives its heading, repeats included.
    text = "# Title\n\n## Contents\n\n{toc}\n\n## A b\n\n### C-d\n\n## More\n\n### C-d\n"
    toc = table_of_contents(text)
    assert toc == "- [A b](#a-b)\n  - [C-d](#c-d)\n- [More](#more)\n  - [C-d](#c-d_1)\n"
    html = to_html(text.replace("{toc}", toc), Path("."), "title")
    for anchor in re.findall(r"\]\(#([^)]+)\)", toc):
        assert f'id="{anchor}"' in html and f'href="#{anchor}"' in html, anchor
