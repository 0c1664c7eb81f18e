"""Writes table.md of this folder from its metrics JSONs: Stage-II variants over the frozen 500-epoch
Stage-I, 1,200 steps each, judge-FID over the 983 test captions with two judge instances.

    python results/cub50/stage2_options/table.py
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
VARIANTS = {
    "base": "the config before (color 50, low-res 10, discriminator 16, bilinear skip)",
    "weak": "weaker consistency: color 5, low-res 1",
    "wideD": "discriminator width 32 instead of 16",
    "bicubic": "the image skip upsamples Stage-I bicubically: `cub50_stage2.yaml` now",
}
# A: the committed results' judges; B: trained again on the queue's copy (one thread); C, D: evaluate.py
# --seed 1 and 2 (the judge's training seed and the generation seed).
JUDGES = {"A": "main", "B": "snap", "C": "seed1", "D": "seed2"}


def fid(name: str, judge: str, px: int, stage: str = "stage2") -> float | None:
    path = HERE / f"{name}_{judge}judge{px}.json"
    return json.loads(path.read_text())["stages"][stage]["fid"] if path.is_file() else None


def cell(value: float | None, best: float | None = None) -> str:
    if value is None:
        return "–"
    return f"**{value:.1f}**" if best is not None and value < best else f"{value:.1f}"


def main() -> None:
    judges = " | ".join(f"{letter}, {px} px ↓" for letter in JUDGES for px in (64, 128))
    lines = [f"| Stage-II | seed | {judges} |", "|---|---:|" + "---:|" * 2 * len(JUDGES)]
    baseline = {(j, px): fid("base_s0", j, px, "stage1_bicubic") for j in JUDGES.values() for px in (64, 128)}
    for variant, text in VARIANTS.items():
        for seed in (0, 1):
            name = f"{variant}_s{seed}"
            values = [cell(fid(name, j, px), baseline[j, px]) for j in JUDGES.values() for px in (64, 128)]
            if any(v != "–" for v in values):
                lines.append(f"| {text} | {seed} | " + " | ".join(values) + " |")
    for stage, text in (
        ("stage1_bicubic", "Stage-I upsampled bicubically (the baseline)"),
        ("stage1", "Stage-I (64x64)"),
    ):
        values = [cell(fid("base_s0", j, px, stage)) for j in JUDGES.values() for px in (64, 128)]
        lines.append(f"| {text} | – | " + " | ".join(values) + " |")
    note = (
        "\nJudge-FID over the 983 test captions with four judge instances of one recipe. A: the committed "
        "results' judges (`outputs/eval_classifiers/work_main_*`); B: trained again on another copy of the "
        "repository (one thread); C and D: `evaluate.py --seed 1` and `--seed 2`, which also draw other "
        "images. Bold: below the bicubic baseline of the same judge. Commands: `command.txt`.\n"
    )
    (HERE / "table.md").write_text("\n".join(lines) + "\n" + note)
    print((HERE / "table.md").read_text())


if __name__ == "__main__":
    main()
