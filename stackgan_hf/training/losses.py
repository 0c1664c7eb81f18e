"""StackGAN's losses, on logits (``BCEWithLogits``: numerically safe under fp16/bf16 autocast)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, exp(logvar)) || N(0, I))`` as the official code computes it: the mean over batch and code
    dimensions of ``-0.5 * (1 + logvar - mu^2 - exp(logvar))``."""
    mu, logvar = mu.float(), logvar.float()
    return torch.mean(-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()))


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    logits = logits.float()
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


@dataclass
class DiscriminatorLosses:
    total: torch.Tensor
    real: torch.Tensor
    mismatched: torch.Tensor
    fake: torch.Tensor


def discriminator_loss(
    real_logits: torch.Tensor,
    mismatched_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    real_unconditional: torch.Tensor | None = None,
    fake_unconditional: torch.Tensor | None = None,
) -> DiscriminatorLosses:
    """Matching-aware loss: ``real/matching + (real/mismatched + fake) / 2``.

    With the optional unconditional head (StackGAN-v2), its real and fake terms are averaged into the
    conditional real and fake terms, as the official PyTorch code does.
    """
    real = _bce(real_logits, 1.0)
    mismatched = _bce(mismatched_logits, 0.0)
    fake = _bce(fake_logits, 0.0)
    if real_unconditional is not None and fake_unconditional is not None:
        real = (real + _bce(real_unconditional, 1.0)) / 2
        fake = (fake + _bce(fake_unconditional, 0.0)) / 2
    return DiscriminatorLosses(
        total=real + (mismatched + fake) / 2, real=real, mismatched=mismatched, fake=fake
    )


def generator_adversarial_loss(
    fake_logits: torch.Tensor, fake_unconditional: torch.Tensor | None = None
) -> torch.Tensor:
    """Non-saturating generator loss: the fakes should be scored real (and matching)."""
    loss = _bce(fake_logits, 1.0)
    if fake_unconditional is not None:
        loss = (loss + _bce(fake_unconditional, 1.0)) / 2
    return loss


@torch.no_grad()
def discriminator_accuracy(real_logits, mismatched_logits, fake_logits) -> dict[str, float]:
    """Shares of real/matching pairs scored real, real/mismatched pairs scored fake and fakes scored fake."""
    return {
        "real": (real_logits > 0).float().mean().item(),
        "mismatched": (mismatched_logits < 0).float().mean().item(),
        "fake": (fake_logits < 0).float().mean().item(),
    }
