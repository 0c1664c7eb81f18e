"""Writes results/cub50/two_halvings/table.md (the Stage-I learning rate halved every 233 epochs against the
committed once, at 465) from the metrics files here and in ../generator_width (commands: command.txt).

python results/cub50/two_halvings/table.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from tables import read, stage1_table  # noqa: E402

RUNS = {  # run: (label, folder of its metrics[, its held-out file])
    "committed": (
        "once, at epoch 465, seed 0 (`cub50_stage1.yaml`, the committed pipeline)",
        HERE.parent / "generator_width",
        HERE.parent / "lr_schedule" / "at465_heldout_seeds.json",
    ),
    "lr233": ("every 233 epochs (at 233 and 466), seed 0", HERE),
    "lr233_seed1": ("every 233 epochs (at 233 and 466), seed 1", HERE),
}
DESCRIPTION = """\
`configs/stackgan/cub50_stage1.yaml` (500 epochs) with `--lr_decay_epochs 233` instead of 465: both learning
rates halved at epochs 233 and 466, the schedule of the 1,000-epoch run (halved at 465 and 930, whose judge-
FID fell most after its second halving: `../stage1_epochs`) compressed into 500 epochs. Judge-FID over the
983 test captions of the unseen classes with the two judges trained again in the ninth session on the 2-core
Intel Xeon (A*: judge A's recipe, `evaluate.py --seed 0`; C*: judge C's, `--seed 1`; the committed run's
figures are those of `../generator_width`, its held-out figures those of
`../lr_schedule/at465_heldout_seeds.json`; all compare only within these tables), over 983 training captions
with A*; held-out: the final discriminator accepting each of the 983 test images with its own caption (real)
and rejecting it with another class's caption (mismatched), mean ± std over 10 pairings; the twelfth and
thirteenth blind reviews (`../blind_review.md`, `blind_review.json`, a fresh reviewer each): clear birds of
64 (and borderline) in the bicubically upsampled Stage-I grid of 64 test captions. No R-precision: the seeds
were scored before the encoders were committed (`../rprec_encoder`). Commands: `command.txt`; this table:
`python results/cub50/two_halvings/table.py`."""


def main() -> str:
    reviews = read(HERE / "blind_review.json")
    columns = {"review 12": reviews["twelfth"], "review 13": reviews["thirteenth"]}
    title = "CUB-50 Stage-I: the learning rate halved twice in 500 epochs (two seeds, not adopted)"
    text = stage1_table(
        title, DESCRIPTION, "learning rate halved", RUNS, columns, judges="AC", r_precision=False
    )
    (HERE / "table.md").write_text(text)
    return text


if __name__ == "__main__":
    print(main())
