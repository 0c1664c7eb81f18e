"""Classifier-free guidance scale of the class-conditional DDPM: for each scale, 1,000 DDIM-50 samples (eta 0,
seed 0: the same initial noise for every scale; sample i asks for digit i % 10), judged by the offline MNIST
judge (`scripts/evaluate.py ddpm --labels`). Writes guidance_{scale}{suffix}.json, a 10x10 grid of the first
100 samples per scale, and guidance_sweep{suffix}.md (the table).

    python results/ddpm_mnist/class_conditional/guidance_sweep.py PIPELINE_DIR 1 2 3 4 \
        [--clipped_model_output]

``--clipped_model_output``: each DDIM step re-derives the noise from the clipped x_0 (diffusers'
``use_clipped_model_output``; suffix "_clipped_eps"); without it, diffusers' default (suffix "_plain_ddim").
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from diffusion.evaluation import evaluate_ddpm_samples
from diffusion.pipeline import digit_labels
from diffusion.sampling import generate_digits, load_pipeline
from diffusion.visualize import save_grid

HERE = Path(__file__).parent
NUM_SAMPLES = 1000

parser = argparse.ArgumentParser()
parser.add_argument("pipeline_dir")
parser.add_argument("scales", nargs="+", type=float)
parser.add_argument("--clipped_model_output", action="store_true")
parser.add_argument("--dataset_dir", default="../shared/data/mnist")
args = parser.parse_args()
suffix = "_clipped_eps" if args.clipped_model_output else "_plain_ddim"

pipeline = load_pipeline(args.pipeline_dir, "ddim")
rows = []
for scale in args.scales:
    start = time.perf_counter()
    samples = generate_digits(
        pipeline,
        NUM_SAMPLES,
        50,
        batch_size=250,
        seed=0,
        guidance_scale=scale,
        use_clipped_model_output=args.clipped_model_output,
    )
    seconds = time.perf_counter() - start
    save_grid(samples[:100], HERE / f"guidance_{scale:g}{suffix}_grid_10x10.png", rows=10, columns=10)
    with tempfile.TemporaryDirectory() as scratch:
        np.save(Path(scratch) / "samples.npy", samples)
        np.save(Path(scratch) / "labels.npy", digit_labels(0, NUM_SAMPLES).numpy())
        metrics = evaluate_ddpm_samples(
            Path(scratch) / "samples.npy", dataset_dir=args.dataset_dir, labels=Path(scratch) / "labels.npy"
        )
    metrics.update(
        samples=f"DDIM-50, eta 0, seed 0, guidance {scale:g}",
        use_clipped_model_output=args.clipped_model_output,
        labels="i % 10",
        wall_time_s=round(seconds, 1),
    )
    (HERE / f"guidance_{scale:g}{suffix}.json").write_text(json.dumps(metrics, indent=1) + "\n")
    rows.append(
        f"| {scale:g} | {metrics['fid']:.2f} | {metrics['low_confidence_share']:.1%} | "
        f"{metrics['asked_class_accuracy']:.1%} | {metrics['class_share_min_max'][0]:.1%}-"
        f"{metrics['class_share_min_max'][1]:.1%} | {seconds:.0f} s |"
    )
    print(rows[-1], flush=True)
table = [
    "| guidance scale | FID ↓ | unsure (top class < 0.9) ↓ | read as the asked digit ↑ | each digit's share "
    "| time |",
    "|---|---|---|---|---|---|",
    *rows,
]
(HERE / f"guidance_sweep{suffix}.md").write_text("\n".join(table) + "\n")
