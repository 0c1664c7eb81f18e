"""Writes quickstart_seeds.md: the whole quickstart with and without the contrastive loss, two seeds (run
from the repository root)."""

import json
from pathlib import Path

HERE = Path("results/conditioning/contrastive")
ROWS = [
    ("the quickstart before (no contrastive loss)", 0, "quickstart_seed0_metrics.json"),
    ("+ contrastive loss, weight 1", 0, "quickstart_contrastive_seed0_metrics.json"),
    ("+ contrastive loss, weight 2", 0, "quickstart_contrastive_2_seed0_metrics.json"),
    ("+ contrastive loss, weight 4", 0, "quickstart_contrastive_4_seed0_metrics.json"),
    ("+ contrastive loss, weight 8", 0, "quickstart_contrastive_8_seed0_metrics.json"),
    ("+ contrastive loss, weight 16 (the quickstart now)", 0, "quickstart_contrastive_16_seed0_metrics.json"),
    ("+ contrastive loss, weight 32", 0, "quickstart_contrastive_32_seed0_metrics.json"),
    ("the quickstart before (no contrastive loss)", 1, "quickstart_seed1_metrics.json"),
    ("+ contrastive loss, weight 1", 1, "quickstart_contrastive_seed1_metrics.json"),
    ("+ contrastive loss, weight 4", 1, "quickstart_contrastive_4_seed1_metrics.json"),
    ("+ contrastive loss, weight 8", 1, "quickstart_contrastive_8_seed1_metrics.json"),
    ("+ contrastive loss, weight 16 (the quickstart now)", 1, "quickstart_contrastive_16_seed1_metrics.json"),
    ("+ contrastive loss, weight 32", 1, "quickstart_contrastive_32_seed1_metrics.json"),
]
COLUMNS = (
    "| quickstart | seed | Stage-I colour per part ↑ | crown / wing / breast | all 3 ↑ | palette recall ↑ "
    "| coverage ↑ | judge-FID ↓ | Stage-II colour per part ↑ |"
)
lines = [
    "# The contrastive loss at the quickstart's full budget, two seeds",
    "",
    "The whole quickstart (Stage-I 5,000 steps, Stage-II 500), 1,000 test captions (data seed 0), the",
    "quickstart's judge (`scripts/evaluate.py stackgan`); `--seed` sets the weights, the noise and the",
    "training birds; Stage-I columns unless named. Commands: `command.txt`; this table:",
    "`python results/conditioning/contrastive/seeds_table.py`.",
    "",
    COLUMNS,
    "|---|---:|---:|---|---:|---:|---:|---:|---:|",
]
for name, seed, file in ROWS:
    metrics = json.loads((HERE / file).read_text())
    s1, s2 = (
        metrics["stages"]["stage1"]["attribute_accuracy"],
        metrics["stages"]["stage2"]["attribute_accuracy"],
    )
    parts = " / ".join(f"{s1[p]:.2f}" for p in ("crown_color", "wing_color", "breast_color"))
    cells = [
        name,
        str(seed),
        f"{s1['mean_colour']:.3f}",
        parts,
        f"{s1['all_colours']:.3f}",
        f"{s1['colour_set_recall']:.3f}",
        f"{metrics['coverage']['stage1']:.3f}",
        f"{metrics['stages']['stage1']['fid']:.0f}",
        f"{s2['mean_colour']:.3f}",
    ]
    lines.append("| " + " | ".join(cells) + " |")
(HERE / "quickstart_seeds.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
