"""Writes quickstart_generator_lr_seeds.md from the six evaluation JSONs (run from the repository root)."""

import json
from pathlib import Path

HERE = Path("results/conditioning/budget")
ROWS = [
    ("G lr 2e-4 (the paper's)", 0, "quickstart_g_lr_2e-4_seed0_metrics.json"),
    ("G lr 4e-4", 0, "quickstart_g_lr_4e-4_metrics.json"),
    ("G lr 8e-4 (the quickstart now)", 0, "quickstart_g_lr_8e-4_metrics.json"),
    ("G lr 2e-4 (the paper's)", 1, "quickstart_seed1_metrics.json"),
    ("G lr 4e-4", 1, "quickstart_g_lr_4e-4_seed1_metrics.json"),
    ("G lr 8e-4 (the quickstart now)", 1, "quickstart_g_lr_8e-4_seed1_metrics.json"),
]
lines = [
    "# The generator's learning rate at the quickstart's full budget, two seeds",
    "",
    "The whole quickstart (Stage-I 5,000 steps, Stage-II 500), 1,000 test captions (data seed 0), the",
    "quickstart's judge (`scripts/evaluate.py stackgan`); `--seed` sets the weights, the noise and the",
    "training birds. Commands: `command.txt` in this folder; this table:",
    "`python results/conditioning/budget/seeds_table.py`.",
    "",
    "| generator lr | seed | Stage-I colour per part ↑ | Stage-II colour per part ↑ "
    "| Stage-I palette recall ↑ | Stage-I coverage ↑ | Stage-I judge-FID ↓ |",
    "|---|---:|---:|---:|---:|---:|---:|",
]
for name, seed, file in ROWS:
    metrics = json.loads((HERE / file).read_text())
    s1, s2 = metrics["stages"]["stage1"], metrics["stages"]["stage2"]
    colour1, colour2 = s1["attribute_accuracy"]["mean_colour"], s2["attribute_accuracy"]["mean_colour"]
    recall = s1["attribute_accuracy"]["colour_set_recall"]
    coverage, fid = metrics["coverage"]["stage1"], s1["fid"]
    cells = [name, str(seed), *(f"{v:.3f}" for v in (colour1, colour2, recall, coverage)), f"{fid:.0f}"]
    lines.append("| " + " | ".join(cells) + " |")
(HERE / "quickstart_generator_lr_seeds.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
