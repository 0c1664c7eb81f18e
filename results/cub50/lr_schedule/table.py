"""Writes results/cub50/lr_schedule/table.md from the metrics files (commands: command.txt).

python results/cub50/lr_schedule/table.py
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAGES = {"stage1": "Stage-I", "stage1_bicubic": "Stage-I upsampled bicubically", "stage2": "Stage-II"}
RUNS = {
    "every100": "halved every 100 epochs (the pipeline before)",
    "at465": "halved at epoch 465 (`cub50_stage1.yaml`)",
    "at465_seed1": "halved at epoch 465, seed 1",
}


def read(name: str) -> dict:
    return json.loads((HERE / name).read_text())


def stage1(name: str) -> dict:
    return read(name)["stages"]["stage1"]


def heldout(run: str) -> str:
    values = next(iter(read(f"{run}_heldout_seeds.json").values()))
    return f"{values['heldout_acc_mismatched']:.2f} ± {values['heldout_acc_mismatched_std']:.2f}"


def _review(review: dict, run: str) -> str:
    return f"{review[run]['clear']} ({review[run]['borderline']})" if run in review else "–"


def main() -> str:
    review = read("blind_review.json")
    lines = [
        "# CUB-50 Stage-I: when to halve the learning rate",
        "",
        "`configs/stackgan/cub50_stage1.yaml` (500 epochs, seed 0 unless stated) with the learning",
        "rate halved every 100 epochs (the pipeline committed before) or first at epoch 465 (the config",
        "since). Judge-FID over the 983 test captions of the unseen classes with four judges of the same",
        "recipe (A: the committed results', B-D: other instances; C and D also draw other images), over",
        "983 training captions with judge A; R-precision with the independent CUB-50 char-CNN-RNN (chance",
        "0.01); held-out: the final discriminator rejecting another class's caption on the 983 test",
        "images, mean ± std over 10 pairings; blind reviews (fourth / fifth of `../blind_review.md`):",
        "clear birds of 64 (and borderline) in the bicubically upsampled Stage-I grid of 64 test",
        "captions. Commands: `command.txt`; this table: `python results/cub50/lr_schedule/table.py`.",
        "",
        "| learning rate | FID A ↓ | FID B ↓ | FID C ↓ | FID D ↓ | FID train ↓ | IS ↑ | R-prec. test ↑ "
        "| R-prec. train ↑ | held-out mismatched ↑ | blind review 4th / 5th ↑ |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run, label in RUNS.items():
        fids = [f"{stage1(f'{run}_judge{judge}.json')['fid']:.1f}" for judge in "ABCD"]
        test, train = stage1(f"{run}_judgeA.json"), stage1(f"{run}_train_judgeA.json")
        lines.append(
            f"| {label} | {' | '.join(fids)} | {train['fid']:.1f} | {test['is_mean']:.2f} | "
            f"{test['r_precision']:.3f} | {train['r_precision']:.3f} | {heldout(run)} | "
            f"{_review(review['fourth'], run)} / {_review(review['fifth'], run)} |"
        )
    lines.append(
        f"| real photographs | – | – | – | – | – | – | – | – | – | "
        f"{_review(review['fourth'], 'real')} / {_review(review['fifth'], 'real')} |"
    )
    lines += [
        "",
        "Stage-II over each seed-0 Stage-I (`configs/stackgan/cub50_stage2.yaml`, 1,200 steps, fp16",
        "pipeline; the second is the pipeline committed at `results/cub50/pipeline`), judge A, 983 test",
        "captions:",
        "",
        "| Stage-I learning rate | images | judge-FID 64 px ↓ | judge-FID 128 px ↓ | R-precision ↑ |",
        "|---|---|---:|---:|---:|",
    ]
    pipelines = {
        "every100": ("every100_pipeline_metrics.json", "every100_pipeline_metrics_judge128.json"),
        "at465": ("at465_pipeline_metrics.json", "at465_pipeline_metrics_judge128.json"),
    }
    for run, (small, large) in pipelines.items():
        small, large = read(small)["stages"], read(large)["stages"]
        for stage, label in STAGES.items():
            lines.append(
                f"| {RUNS[run]} | {label} | {small[stage]['fid']:.1f} | {large[stage]['fid']:.1f} | "
                f"{small[stage]['r_precision']:.3f} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    (HERE / "table.md").write_text(main())
    print((HERE / "table.md").read_text())
