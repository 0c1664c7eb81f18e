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


def _colour_statistics(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: mean colour ``[B, C]`` and colour covariance ``[B, C, C]`` over all pixels."""
    pixels = images.float().flatten(2)  # [B, C, H*W]
    mean = pixels.mean(dim=2)
    centred = pixels - mean[..., None]
    return mean, centred @ centred.transpose(1, 2) / pixels.shape[2]


def colour_consistency_loss(
    high_res: torch.Tensor, low_res: torch.Tensor, mean_weight: float = 1.0, covariance_weight: float = 5.0
) -> torch.Tensor:
    """StackGAN++'s colour-consistency regulariser (Zhang et al., TPAMI 2018, eq. 6): the mean colour and
    colour covariance of each generated image should equal those of the lower-resolution image it refines,
    ``mean_weight * MSE(mu_high, mu_low) + covariance_weight * MSE(Sigma_high, Sigma_low)`` (1 and 5 there).
    Stage-II uses it only when ``color_consistency_coefficient`` > 0; StackGAN-v1 itself has no such term.
    """
    mean_high, cov_high = _colour_statistics(high_res)
    mean_low, cov_low = _colour_statistics(low_res)
    return mean_weight * F.mse_loss(mean_high, mean_low) + covariance_weight * F.mse_loss(cov_high, cov_low)


@torch.no_grad()
def discriminator_accuracy(real_logits, mismatched_logits, fake_logits) -> dict[str, float]:
    """Shares of real/matching pairs scored real, real/mismatched pairs scored fake and fakes scored fake."""
    return {
        "real": (real_logits > 0).float().mean().item(),
        "mismatched": (mismatched_logits < 0).float().mean().item(),
        "fake": (fake_logits < 0).float().mean().item(),
    }
