"""The judge's unsure share (top class probability under 0.9) of DDIM-50 samples (eta 0, leading spacing,
seed 0) from a pipeline folder, or from a training run's newest checkpoint with its EMA weights.

    python results/ddpm_mnist/ddim_sampler/unsure_share_peek.py PIPELINE_OR_RUN_DIR NUM_SAMPLES
"""

import sys
import time
from pathlib import Path

import numpy as np
import torch
from diffusers import DDIMScheduler, DDPMPipeline, UNet2DModel
from diffusers.training_utils import EMAModel

from diffusion.evaluation import LOW_CONFIDENCE, digits_to_tensor
from stackgan_hf.evaluation import ImageClassifier

torch.set_num_threads(2)
source, num_samples = Path(sys.argv[1]), int(sys.argv[2])
checkpoints = sorted(source.glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[1]))
if checkpoints:  # a run folder: the newest checkpoint's EMA weights
    name = checkpoints[-1].name
    unet = UNet2DModel.from_pretrained(checkpoints[-1] / "unet")
    ema = EMAModel(unet.parameters(), model_cls=UNet2DModel, model_config=unet.config)
    ema.load_state_dict(torch.load(checkpoints[-1] / "custom_checkpoint_0.pkl", weights_only=False))
    ema.copy_to(unet.parameters())
else:  # a pipeline folder (float16 weights are run in float32)
    name = source.name
    unet = UNet2DModel.from_pretrained(source / "unet").float()
scheduler = DDIMScheduler(num_train_timesteps=1000, beta_schedule="linear", beta_start=1e-4, beta_end=0.02)
pipeline = DDPMPipeline(unet=unet.eval(), scheduler=scheduler)
start = time.time()
generator = torch.Generator().manual_seed(0)
images = pipeline(
    batch_size=num_samples, generator=generator, num_inference_steps=50, output_type="np"
).images
digits = (images[..., 0] * 255).round().astype(np.uint8)
judge = ImageClassifier.from_pretrained("outputs/eval_classifiers/mnist")
probabilities = judge.probabilities(digits_to_tensor(digits))["digit"]
unsure = float((probabilities.max(axis=1) < LOW_CONFIDENCE).mean())
classes = np.bincount(probabilities.argmax(axis=1), minlength=10).tolist()
print(name, f"{time.time() - start:.0f} s", "unsure share", unsure, "classes", classes)
