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
    real_logits: torch.Tensor, mismatched_logits: torch.Tensor, fake_logits: torch.Tensor
) -> DiscriminatorLosses:
    """The matching-aware loss of StackGAN-Pytorch's ``compute_discriminator_loss``:
    ``total = real + (mismatched + fake) / 2``, binary cross-entropy on logits."""
    real = _bce(real_logits, 1.0)
    mismatched = _bce(mismatched_logits, 0.0)
    fake = _bce(fake_logits, 0.0)
    return DiscriminatorLosses(
        total=real + (mismatched + fake) / 2, real=real, mismatched=mismatched, fake=fake
    )


def generator_adversarial_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss: the fakes should be scored real (and matching)."""
    return _bce(fake_logits, 1.0)


def text_image_contrastive_loss(
    image_embeds: torch.Tensor,
    text_embeds: torch.Tensor,
    temperature: float = 0.1,
    class_ids: torch.Tensor | None = None,
    hard_negative_embeds: torch.Tensor | None = None,
    hard_negative_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """XMC-GAN's symmetric image-sentence contrastive loss (Zhang et al., CVPR 2021, eq. 3).

    Cross-entropy over cosine similarities / ``temperature`` of every image ``[B, C]`` with every caption
    ``[B, C]`` of the local batch, each row's own as the answer. ``class_ids`` ``[B]`` removes same-class
    negatives (``-1``: none); ``hard_negative_embeds`` ``[B, K, C]`` joins image-to-text negatives where
    ``hard_negative_mask`` allows. One row gives zero.
    """
    if image_embeds.shape[0] < 2:
        return image_embeds.float().sum() * 0.0
    image_embeds = F.normalize(image_embeds.float(), dim=1)
    text_embeds = F.normalize(text_embeds.float(), dim=1)
    logits = image_embeds @ text_embeds.t() / temperature
    if class_ids is not None:
        class_ids = class_ids.to(logits.device)
        same_class = (class_ids[:, None] == class_ids[None, :]) & (class_ids[:, None] >= 0)
        same_class.fill_diagonal_(False)
        logits = logits.masked_fill(same_class, float("-inf"))
    target = torch.arange(logits.shape[0], device=logits.device)
    image_to_text = logits
    if hard_negative_embeds is not None:
        hard_embeds = hard_negative_embeds.float()
        hard_embeds = hard_embeds[:, None] if hard_embeds.dim() == 2 else hard_embeds
        hard = (image_embeds[:, None] * F.normalize(hard_embeds, dim=2)).sum(dim=2) / temperature
        if hard_negative_mask is not None:
            mask = hard_negative_mask.to(hard.device).reshape(hard.shape)
            hard = hard.masked_fill(~mask, float("-inf"))
        image_to_text = torch.cat([logits, hard], dim=1)
    return (F.cross_entropy(image_to_text, target) + F.cross_entropy(logits.t(), target)) / 2


def _color_statistics(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: mean color ``[B, C]`` and color covariance ``[B, C, C]`` over all pixels."""
    pixels = images.float().flatten(2)  # [B, C, H*W]
    mean = pixels.mean(dim=2)
    centered = pixels - mean[..., None]
    return mean, centered @ centered.transpose(1, 2) / pixels.shape[2]


def color_consistency_loss(
    high_res: torch.Tensor, low_res: torch.Tensor, mean_weight: float = 1.0, covariance_weight: float = 5.0
) -> torch.Tensor:
    """StackGAN++'s color-consistency regularizer (Zhang et al., TPAMI 2018, eq. 6): the mean color and
    color covariance of each generated image should equal those of the lower-resolution image it refines,
    ``mean_weight * MSE(mu_high, mu_low) + covariance_weight * MSE(Sigma_high, Sigma_low)`` (1 and 5 there).
    Stage-II uses it only when ``color_consistency_coefficient`` > 0; StackGAN-v1 itself has no such term.
    """
    mean_high, cov_high = _color_statistics(high_res)
    mean_low, cov_low = _color_statistics(low_res)
    return mean_weight * F.mse_loss(mean_high, mean_low) + covariance_weight * F.mse_loss(cov_high, cov_low)


def low_resolution_consistency_loss(high_res: torch.Tensor, low_res: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between each Stage-II image, average-pooled to its Stage-I image's size, and
    that Stage-I image: Stage-II may add detail, but the colors *where they are* stay Stage-I's (StackGAN++'s
    color-consistency term matches only whole-image color statistics). Not in StackGAN-v1."""
    factor = high_res.shape[-1] // low_res.shape[-1]
    pooled = F.avg_pool2d(high_res.float(), kernel_size=factor)
    return F.l1_loss(pooled, low_res.float())


@torch.no_grad()
def discriminator_accuracy(real_logits, mismatched_logits, fake_logits) -> torch.Tensor:
    """``[3]``: the shares of real/matching pairs scored real, real/mismatched pairs scored fake and fakes
    scored fake (a tensor, so that processes can average it)."""
    return torch.stack(
        [
            (real_logits > 0).float().mean(),
            (mismatched_logits < 0).float().mean(),
            (fake_logits < 0).float().mean(),
        ]
    )
