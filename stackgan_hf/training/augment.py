"""Differentiable augmentation of everything the discriminator sees (DiffAugment, Zhao et al., NeurIPS 2020).

The same random ``color``, ``translation`` and ``cutout`` transformations are applied to real, mismatched and
generated images in both steps; the generator learns through them. Randomness comes only from the given
``torch.Generator``. Images are ``[B, C, H, W]`` in ``[-1, 1]``. Details: docs/theory.md, "DiffAugment in
code".
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn import functional as F

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"color,translation"`` (or a list) -> ``("color", "translation")``; empty or None -> ``()``."""
    if not policy:
        return ()
    names = policy.split(",") if isinstance(policy, str) else list(policy)
    names = tuple(name.strip() for name in names if name.strip())
    unknown = [name for name in names if name not in POLICIES]
    if unknown:
        raise ValueError(f"Unknown DiffAugment policy {unknown}: choose from {POLICIES}.")
    return names


def _uniform(images: torch.Tensor, generator, low: float, high: float) -> torch.Tensor:
    shape = (images.shape[0], 1, 1, 1)
    sample = torch.rand(shape, generator=generator, device=images.device, dtype=torch.float32)
    return (low + (high - low) * sample).to(images.dtype)


def _color(images: torch.Tensor, generator) -> torch.Tensor:
    images = images + _uniform(images, generator, -0.5, 0.5)
    mean = images.mean(dim=1, keepdim=True)
    images = (images - mean) * _uniform(images, generator, 0.0, 2.0) + mean
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    return (images - mean) * _uniform(images, generator, 0.5, 1.5) + mean


def _translation(images: torch.Tensor, generator, ratio: float = 0.125) -> torch.Tensor:
    batch, _, height, width = images.shape
    max_shift = torch.tensor([int(width * ratio + 0.5), int(height * ratio + 0.5)], device=images.device)
    # Integer shifts in [-max, max] per image, as offsets in grid_sample's [-1, 1] coordinates: with
    # align_corners=False and nearest sampling, a shift of 2 * k / size moves the image by exactly k pixels.
    unit = torch.rand((batch, 2), generator=generator, device=images.device)
    shifts = (unit * (2 * max_shift + 1)).floor() - max_shift
    theta = torch.zeros(batch, 2, 3, device=images.device, dtype=torch.float32)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = 2 * shifts[:, 0] / width
    theta[:, 1, 2] = 2 * shifts[:, 1] / height
    grid = F.affine_grid(theta, [batch, 1, height, width], align_corners=False).to(images.dtype)
    return F.grid_sample(images, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def _cutout(images: torch.Tensor, generator, ratio: float = 0.5) -> torch.Tensor:
    batch, _, height, width = images.shape
    size_y, size_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    # The square's center anywhere in the image (it may be cut by the border), as DiffAugment.
    unit = torch.rand((batch, 2), generator=generator, device=images.device)
    center_y = (unit[:, 0] * (height + 1 - size_y % 2)).floor()
    center_x = (unit[:, 1] * (width + 1 - size_x % 2)).floor()
    rows = torch.arange(height, device=images.device)[None, :, None]
    cols = torch.arange(width, device=images.device)[None, None, :]
    inside_y = (rows - center_y[:, None, None] + size_y // 2).clamp(min=-1)
    inside_x = (cols - center_x[:, None, None] + size_x // 2).clamp(min=-1)
    hole = (inside_y >= 0) & (inside_y < size_y) & (inside_x >= 0) & (inside_x < size_x)
    return images * (~hole)[:, None].to(images.dtype)


_OPS = {"color": _color, "translation": _translation, "cutout": _cutout}


def diff_augment(images: torch.Tensor, policy: Sequence[str], generator: torch.Generator | None = None):
    """Applies the ``policy`` transformations (see the module docstring) in order; ``()`` returns
    ``images`` unchanged. Differentiable with respect to ``images``."""
    for name in policy:
        images = _OPS[name](images, generator)
    return images
