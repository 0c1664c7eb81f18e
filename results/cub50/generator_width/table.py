"""Writes results/cub50/generator_width/table.md (the Stage-I generator at width 48 against the committed 32)
from the metrics files here (commands: command.txt).

python results/cub50/generator_width/table.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from tables import read, stage1_table  # noqa: E402

RUNS = {  # run: (label, folder of its metrics[, its held-out file])
    "committed": (
        "32, seed 0 (`cub50_stage1.yaml`, the committed pipeline)",
        HERE,
        HERE.parent / "lr_schedule" / "at465_heldout_seeds.json",
    ),
    "g48": ("48, seed 0", HERE),
}
DESCRIPTION = """\
`configs/stackgan/cub50_stage1.yaml` (500 epochs, learning rate halved at epoch 465) with the Stage-I
generator at width 48 instead of 32 (`--generator_channels 48`: 24 channels at 64x64 instead of 16, the
paper 64; 2.36 M parameters instead of 1.40 M), the discriminator unchanged (width 32). Judge-FID over the
983 test captions of the unseen classes with two judges trained again in this session on the 2-core Intel
Xeon (A*: judge A's recipe, `evaluate.py --seed 0`; C*: judge C's, `--seed 1`; other weights than A and C of
the earlier tables, so their figures compare only within this table), over 983 training captions with A*;
held-out: the final discriminator accepting each of the 983 test images with its own caption (real) and
rejecting it with another class's caption (mismatched), mean ± std over 10 pairings (the committed run's:
`../lr_schedule/at465_heldout_seeds.json`); the eleventh blind review (`../blind_review.md`, a fresh
reviewer): clear birds of 64 (and borderline) in the bicubically upsampled Stage-I grid of 64 test captions.
No R-precision: its independent encoder was not trained again. Commands: `command.txt`; this table: `python
results/cub50/generator_width/table.py`."""


def main() -> str:
    reviews = read(HERE / "blind_review.json")
    columns = {"review 11": reviews["eleventh"]}
    title = "CUB-50 Stage-I: a wider generator"
    text = stage1_table(title, DESCRIPTION, "generator width", RUNS, columns, judges="AC", r_precision=False)
    (HERE / "table.md").write_text(text)
    return text


if __name__ == "__main__":
    print(main())
