"""Sampling a trained DDPM directory with DDPM (the paper's ancestral sampler) or DDIM (fewer steps).

Both use the same checkpoint: DDIM takes the ``DDPMScheduler``'s configuration (betas, T, prediction type)
through ``DDIMScheduler.from_config``, so a ``DDPMPipeline`` directory needs nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import torch
from diffusers import DDIMPipeline, DDIMScheduler, DDPMPipeline

from stackgan_hf.hub import check_model_path

from .data import tensor_to_uint8

Sampler = Literal["ddpm", "ddim"]


def load_pipeline(path: str | Path, sampler: Sampler = "ddpm") -> DDPMPipeline | DDIMPipeline:
    """The pipeline in ``path`` (a local ``DDPMPipeline`` folder or a Hub id), with DDPM or DDIM sampling."""
    pipeline = DDPMPipeline.from_pretrained(check_model_path(path))
    if sampler == "ddpm":
        return pipeline
    if sampler == "ddim":
        return as_ddim(pipeline)
    raise ValueError(f"sampler must be 'ddpm' or 'ddim', got {sampler!r}.")


def as_ddim(pipeline: DDPMPipeline) -> DDIMPipeline:
    """The same UNet with a ``DDIMScheduler`` built from the pipeline's noise-schedule configuration."""
    return DDIMPipeline(unet=pipeline.unet, scheduler=DDIMScheduler.from_config(pipeline.scheduler.config))


@torch.no_grad()
def generate_digits(
    pipeline: DDPMPipeline | DDIMPipeline,
    num_images: int,
    num_inference_steps: int | None = None,
    batch_size: int = 250,
    seed: int = 0,
    eta: float = 0.0,
    progress: bool = False,
    fast: bool = True,
) -> np.ndarray:
    """``num_images`` samples as uint8 ``[N, 28, 28]`` (padding cropped), deterministic given ``seed``.

    ``num_inference_steps`` defaults to the scheduler's training steps (1000, the paper's sampler) for DDPM
    and to 50 for DDIM; ``eta`` is DDIM's noise scale (0: deterministic given the initial noise). ``fast``
    puts the UNet's weights in channels-last memory format, so oneDNN picks its NHWC convolutions: the same
    values up to float rounding, about 10% faster on 2 CPU cores (the 1.6M-parameter MNIST UNet, batch 250).
    """
    is_ddim = isinstance(pipeline.scheduler, DDIMScheduler)
    if num_inference_steps is None:
        num_inference_steps = 50 if is_ddim else pipeline.scheduler.config.num_train_timesteps
    pipeline.set_progress_bar_config(disable=not progress)
    generator = torch.Generator(device=pipeline.device).manual_seed(seed)
    pipeline.unet.to(memory_format=torch.channels_last if fast else torch.contiguous_format)
    batches = []
    for start in range(0, num_images, batch_size):
        kwargs = {"eta": eta} if is_ddim else {}
        images = pipeline(
            batch_size=min(batch_size, num_images - start),
            generator=generator,
            num_inference_steps=num_inference_steps,
            output_type="pt",
            **kwargs,
        ).images  # [B, 1, S, S] in [0, 1]
        batches.append(tensor_to_uint8(images * 2 - 1))
    return np.concatenate(batches)
