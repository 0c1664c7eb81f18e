"""Writes results/cub50/rescored/table.md: the 500-epoch pipeline (committed until the twelfth session)
scored with the committed judges and R-precision encoders (commands: command.txt).

python results/cub50/rescored/table.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from tables import STAGES, cell, read  # noqa: E402

DESCRIPTION = """\
The 500-epoch pipeline (`results/cub50/pipeline` until the twelfth session, git tag `cub50-pipeline-500ep`;
the pipeline before the committed one, `../table.md`) scored with the evaluation models committed in the
eleventh session, so that any later model can be scored on the same scale on any machine: judges A* and C*
at 64 px (`../judges/a_star_64px`, `c_star_64px`), a 128-px judge of A*'s recipe trained without blur
(`../judges/a_star_128px`), and the R-precision encoders (`../rprec_encoder`). One image per caption for the
983 test captions of the 17 unseen classes, or 983 training captions (a seeded random caption of each). Its
figures at the time came from judges and encoders trained on another machine and not kept; these compare
only with figures from the same committed folders. Commands: `command.txt`; this table: `python
results/cub50/rescored/table.py`."""


def main() -> str:
    names = ("metrics", "metrics_judgeC", "metrics_train", "metrics_judge128")
    test, judge_c, train, judge128 = (read(HERE / f"{name}.json") for name in names)
    lines = ["# CUB-50: the 500-epoch pipeline on the committed judges", "", DESCRIPTION, ""]
    lines.append(
        "| images | FID A* test ↓ | FID C* test ↓ | FID A* train ↓ | FID 128 px test ↓ "
        "| R-precision test ↑ | R-precision train ↑ |"
    )
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for stage, label in STAGES.items():
        cells = [cell(metrics, stage, "fid") for metrics in (test, judge_c, train, judge128)]
        cells += [cell(metrics, stage, "r_precision", 3) for metrics in (test, train)]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    (HERE / "table.md").write_text(text)
    return text


if __name__ == "__main__":
    print(main())
