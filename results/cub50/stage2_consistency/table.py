"""Writes results/cub50/stage2_consistency/table.md from the metrics files (commands: command.txt).

python results/cub50/stage2_consistency/table.py
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
JUDGES = [("A", "64"), ("A", "128"), ("B", "64"), ("B", "128")]
RUNS = {
    "config_s0": ("low-resolution consistency 10 (`cub50_stage2.yaml`)", 0),
    "lowres100_s0": ("low-resolution consistency 100", 0),
    "lowres100_s1": ("low-resolution consistency 100", 1),
}


def fid(tag: str, judge: str, px: str, stage: str = "stage2") -> str:
    return f"{json.loads((HERE / f'{tag}_judge{judge}{px}.json').read_text())['stages'][stage]['fid']:.1f}"


def main() -> str:
    lines = [
        "# CUB-50 Stage-II: how strongly it keeps Stage-I's picture",
        "",
        "Stage-II (`configs/stackgan/cub50_stage2.yaml`, 1,200 steps) over the adopted Stage-I (learning",
        "rate halved at epoch 465, seed 0), with the low-resolution consistency term (L1 between Stage-II",
        "downsampled to 64x64 and Stage-I) at its config weight 10 or at 100. Judge-FID over the 983",
        "test captions with two judge instances of one recipe (A: the committed results', B: trained again",
        "on a copy of the repository), each at 64 and 128 px. Commands: `command.txt`; this table:",
        "`python results/cub50/stage2_consistency/table.py`.",
        "",
        "| Stage-II | seed | " + " | ".join(f"{j}, {px} px ↓" for j, px in JUDGES) + " |",
        "|---|---:|" + "---:|" * len(JUDGES),
    ]
    for tag, (label, seed) in RUNS.items():
        lines.append(f"| {label} | {seed} | " + " | ".join(fid(tag, j, px) for j, px in JUDGES) + " |")
    baselines = {"stage1_bicubic": "Stage-I upsampled bicubically (the baseline)", "stage1": "Stage-I"}
    for stage, label in baselines.items():
        cells = " | ".join(fid("config_s0", j, px, stage) for j, px in JUDGES)
        lines.append(f"| {label} | – | {cells} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    (HERE / "table.md").write_text(main())
