"""Writes results/cub50/table.md from the committed pipeline's metrics files and those of the pipeline
before it (`rescored/`) (commands: results/cub50/command.txt).

python results/cub50/table.py
"""

from __future__ import annotations

from pathlib import Path

from tables import STAGES, cell, read

HERE = Path(__file__).resolve().parent
NAMES = ("metrics", "metrics_judgeC", "metrics_judge128", "metrics_train")
DESCRIPTION = """\
The committed pipeline (`results/cub50/pipeline`): Stage-I for 1,000 epochs (the learning rate halved at
epochs 465 and 930), Stage-II over it; below it, the pipeline before it (500 epochs of Stage-I, `rescored/`).

One image per caption for 983 captions (every test row of the 17 unseen classes, or 983 training rows, a
seeded random caption of each), scored by the committed evaluation models (`judges/`, `rprec_encoder/`;
`scripts/evaluate.py`): judge-FID with judges A* and C* (64 px, blurred in training) and with a 128-px judge
trained without blur (it sees the detail Stage-II adds); IS with A*; R-precision with an independent CUB-50
char-CNN-RNN and its image encoder (the true caption ranked first among 100; chance 0.01). Commands:
`command.txt`; this table: `python results/cub50/table.py`."""


def rows(label: str, folder: Path) -> list[str]:
    """A pipeline's rows: each stage on the test captions, then on the training captions."""
    test, judge_c, judge128, train = (read(folder / f"{name}.json") for name in NAMES)
    lines = []
    for stage, name in STAGES.items():
        cells = [cell(test, stage, "fid"), cell(judge_c, stage, "fid"), cell(judge128, stage, "fid")]
        cells += [cell(test, stage, "is_mean", 2), cell(test, stage, "r_precision", 3)]
        lines.append(f"| {label}{name} | test | " + " | ".join(cells) + " |")
    for stage, name in STAGES.items():
        cells = [cell(train, stage, "fid"), "–", "–", cell(train, stage, "is_mean", 2)]
        cells.append(cell(train, stage, "r_precision", 3))
        lines.append(f"| {label}{name} | train | " + " | ".join(cells) + " |")
    return lines


def main() -> str:
    lines = ["# CUB-50: the real-bird run (1,000 epochs of Stage-I, then Stage-II)", "", DESCRIPTION, ""]
    lines.append("| images | captions | FID A* ↓ | FID C* ↓ | FID 128 px ↓ | IS (A*) ↑ | R-precision ↑ |")
    lines.append("|---|---|---:|---:|---:|---:|---:|")
    lines += rows("", HERE) + rows("the pipeline before (500 epochs): ", HERE / "rescored")
    short = read(HERE / "short_run" / "metrics.json")
    heldout = next(iter(read(HERE / "heldout_stage1.json").values()))
    seeds = next(iter(read(HERE / "heldout_stage1_seeds.json").values()))
    memorization = read(HERE / "memorization" / "nearest_neighbors.json")
    generated, real = memorization["generated"], memorization["real_test"]
    lines += [
        "",
        "The short run before (2,400 + 1,500 steps, MiniLM; `short_run/`), with another instance of A*'s "
        f"recipe: judge-FID {cell(short, 'stage1', 'fid')} (Stage-I) and {cell(short, 'stage2', 'fid')} "
        "(Stage-II).",
        "",
        "The final Stage-I discriminator on all 983 test images of the 17 unseen classes "
        f"(`heldout_stage1.json`): own caption accepted {heldout['heldout_acc_real']:.2f}, another class's "
        f"caption rejected {heldout['heldout_acc_mismatched']:.2f}; over {len(seeds['seeds'])} batchings and "
        f"pairings (`heldout_stage1_seeds.json`) {seeds['heldout_acc_real']:.2f} ± "
        f"{seeds['heldout_acc_real_std']:.2f} and {seeds['heldout_acc_mismatched']:.2f} ± "
        f"{seeds['heldout_acc_mismatched_std']:.2f}.",
        "",
        "Memorization (`memorization/nearest_neighbors.json`): mean distance to the nearest of the 1,906",
        "training images, at 64x64.",
        "",
        "| images | pixel RMS ↑ | judge-feature cosine ↑ |",
        "|---|---:|---:|",
        f"| {generated['num_images']} generated (Stage-I, test captions) | "
        f"{generated['mean_nn_pixel_rms']:.3f} | {generated['mean_nn_feature_cosine']:.3f} |",
        f"| {real['num_images']} real test images | {real['mean_nn_pixel_rms']:.3f} | "
        f"{real['mean_nn_feature_cosine']:.3f} |",
        "",
    ]
    table = "\n".join(lines)
    (HERE / "table.md").write_text(table)
    return table


if __name__ == "__main__":
    print(main())
