"""Does the ancestral sampler's variance or clipping change how many digits come out malformed? The committed
pipeline (results/ddpm_mnist/pipeline), DDPM with 1,000 steps, the same initial noise (seed 0) for every row;
the judge's unsure share (`scripts/evaluate.py ddpm`'s `low_confidence_share`: top class probability under
0.9) of the samples, and their 10x10 grid beside this file to check by eye.

    python results/ddpm_mnist/sampler_variance/sampler_variance.py [NUM_SAMPLES]   (default 100)
"""

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from diffusers import DDPMScheduler

from diffusion.evaluation import evaluate_ddpm_samples
from diffusion.sampling import generate_digits, load_pipeline
from diffusion.visualize import save_grid

torch.set_num_threads(2)
HERE = Path(__file__).parent
num_samples = int(sys.argv[1]) if len(sys.argv) > 1 else 100
pipeline = load_pipeline("results/ddpm_mnist/pipeline", "ddpm")
pipeline.unet.float()  # stored in float16 to stay small
base = dict(pipeline.scheduler.config)
variants = {  # name: scheduler settings changed from the committed ones
    "fixed_small, clipped (committed)": {},
    "fixed_large, clipped": {"variance_type": "fixed_large"},
    "fixed_small, not clipped": {"clip_sample": False},
}
rows = []
for name, change in variants.items():
    pipeline.scheduler = DDPMScheduler.from_config({**base, **change})
    start = time.time()
    digits = generate_digits(pipeline, num_samples, 1000, batch_size=num_samples, seed=0)
    seconds = time.time() - start
    slug = name.split(" (")[0].replace(", ", "_").replace(" ", "_")
    save_grid(digits[:100], HERE / f"{slug}_grid.png", rows=10, columns=10)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "samples.npy"
        np.save(path, digits)
        metrics = evaluate_ddpm_samples(path, dataset_dir="../shared/data/mnist")
    rows.append(
        dict(
            variant=name,
            scheduler_change=change,
            num_samples=num_samples,
            unsure_share=metrics["low_confidence_share"],
            class_histogram=metrics["class_histogram"],
            seconds=round(seconds, 1),
        )
    )
    print(rows[-1], flush=True)
(HERE / "results.json").write_text(json.dumps(rows, indent=1) + "\n")
