"""Writes results/cub50/stage2_discriminator_width/table.md from the metrics files here and in
../stage2_consistency (commands: command.txt).

python results/cub50/stage2_discriminator_width/table.py
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONSISTENCY = HERE.parent / "stage2_consistency"
JUDGES = [("A", "64"), ("A", "128"), ("B", "64"), ("B", "128")]
RUNS = {  # tag: (label, seed, folder)
    "lowres100_s0": ("discriminator 16 (`cub50_stage2.yaml`, the committed pipeline)", 0, CONSISTENCY),
    "lowres100_s1": ("discriminator 16", 1, CONSISTENCY),
    "d32_s0": ("discriminator 32", 0, HERE),
}
DESCRIPTION = """\
Stage-II (`configs/stackgan/cub50_stage2.yaml`: 1,200 steps, low-resolution consistency 100) over the
committed Stage-I, with its discriminator at width 32 instead of 16 (`--discriminator_channels 32`).
Judge-FID over the 983 test captions with two judge instances of one recipe (A: the committed results', B:
trained again on a copy of the repository), each at 64 and 128 px. Commands: `command.txt`; this table:
`python results/cub50/stage2_discriminator_width/table.py`."""


def fid(folder: Path, tag: str, judge: str, px: str, stage: str = "stage2") -> str:
    return f"{json.loads((folder / f'{tag}_judge{judge}{px}.json').read_text())['stages'][stage]['fid']:.1f}"


def main() -> str:
    lines = ["# CUB-50 Stage-II: a wider discriminator", "", DESCRIPTION, ""]
    lines.append("| Stage-II | seed | " + " | ".join(f"{j}, {px} px ↓" for j, px in JUDGES) + " |")
    lines.append("|---|---:|" + "---:|" * len(JUDGES))
    for tag, (label, seed, folder) in RUNS.items():
        cells = " | ".join(fid(folder, tag, j, px) for j, px in JUDGES)
        lines.append(f"| {label} | {seed} | {cells} |")
    baselines = {"stage1_bicubic": "Stage-I upsampled bicubically (the baseline)", "stage1": "Stage-I"}
    for stage, label in baselines.items():
        cells = " | ".join(fid(CONSISTENCY, "lowres100_s0", j, px, stage) for j, px in JUDGES)
        lines.append(f"| {label} | – | {cells} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    (HERE / "table.md").write_text(main())
    print((HERE / "table.md").read_text())
