"""The judge's unsure share (`scripts/evaluate.py ddpm`'s `low_confidence_share`) of DDIM-50 samples (eta 0,
leading spacing, seed 0) from a pipeline folder, or from a training run's newest checkpoint with its EMA
weights.

    python results/ddpm_mnist/ddim_sampler/unsure_share_peek.py PIPELINE_OR_RUN_DIR NUM_SAMPLES
"""

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel
from diffusers.training_utils import EMAModel

from diffusion.evaluation import evaluate_ddpm_samples
from diffusion.sampling import as_ddim, generate_digits, load_pipeline

torch.set_num_threads(2)
source, num_samples = Path(sys.argv[1]), int(sys.argv[2])
checkpoints = sorted(source.glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[1]))
if checkpoints:  # a run folder: the newest checkpoint's EMA weights, the run's noise schedule
    name = checkpoints[-1].name
    unet = UNet2DModel.from_pretrained(checkpoints[-1] / "unet")
    ema = EMAModel(unet.parameters(), model_cls=UNet2DModel, model_config=unet.config)
    ema.load_state_dict(torch.load(checkpoints[-1] / "custom_checkpoint_0.pkl", weights_only=False))
    ema.copy_to(unet.parameters())
    pipeline = as_ddim(DDPMPipeline(unet=unet, scheduler=DDPMScheduler.from_pretrained(source / "scheduler")))
else:  # a pipeline folder (float16 weights are run in float32)
    name = source.name
    pipeline = load_pipeline(source, "ddim")
    pipeline.unet.float()
start = time.time()
with tempfile.TemporaryDirectory() as scratch:
    path = Path(scratch) / "samples.npy"
    np.save(path, generate_digits(pipeline, num_samples, 50, batch_size=num_samples, seed=0))
    metrics = evaluate_ddpm_samples(path, dataset_dir="../shared/data/mnist")
print(
    name,
    f"{time.time() - start:.0f} s",
    "unsure share",
    metrics["low_confidence_share"],
    metrics["class_histogram"],
)
