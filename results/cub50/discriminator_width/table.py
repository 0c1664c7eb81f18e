"""Writes results/cub50/discriminator_width/table.md from the metrics files here and in ../lr_schedule
(commands: command.txt).

python results/cub50/discriminator_width/table.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from tables import read, stage1_table  # noqa: E402

RUNS = {  # run: (label, folder of its metrics)
    "at465": ("32, seed 0 (`cub50_stage1.yaml`, the committed pipeline)", HERE.parent / "lr_schedule"),
    "at465_seed1": ("32, seed 1", HERE.parent / "lr_schedule"),
    "d24": ("24, seed 0", HERE),
    "d24_seed1": ("24, seed 1", HERE),
}
DESCRIPTION = """\
`configs/stackgan/cub50_stage1.yaml` (500 epochs, learning rate halved at epoch 465) with the Stage-I
discriminator at width 24 instead of 32 (`--discriminator_channels 24`): the generator then has 1.4 times
the discriminator's parameters (1.40 M against 0.98 M), against 0.9 at 32/32 and 1.8 at the paper's widths
128/64. Judge-FID over the 983 test captions of the unseen classes with four judges (A: the committed
results', B-D other instances), over 983 training captions with judge A; R-precision with the independent
CUB-50 char-CNN-RNN (chance 0.01); held-out: the final discriminator accepting each of the 983 test images
with its own caption (real) and rejecting it with another class's caption (mismatched), mean ± std over 10
pairings; sixth and seventh blind reviews (`../blind_review.md`, two fresh reviewers): clear birds of 64 (and
borderline) in the bicubically upsampled Stage-I grid of 64 test captions, ± 4, – where a review did not see
the run. Commands: `command.txt`; this table: `python results/cub50/discriminator_width/table.py`."""


def main() -> str:
    reviews = read(HERE / "blind_review.json")
    columns = {"review 6": reviews["sixth"], "review 7": reviews["seventh"]}
    title = "CUB-50 Stage-I: a narrower discriminator"
    text = stage1_table(title, DESCRIPTION, "discriminator width", RUNS, columns)
    (HERE / "table.md").write_text(text)
    return text


if __name__ == "__main__":
    print(main())
