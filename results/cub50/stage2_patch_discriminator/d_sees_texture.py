"""Does a run's Stage-II discriminator tell real 256-px images from the bicubic upsampling of their 64-px
versions?

Every test image (the training view at 256 px, with its own caption) and four images made from it or its
caption are scored by the run's final Stage-II discriminator with that caption, in batches of 8 as in
training, without DiffAugment:
  real: the real image;
  bicubic_of_real: its 64-px version (antialiased bicubic) upsampled bicubically;
  stage2_of_real: Stage-II's refinement of that 64-px version;
  bicubic_of_stage1, stage2_of_stage1: a Stage-I image for the caption upsampled bicubically, and refined by
  Stage-II (what Stage-II trains on).
Prints, per run, the mean sigmoid of the logits and the fraction scored real (logit > 0) of each kind.

MODE=train (default: batch statistics, one kind per batch, as in training) or MODE=eval (running statistics);
MIXED=1: training mode, each batch 4 real images and 4 of one other kind.

python results/cub50/stage2_patch_discriminator/d_sees_texture.py RUN_DIR [RUN_DIR ...] > out.json
"""

import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from stackgan_hf import StackGANPipeline
from stackgan_hf.data import load_stackgan_dataset
from stackgan_hf.models import StackGANStage2Discriminator
from stackgan_hf.models.discriminator import discriminator_condition
from stackgan_hf.training.diagnostics import _view_batch

MODE = os.environ.get("MODE", "train")
MIXED = os.environ.get("MIXED") == "1"
KINDS = ["real", "bicubic_of_real", "stage2_of_real", "bicubic_of_stage1", "stage2_of_stage1"]


def images_of(pipe, real, text, rng):
    """The five kinds of image for real images and their captions' embeddings, and Stage-II's CA mean."""
    low = F.interpolate(real, size=64, mode="bicubic", antialias=True).clamp(-1, 1)
    stage1 = pipe.stage1_generator(
        text, torch.randn(len(real), pipe.stage1_generator.config.noise_dim, generator=rng), generator=rng
    ).images
    images = {
        "real": real,
        "bicubic_of_real": F.interpolate(low, size=256, mode="bicubic").clamp(-1, 1),
        "stage2_of_real": pipe.stage2_generator(low, text, generator=rng, return_dict=False)[0],
        "bicubic_of_stage1": F.interpolate(stage1, size=256, mode="bicubic").clamp(-1, 1),
    }
    images["stage2_of_stage1"], mu, _ = pipe.stage2_generator(stage1, text, generator=rng, return_dict=False)
    return images, mu


def score(run: str, split) -> dict:
    pipe = StackGANPipeline.from_pretrained(run)
    discriminator = StackGANStage2Discriminator.from_pretrained(Path(run) / "discriminator")
    discriminator.train(MODE == "train")
    rng = torch.Generator().manual_seed(0)
    logits = {kind: [] for kind in KINDS}
    order = np.random.default_rng(0).permutation(len(split)).tolist()
    with torch.no_grad():  # BatchNorm's running statistics change in training mode: the run's files do not
        for start in range(0, len(order) - 7, 8):
            batch = _view_batch(split.select(order[start : start + 8]), 256, 0)
            text = pipe.encode_prompt(batch.captions, torch.device("cpu")).float()
            images, mu = images_of(pipe, batch.pixel_values.float(), text, rng)
            condition = discriminator_condition(discriminator, text, mu)
            if not MIXED:
                for kind, x in images.items():
                    logits[kind].append(discriminator(x, condition, return_dict=False)[1])
                continue
            for kind in KINDS[1:]:
                both = torch.cat([images["real"][:4], images[kind][:4]])
                scores = discriminator(both, torch.cat([condition[:4], condition[:4]]), return_dict=False)[1]
                logits[kind].append(scores[4:])
                if kind == "bicubic_of_real":
                    logits["real"].append(scores[:4])
    return {
        kind: {
            "mean_p_real": round(torch.cat(values).sigmoid().mean().item(), 3),
            "frac_scored_real": round((torch.cat(values) > 0).float().mean().item(), 3),
        }
        for kind, values in logits.items()
    }


if __name__ == "__main__":
    torch.set_num_threads(2)
    test = load_stackgan_dataset(".data/cub50", split="test")
    print(json.dumps({Path(run).name: score(run, test) for run in sys.argv[1:]}, indent=1))
