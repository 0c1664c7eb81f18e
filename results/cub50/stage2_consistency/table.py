"""Writes results/cub50/stage2_consistency/table.md from the metrics files (commands: command.txt).

python results/cub50/stage2_consistency/table.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from tables import stage2_table  # noqa: E402

RUNS = {  # tag: (label, seed, folder)
    "config_s0": ("low-resolution consistency 10 (`cub50_stage2.yaml`)", 0, HERE),
    "lowres100_s0": ("low-resolution consistency 100", 0, HERE),
    "lowres100_s1": ("low-resolution consistency 100", 1, HERE),
}
DESCRIPTION = """\
Stage-II (`configs/stackgan/cub50_stage2.yaml`, 1,200 steps) over the adopted Stage-I (learning
rate halved at epoch 465, seed 0), with the low-resolution consistency term (L1 between Stage-II
downsampled to 64x64 and Stage-I) at its config weight 10 or at 100. Judge-FID over the 983
test captions with two judge instances of one recipe (A: the committed results', B: trained again
on a copy of the repository), each at 64 and 128 px. Commands: `command.txt`; this table:
`python results/cub50/stage2_consistency/table.py`."""


def main() -> str:
    title = "CUB-50 Stage-II: how strongly it keeps Stage-I's picture"
    return stage2_table(title, DESCRIPTION, RUNS, baseline=(HERE, "config_s0"))


if __name__ == "__main__":
    (HERE / "table.md").write_text(main())
