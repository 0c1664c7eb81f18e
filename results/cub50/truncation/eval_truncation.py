"""Runs scripts/evaluate.py (or SCRIPT) with BigGAN's truncation trick on the pipeline's noise: every draw of
z (TRUNC_WHICH=z), of the conditioning-augmentation noise (ca) or of both (the default) comes from N(0, 1)
truncated to [-TRUNC, TRUNC], by mapping the seeded normal draw through its CDF, so the same seed still gives
the same images. A results script, not a library option (it did not help: README.md here).

    TRUNC=1.0 python results/cub50/truncation/eval_truncation.py stackgan --model results/cub50/pipeline ...
"""

import os
import runpy
import sys

import torch
from diffusers.utils.torch_utils import randn_tensor

import stackgan_hf.models.conditioning as conditioning
import stackgan_hf.pipeline_stackgan as pipeline_stackgan

THRESHOLD = float(os.environ["TRUNC"])
WHICH = os.environ.get("TRUNC_WHICH", "both")


def truncated_randn(*args, **kwargs):
    z = randn_tensor(*args, **kwargs)
    low = torch.special.ndtr(torch.tensor(-THRESHOLD, dtype=torch.float64))
    u = low + (1 - 2 * low) * torch.special.ndtr(z.double())
    return torch.special.ndtri(u).to(z.dtype)


if WHICH in ("both", "z"):
    pipeline_stackgan.randn_tensor = truncated_randn
if WHICH in ("both", "ca"):
    conditioning.randn_tensor = truncated_randn
script = os.environ.get("SCRIPT", "scripts/evaluate.py")
sys.argv = [script] + sys.argv[1:]
runpy.run_path(script, run_name="__main__")
