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


ADVERSARIAL_LOSSES = ("bce", "hinge")


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    logits = logits.float()
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def _discriminator_term(logits: torch.Tensor, real: bool, loss: str) -> torch.Tensor:
    """One term of the discriminator loss: ``logits`` should be scored real (``real=True``) or fake.
    ``"bce"``: binary cross-entropy on logits (StackGAN); ``"hinge"``: ``mean(relu(1 -+ logits))``
    (DF-GAN, SAGAN)."""
    if loss == "bce":
        return _bce(logits, 1.0 if real else 0.0)
    if loss == "hinge":
        logits = logits.float()
        return F.relu(1.0 - logits).mean() if real else F.relu(1.0 + logits).mean()
    raise ValueError(f"adversarial loss must be one of {ADVERSARIAL_LOSSES}, got {loss!r}.")


def _generator_term(logits: torch.Tensor, loss: str) -> torch.Tensor:
    """The generator's term for one head: non-saturating BCE towards "real", or the hinge generator loss
    ``-mean(logits)``."""
    if loss == "bce":
        return _bce(logits, 1.0)
    if loss == "hinge":
        return -logits.float().mean()
    raise ValueError(f"adversarial loss must be one of {ADVERSARIAL_LOSSES}, got {loss!r}.")


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
    loss: str = "bce",
) -> DiscriminatorLosses:
    """Matching-aware loss, exactly as StackGAN-Pytorch's ``compute_discriminator_loss``.

    Without the unconditional head: ``total = real + (mismatched + fake) / 2``.
    With it (StackGAN-v2): ``total = (real + uncond_real) / 2 + (fake + mismatched + uncond_fake) / 3``,
    and the reported ``real`` and ``fake`` terms are the averages of their conditional and unconditional
    parts. ``loss``: ``"bce"`` (the paper) or ``"hinge"``.
    """
    real = _discriminator_term(real_logits, True, loss)
    mismatched = _discriminator_term(mismatched_logits, False, loss)
    fake = _discriminator_term(fake_logits, False, loss)
    if real_unconditional is None or fake_unconditional is None:
        return DiscriminatorLosses(
            total=real + (mismatched + fake) / 2, real=real, mismatched=mismatched, fake=fake
        )
    real_u = _discriminator_term(real_unconditional, True, loss)
    fake_u = _discriminator_term(fake_unconditional, False, loss)
    return DiscriminatorLosses(
        total=(real + real_u) / 2 + (fake + mismatched + fake_u) / 3,
        real=(real + real_u) / 2,
        mismatched=mismatched,
        fake=(fake + fake_u) / 2,
    )


def generator_adversarial_loss(
    fake_logits: torch.Tensor, fake_unconditional: torch.Tensor | None = None, loss: str = "bce"
) -> torch.Tensor:
    """The fakes should be scored real (and matching): StackGAN-Pytorch's ``compute_generator_loss``, the
    conditional term plus (with the unconditional head) the unconditional one, a sum."""
    total = _generator_term(fake_logits, loss)
    if fake_unconditional is not None:
        total = total + _generator_term(fake_unconditional, loss)
    return total


def matching_aware_gradient_penalty(
    real_logits: torch.Tensor,
    images: torch.Tensor,
    text: torch.Tensor,
    weight: float = 2.0,
    power: float = 6.0,
) -> torch.Tensor:
    """DF-GAN's matching-aware zero-centred gradient penalty (Tao et al., CVPR 2022, eq. 4):
    ``weight * mean_i(||(d D / d image_i, d D / d text_i)||_2 ^ power)`` on real, matching pairs; it
    flattens the discriminator's surface around them so the generator gets smooth gradients towards
    images that match their text. ``images`` and ``text`` must be the leaves ``real_logits`` was computed
    from, with ``requires_grad`` set; weight 2 and power 6 are DF-GAN's."""
    grads = torch.autograd.grad(real_logits.float().sum(), (images, text), create_graph=True)
    norms = torch.cat([g.float().flatten(1) for g in grads], dim=1).norm(dim=1)
    return weight * norms.pow(power).mean()


def text_image_contrastive_loss(
    image_embeds: torch.Tensor,
    text_embeds: torch.Tensor,
    temperature: float = 0.1,
    class_ids: torch.Tensor | None = None,
    hard_negative_embeds: torch.Tensor | None = None,
    hard_negative_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """XMC-GAN's image-sentence contrastive loss (Zhang et al., CVPR 2021, eq. 3), symmetric: the cosine
    similarities of every image ``[B, C]`` with every caption ``[B, C]`` of the batch, divided by
    ``temperature``, scored by cross-entropy with each image's own caption as the answer (and each
    caption's own image), averaged over both directions. Unlike the matching-aware loss's one mismatched
    pair per image, every other caption of the batch is a negative, including those that differ from the
    image's in one part only. With ``class_ids`` ``[B]``, the other rows of an image's own class are left
    out of its negatives (a caption of the same species describes the image too; ``-1``: no class). A
    batch of one has no negatives: zero. Under DDP each process scores its own batch (no all-gather), so
    the negatives are the local batch's. ``hard_negative_embeds`` ``[B, K, C]`` (or ``[B, C]``: K = 1) adds
    K more captions to each image's negatives (row ``i``'s to image ``i``'s, where ``hard_negative_mask``
    ``[B, K]`` is True; all of them without a mask): NegCLIP's hard negatives (:mod:`.negatives`). The
    caption-to-image direction is unchanged."""
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


def low_resolution_consistency_loss(high_res: torch.Tensor, low_res: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between each Stage-II image, average-pooled to its Stage-I image's size, and
    that Stage-I image: Stage-II may add detail, but the colours *where they are* stay Stage-I's (StackGAN++'s
    colour-consistency term matches only whole-image colour statistics). Not in StackGAN-v1."""
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
