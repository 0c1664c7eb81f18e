"""DDIM with 50 steps on one trained DDPMPipeline: timestep spacing x eta, 1,000 samples each from the same
initial noise (seed 0), scored by the offline MNIST judge (`scripts/evaluate.py ddpm`'s metric).

    python results/ddpm_mnist/ddim_sampler/ddim_sampler_ablation.py PIPELINE_DIR OUT_JSON \
        [--spacings leading trailing linspace] [--etas 0 1] [--clipped_model_output 0] [--threads 2]

Writes OUT_JSON: for each "spacing/eta", the FID, the inception score, the class share min/max and the
seconds it took (sampling and scoring). ``--clipped_model_output 1`` (diffusers'
``use_clipped_model_output``): each step re-derives the noise from the clipped x_0; its keys end
in "/clipped".
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from diffusers import DDIMScheduler

from diffusion.evaluation import evaluate_ddpm_samples
from diffusion.sampling import generate_digits, load_pipeline

parser = argparse.ArgumentParser()
parser.add_argument("pipeline_dir")
parser.add_argument("output")
parser.add_argument("--spacings", nargs="+", default=["leading", "trailing", "linspace"])
parser.add_argument("--etas", nargs="+", type=float, default=[0.0, 1.0])
parser.add_argument("--clipped_model_output", nargs="+", type=int, default=[0])
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--dataset_dir", default="../shared/data/mnist")
parser.add_argument("--classifier", default="outputs/eval_classifiers/mnist")
args = parser.parse_args()

torch.set_num_threads(args.threads)
pipeline = load_pipeline(args.pipeline_dir, "ddim")
schedule = pipeline.scheduler.config
results = {}
with tempfile.TemporaryDirectory() as scratch:
    for spacing in args.spacings:
        for eta in args.etas:
            for clipped in args.clipped_model_output:
                pipeline.scheduler = DDIMScheduler.from_config(schedule, timestep_spacing=spacing)
                start = time.time()
                path = Path(scratch) / "samples.npy"
                samples = generate_digits(
                    pipeline, 1000, 50, 250, seed=0, eta=eta, use_clipped_model_output=clipped
                )
                np.save(path, samples)
                metrics = evaluate_ddpm_samples(
                    path, dataset_dir=args.dataset_dir, classifier=args.classifier
                )
                key = f"{spacing}/eta{eta:g}" + ("/clipped" if clipped else "")
                results[key] = {
                    "fid": metrics["fid"],
                    "is": metrics["is_mean"],
                    "share": metrics["class_share_min_max"],
                    "unsure": metrics["low_confidence_share"],
                    "sec": time.time() - start,
                }
                print(key, results[key], flush=True)
Path(args.output).write_text(json.dumps(results, indent=1) + "\n")
