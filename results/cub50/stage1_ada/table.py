"""Writes results/cub50/stage1_ada/table.md (adaptive discriminator augmentation for Stage-I, 500 epochs) from
the metrics files here, in ../generator_width and in ../two_halvings (commands: command.txt).

python results/cub50/stage1_ada/table.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from tables import read, stage1_table, window_cells  # noqa: E402

RUNS = {  # run: (label, folder of its metrics[, its held-out file])
    "committed": (
        "`cub50_stage1.yaml` at 500 epochs, seed 0 (the pipeline committed until the twelfth session)",
        HERE.parent / "generator_width",
        HERE.parent / "lr_schedule" / "at465_heldout_seeds.json",
    ),
    "ada500_s0": ("+ ADA, target 0.6, seed 0 (not adopted, retired)", HERE),
    "lr233": (
        "the seed spread: another 500-epoch schedule (`../two_halvings`), seed 0",
        HERE.parent / "two_halvings",
    ),
    "lr233_seed1": ("the same, seed 1", HERE.parent / "two_halvings"),
}
DESCRIPTION = """\
`configs/stackgan/cub50_stage1.yaml` for 500 epochs (`--max_train_steps 29500`) with `--ada_target 0.6`: the
geometric half of adaptive discriminator augmentation (Karras et al., NeurIPS 2020), an isotropic scaling
and an arbitrary rotation of every image the discriminator sees, each with a probability p that grows by 32
x 4 / 500,000 every 4 steps while the discriminator's mean sign on real training batches is above 0.6 and
falls otherwise; DiffAugment (translation, cutout) follows as before. Seed 0, on the 2-core AMD EPYC. The
baseline is the committed recipe's 500-epoch run, seed 0, trained on the AMD EPYC by the code of its day
(`../lr_schedule`; not trained again: no CPU time; two seeds of another 500-epoch schedule show how far one
seed moves). Judge-FID with the committed judges A* and C* (columns A and C) on the 983 test captions of the
17 unseen classes, A* on 983 training captions; held-out: the final discriminator accepting each of the 983
test images with its own caption (real) and rejecting it with another class's caption (mismatched), mean ±
std over 10 pairings; the twenty-third blind review (`../blind_review.md`, `blind_review.json`): clear birds
of 64 (and borderline) in the bicubically upsampled Stage-I grid of 64 test captions. The rule, written down
before any result: a second seed if A* and C* are both at least 3 better than the baseline (A* ≤ 26.6, C* ≤
21.5) and the review counts no more than 2 clear birds fewer, or if the review counts at least 5 more.
Commands: `command.txt`; this table: `python results/cub50/stage1_ada/table.py`."""


HISTORY_DESCRIPTION = """\
The ADA run's probability p at the end of each tenth of the run, and the discriminator's accuracy on its
(augmented) training batches and the generator's loss, means over that tenth (`ada500_s0_history_means.json`).
The target 0.6 is an accuracy of 0.8 on real batches; the mean nearest-training-image pixel RMS of the 983
test-caption images (real test images: 0.396) below."""


def history_table() -> str:
    lines = ["## The probability and the discriminator over the run", "", HISTORY_DESCRIPTION, ""]
    lines += [
        "| steps | p at the end | D real | D generated | D mismatched | G loss |",
        "|---|" + "---:|" * 5,
    ]
    for window in read(HERE / "ada500_s0_history_means.json"):
        first, last = window["steps"]
        cells = [f"{window['ada_probability_at_end']:.2f}", *window_cells(window)]
        lines.append(f"| {first:,}-{last:,} | " + " | ".join(cells) + " |")
    nearest = read(HERE / "ada500_s0_nearest_neighbors.json")["generated"]
    lines += [
        "",
        f"Nearest-training-image pixel RMS: {nearest['mean_nn_pixel_rms']:.3f}; judge-feature cosine "
        f"distance: {nearest['mean_nn_feature_cosine']:.3f}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> str:
    reviews = read(HERE / "blind_review.json")
    text = stage1_table(
        "CUB-50 Stage-I: adaptive discriminator augmentation (ADA), 500 epochs",
        DESCRIPTION,
        "Stage-I",
        RUNS,
        {"review 23": reviews["twenty-third"]},
        judges="AC",
        r_precision=False,
    )
    text += "\n" + history_table()
    (HERE / "table.md").write_text(text)
    return text


if __name__ == "__main__":
    print(main())
