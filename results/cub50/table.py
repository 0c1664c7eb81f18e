"""Writes results/cub50/table.md from the run's metrics files (commands: results/cub50/command.txt).

python results/cub50/table.py
"""

from __future__ import annotations

import json
from pathlib import Path

from tables import STAGES, cell

HERE = Path(__file__).resolve().parent


def read(name: str) -> dict:
    return json.loads((HERE / name).read_text())


def main() -> str:
    test, train, judge128 = read("metrics.json"), read("metrics_train.json"), read("metrics_judge128.json")
    short = read("short_run/metrics.json")
    lines = [
        "# CUB-50: the real-bird run (500 epochs of Stage-I, then Stage-II)",
        "",
        "The committed pipeline (`results/cub50/pipeline`): Stage-I with its learning rate halved at epoch",
        "465, Stage-II over it; the rows below it are earlier runs.",
        "",
        "One image per caption for 983 captions (every test row, or 983 training rows, a seeded random",
        "caption of each), scored by the offline judges trained on the 1,906 training photographs",
        "(scripts/evaluate.py): judge-FID with the 64-px judge (the project's judge; it sees every image at",
        "64x64, blurred in training) and with a 128-px judge trained without blur (it sees the detail",
        "Stage-II adds); R-precision with an independent CUB-50 char-CNN-RNN and its image encoder (the true",
        "caption ranked first among 100; chance 0.01). Commands: `command.txt`; this table:",
        "`python results/cub50/table.py`.",
        "",
        "| images | captions | judge-FID 64 px ↓ | judge-FID 128 px ↓ | IS (64 px judge) ↑ | R-precision ↑ |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for stage, label in STAGES.items():
        lines.append(
            f"| {label} | test | {cell(test, stage, 'fid')} | {cell(judge128, stage, 'fid')} | "
            f"{cell(test, stage, 'is_mean', 2)} | {cell(test, stage, 'r_precision', 3)} |"
        )
    for stage, label in STAGES.items():
        lines.append(
            f"| {label} | train | {cell(train, stage, 'fid')} | – | {cell(train, stage, 'is_mean', 2)} | "
            f"{cell(train, stage, 'r_precision', 3)} |"
        )
    before = read("lr_schedule/every100_pipeline_metrics.json")
    before_128 = read("lr_schedule/every100_pipeline_metrics_judge128.json")
    for stage, label in STAGES.items():
        lines.append(
            f"| the pipeline before (Stage-I's rate halved every 100 epochs): {label} | test | "
            f"{cell(before, stage, 'fid')} | {cell(before_128, stage, 'fid')} | "
            f"{cell(before, stage, 'is_mean', 2)} | {cell(before, stage, 'r_precision', 3)} |"
        )
    long_test, long_128 = (
        read("stage2_9600_steps/metrics.json"),
        read("stage2_9600_steps/metrics_judge128.json"),
    )
    long_train = read("stage2_9600_steps/metrics_train.json")
    for captions, metrics, judge in (("test", long_test, long_128), ("train", long_train, None)):
        fid128 = cell(judge, "stage2", "fid") if judge else "–"
        lines.append(
            f"| the pipeline before, Stage-II trained 9,600 steps (40 epochs) | {captions} | "
            f"{cell(metrics, 'stage2', 'fid')} | {fid128} | {cell(metrics, 'stage2', 'is_mean', 2)} | "
            f"{cell(metrics, 'stage2', 'r_precision', 3)} |"
        )
    for stage, label in (("stage1", "Stage-I"), ("stage2", "Stage-II")):
        lines.append(
            f"| the short run before (2,400 + 1,500 steps, MiniLM): {label} | test | "
            f"{cell(short, stage, 'fid')} | – | {cell(short, stage, 'is_mean', 2)} | – |"
        )
    heldout = next(iter(read("heldout_stage1.json").values()))
    seeds = next(iter(read("heldout_stage1_seeds.json").values()))
    memorization = read("memorization/nearest_neighbors.json")
    generated, real = memorization["generated"], memorization["real_test"]
    lines += [
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
