"""The unconditional and the class-conditional DDPM scored by one judge. The offline MNIST judge
(`scripts/evaluate.py ddpm`'s metric) is retrained on each fresh machine and its FID moves with it, so this
scores with the judge at hand: 1,000 real training digits (the seeded subset of ../command.txt), the
committed unconditional samples (DDPM-1000, DDIM-50) and this folder's class-conditional samples (with the
asked digits). Writes same_judge.json and same_judge.md (the table).

    python results/ddpm_mnist/class_conditional/same_judge.py
"""

import json
import tempfile
from pathlib import Path

import numpy as np

from diffusion.data import load_mnist
from diffusion.evaluation import evaluate_ddpm_samples

HERE = Path(__file__).parent
UNCONDITIONAL = HERE.parent
DATASET_DIR = "../shared/data/mnist"

with tempfile.TemporaryDirectory() as scratch:
    train = load_mnist(dataset_dir=DATASET_DIR, split="train")
    rows = np.random.default_rng(0).choice(len(train), 1000, replace=False).tolist()
    real = Path(scratch) / "real_train_1000.npy"
    np.save(real, np.stack([np.asarray(image) for image in train.select(rows)["image"]]).astype(np.uint8))
    labels = HERE / "samples_1000_labels.npy"
    runs = {
        "real training digits (1,000, seeded subset)": (real, None),
        "unconditional DDPM-1000 (../samples_1000.npy)": (UNCONDITIONAL / "samples_1000.npy", None),
        "unconditional DDIM-50 (../samples_ddim50_1000.npy)": (
            UNCONDITIONAL / "samples_ddim50_1000.npy",
            None,
        ),
        "class-conditional DDPM-1000, guidance 2 (samples_1000.npy)": (HERE / "samples_1000.npy", labels),
        "class-conditional DDIM-50, guidance 2 (samples_ddim50_1000.npy)": (
            HERE / "samples_ddim50_1000.npy",
            labels,
        ),
    }
    results = {
        name: evaluate_ddpm_samples(samples, dataset_dir=DATASET_DIR, labels=asked)
        for name, (samples, asked) in runs.items()
    }
(HERE / "same_judge.json").write_text(json.dumps(results, indent=1) + "\n")
table = [
    "| samples (1,000 each) | FID ↓ | unsure (top class < 0.9) ↓ | read as the asked digit "
    "| each digit's share |",
    "|---|---:|---:|---:|---|",
]
for name, metrics in results.items():
    asked = metrics.get("asked_class_accuracy")
    low, high = metrics["class_share_min_max"]
    table.append(
        f"| {name} | {metrics['fid']:.2f} | {metrics['low_confidence_share']:.1%} | "
        f"{'–' if asked is None else f'{asked:.1%}'} | {low:.1%}-{high:.1%} |"
    )
(HERE / "same_judge.md").write_text("\n".join(table) + "\n")
print("\n".join(table))
