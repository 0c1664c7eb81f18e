"""Writes results/cub50/stage2_discriminator_width/table.md from the metrics files here and in
../stage2_consistency (commands: command.txt).

python results/cub50/stage2_discriminator_width/table.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from tables import stage2_table  # noqa: E402

CONSISTENCY = HERE.parent / "stage2_consistency"
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


def main() -> str:
    title = "CUB-50 Stage-II: a wider discriminator"
    return stage2_table(title, DESCRIPTION, RUNS, baseline=(CONSISTENCY, "lowres100_s0"))


if __name__ == "__main__":
    (HERE / "table.md").write_text(main())
    print((HERE / "table.md").read_text())
