"""Writes results/cub50/stage1_epochs/table.md (Stage-I trained for 500 to 2,000 epochs) from the
metrics files here and in ../lr_schedule and ../generator_width (commands: command.txt).

python results/cub50/stage1_epochs/table.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from tables import read, stage1_table  # noqa: E402

RUNS = {  # run: (label, folder of its metrics)
    "at465": ("500, seed 0 (the committed pipeline until the twelfth session)", HERE.parent / "lr_schedule"),
    "at465_seed1": ("500, seed 1", HERE.parent / "lr_schedule"),
    "ep750": ("750, seed 0 (the committed run, resumed)", HERE),
    "ep1000": ("1,000, seed 0 (the same run, resumed)", HERE),
    "ep1000_seed1": ("1,000, seed 1 (seed 1's run, resumed)", HERE),
}
DESCRIPTION = """\
`configs/stackgan/cub50_stage1.yaml` trained on from its 500-epoch checkpoint to 750 epochs (44,250 steps)
and 1,000 epochs (59,000 steps) with `--max_train_steps`, its schedule unchanged (the learning rate is
halved at epochs 465 and 930). Judge-FID over the 983 test captions of the unseen classes with four judges
(A: the committed results', B-D other instances), over 983 training captions with judge A; R-precision with
the independent CUB-50 char-CNN-RNN (chance 0.01); held-out: the final discriminator accepting each of the
983 test images with its own caption (real) and rejecting it with another class's caption (mismatched), mean
± std over 10 pairings; the eighth, ninth and tenth blind reviews (`../blind_review.md`, a fresh reviewer
each): clear birds of 64 (and borderline) in the bicubically upsampled Stage-I grid of 64 test captions, ±
3-4. Commands: `command.txt`; this table: `python results/cub50/stage1_epochs/table.py`."""

COMMITTED_JUDGES_RUNS = {  # run: (label, folder of its metrics, its held-out file)
    "committed": (
        "500, seed 0, AMD EPYC (the committed pipeline until the twelfth session)",
        HERE.parent / "generator_width",
        HERE.parent / "lr_schedule" / "at465_heldout_seeds.json",
    ),
    "ep1000_intel": (
        "1,000, seed 0, Intel Xeon, from step 0 (`cub50_stage1.yaml`, the committed pipeline)",
        HERE,
        HERE / "ep1000_intel_heldout_seeds.json",
    ),
    "ep1000_seed1_intel": (
        "1,000, seed 1, Intel Xeon, from step 0 (the same command with `--seed 1`)",
        HERE,
        HERE / "ep1000_seed1_intel_heldout_seeds.json",
    ),
    "ep1500_intel": (
        "1,500, seed 0, Intel Xeon (the same run, resumed; not adopted)",
        HERE,
        HERE / "ep1500_intel_heldout_seeds.json",
    ),
    "ep2000_intel": (
        "2,000, seed 0, Intel Xeon (the same run, resumed; not adopted)",
        HERE,
        HERE / "ep2000_intel_heldout_seeds.json",
    ),
}
COMMITTED_JUDGES_DESCRIPTION = """\
The recipe at 1,000 epochs trained again from step 0 on the 2-core Intel Xeon across two sessions
(`cub50_stage1.yaml --max_train_steps 59000`, seed 0), scored by the committed judges A* and C*
(`../judges`; columns A and C) on the 983 test captions of the unseen classes and A* on 983 training
captions (figures that compare only with other figures of these judges, as in `../rescored`); held-out
figures as above; the fourteenth blind review (`../blind_review.md`). Its rule, written down before any
result: adopted if A* ≤ 26.6 and C* ≤ 21.5 (3 better than the 500-epoch Stage-I) and the review counts no
more than 2 clear birds fewer. The same run trained on to 1,500 epochs (88,500 steps; the learning rate halved
again at epoch 1,395) across the twelfth and thirteenth sessions, with the rule written down before any
result: adopted if A* ≤ 15.8 and C* ≤ 17.1 (2 better than at 1,000 epochs), held-out mismatched ≥ 0.8, the
mean nearest-training-image pixel RMS of its 983 test-caption images ≥ 0.376 (0.95 of the real test images')
and the sixteenth blind review counts no more than 2 clear birds fewer than for the 1,000-epoch grid. The
seventeenth review repeats the sixteenth with a fresh reviewer and new hidden names. The same run trained
on to 2,000 epochs (118,000 steps; halved again at epoch 1,860) in the fourteenth session, under the same
rule written down again before any result; the nineteenth review saw the 1,000-, 1,500- and 2,000-epoch
grids side by side. Seed 1 of the 1,000-epoch command on the same machine (fifteenth and sixteenth sessions)
is the first half of a two-seed test of 1,500 epochs, whose rule was written down before any result of seed 1
(but after seed 0's): 1,500 epochs is adopted if seed 1 trained on to 1,500 epochs scores at least 1.0 better
than at 1,000 on A* and C*, keeps held-out mismatched ≥ 0.8 and the pixel RMS ≥ 0.376, and a fresh blind
review counts no more than 2 clear birds fewer than for seed 1's 1,000-epoch grid."""


def main() -> str:
    reviews = read(HERE / "blind_review.json")
    columns = {"review 8": reviews["eighth"], "review 9": reviews["ninth"], "review 10": reviews["tenth"]}
    text = stage1_table("CUB-50 Stage-I: 500, 750 and 1,000 epochs", DESCRIPTION, "epochs", RUNS, columns)
    text += "\n" + stage1_table(
        "On the committed judges: 1,000 epochs again, on another machine (adopted), 1,500 and 2,000",
        COMMITTED_JUDGES_DESCRIPTION,
        "epochs",
        COMMITTED_JUDGES_RUNS,
        {
            "review 14": reviews["fourteenth"],
            "review 16": reviews["sixteenth"],
            "review 17": reviews["seventeenth"],
            "review 19": reviews["nineteenth"],
        },
        judges="AC",
        r_precision=False,
        heading="##",
    )
    (HERE / "table.md").write_text(text)
    return text


if __name__ == "__main__":
    print(main())
