"""One StackGAN training step (discriminator update, then generator update), shared by the trainer and the
benchmarks so that both time exactly the same arithmetic."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..models.discriminator import discriminator_condition, unwrap_discriminator
from .augment import diff_augment
from .losses import (
    DiscriminatorLosses,
    colour_consistency_loss,
    discriminator_loss,
    generator_adversarial_loss,
    kl_divergence,
    low_resolution_consistency_loss,
    matching_aware_gradient_penalty,
    text_image_contrastive_loss,
)


@dataclass(frozen=True)
class AdversarialOptions:
    """How the two networks play, beyond StackGAN-v1 (whose values are the defaults).

    ``loss``: ``"bce"`` (StackGAN) or ``"hinge"`` (DF-GAN); ``ma_gp_weight`` > 0 adds DF-GAN's
    matching-aware gradient penalty with ``ma_gp_power`` (DF-GAN: 2 and 6); ``diffaugment``: the DiffAugment
    policy applied to every image the discriminator sees, e.g. ``("translation", "cutout")``;
    ``contrastive_weight`` > 0 adds XMC-GAN's image-caption contrastive loss in the projection head's space,
    on the real images in the discriminator's step and on the fakes in the generator's (temperature
    ``contrastive_temperature``; XMC-GAN: 0.1); ``hard_negatives_mismatched``: the hard negative captions
    (``hard_negative_text``) also pair with the real images as mismatched pairs in the matching-aware loss;
    ``mismatched_pairs``: ``"images"`` (StackGAN: the ``mismatched`` images with this batch's captions) or
    ``"captions"`` (DF-GAN: each real image with the caption of the next row of another class, see
    :func:`other_class_rows`, scored from the real images' features).
    """

    loss: str = "bce"
    ma_gp_weight: float = 0.0
    ma_gp_power: float = 6.0
    diffaugment: tuple[str, ...] = ()
    contrastive_weight: float = 0.0
    contrastive_temperature: float = 0.1
    hard_negatives_mismatched: bool = False
    mismatched_pairs: str = "images"


def other_class_rows(batch_size: int, class_ids: torch.Tensor | None, device=None) -> torch.Tensor:
    """For each row ``i`` of a batch, the first row after it (cyclically) whose class differs, or ``-1``
    when every row has its class: the caption a real image is mismatched with. Without classes, row
    ``i + 1`` (DF-GAN's shifted captions)."""
    rows = torch.arange(batch_size, device=device)
    if class_ids is None:
        return (rows + 1) % batch_size if batch_size > 1 else torch.full_like(rows, -1)
    class_ids = class_ids.to(device)
    shifts = torch.arange(1, batch_size, device=device)
    candidates = (rows[:, None] + shifts[None, :]) % batch_size  # [B, B - 1], nearest first
    differs = class_ids[candidates] != class_ids[:, None]
    first = differs.int().argmax(dim=1)  # the first True (0 when none)
    found = differs.any(dim=1)
    return torch.where(found, candidates[rows, first], torch.full_like(rows, -1))


@contextlib.contextmanager
def _frozen(module: torch.nn.Module):
    """``module``'s parameters without gradients for the block: the generator's backward pass through the
    discriminator then computes the gradients of the discriminator's inputs only, not of its weights, which
    the generator step would throw away (on the quickstart's CPU step, a tenth of its time)."""
    trainable = [p for p in module.parameters() if p.requires_grad]
    for parameter in trainable:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter in trainable:
            parameter.requires_grad_(True)


@dataclass
class StepOutputs:
    d_losses: DiscriminatorLosses
    g_loss: torch.Tensor
    adversarial: torch.Tensor
    kl: torch.Tensor
    real_logits: torch.Tensor
    mismatched_logits: torch.Tensor
    fake_logits: torch.Tensor
    mu: torch.Tensor
    gradient_penalty: torch.Tensor | None = None
    matching: torch.Tensor | None = None
    contrastive: torch.Tensor | None = None  # the discriminator's (on real images)


def stackgan_step(
    generator,
    discriminator,
    g_optimizer,
    d_optimizer,
    text: torch.Tensor,
    real: torch.Tensor,
    mismatched: torch.Tensor | None,
    rng: torch.Generator,
    noise_dim: int,
    kl_coefficient: float,
    stage1_generator=None,
    color_consistency_coefficient: float = 0.0,
    options: AdversarialOptions = AdversarialOptions(),
    low_res_consistency_coefficient: float = 0.0,
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    backward: Callable[[torch.Tensor], None] = torch.Tensor.backward,
    discriminator_no_sync: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    matching_loss: Callable[[torch.Tensor], torch.Tensor] | None = None,
    matching_coefficient: float = 0.0,
    class_ids: torch.Tensor | None = None,
    hard_negative_text: torch.Tensor | None = None,
    hard_negative_mask: torch.Tensor | None = None,
) -> StepOutputs:
    """Stage-I when ``stage1_generator`` is None, else Stage-II over that frozen Stage-I generator.

    The discriminator learns real/matching -> real, real/mismatched -> fake, generated -> fake (conditioned
    on the raw text through its own projection, or on the generator's CA mean: see
    :func:`~stackgan_hf.models.discriminator_condition`); then the generator learns to have its fakes
    scored real, plus ``kl_coefficient`` times the CA's KL term (and, in Stage-II, the optional
    colour-consistency and low-resolution consistency terms; with ``matching_loss``,
    ``matching_coefficient`` times that text-image matching term of the fakes: see :mod:`.matching`).
    ``class_ids`` ``[B]`` (optional): the rows' classes, which the contrastive option keeps out of each
    other's negatives. ``hard_negative_text`` ``[B, K, D]`` (optional, with ``hard_negative_mask``
    ``[B, K]``): text embeddings of K more negative captions per row for the contrastive option
    (:mod:`.negatives`).
    ``options`` adds the non-StackGAN-v1 choices. ``rng`` draws the noise, the CA samples and the
    augmentations; ``autocast`` and ``backward`` are accelerate's (mixed precision, gradient scaling, DDP)
    or plain PyTorch's. The generator step runs with the discriminator's parameters frozen (no gradient for
    its weights is computed, only for its inputs) and inside ``discriminator_no_sync`` (accelerate's
    ``no_sync(discriminator)``), so DDP has nothing of the discriminator's to all-reduce.
    """
    augment = (lambda images: diff_augment(images, options.diffaugment, rng)) if options.diffaugment else None

    def contrastive_loss(features, condition):
        model = unwrap_discriminator(discriminator)
        image_embeds, text_embeds = model.joint_embeddings(features, condition)
        hard = None
        if hard_negative_text is not None:  # D's own projection of the raw text (checked by the config)
            flat = hard_negative_text.flatten(0, 1).to(condition.dtype)
            hard = model.joint_embeddings(features, flat)[1].view(*hard_negative_text.shape[:2], -1)
        return text_image_contrastive_loss(
            image_embeds,
            text_embeds,
            options.contrastive_temperature,
            class_ids=class_ids,
            hard_negative_embeds=hard,
            hard_negative_mask=hard_negative_mask,
        )

    def hard_mismatched_logits(features):
        """D's conditional logits of each real image with each of its existing hard negative captions, from
        the real images' features: encoding each image once per caption would give the same features (a
        batch of each image repeated K times has the real batch's statistics), at K times the cost."""
        k = hard_negative_text.shape[1]
        logits = unwrap_discriminator(discriminator).conditional_logits(
            features.repeat_interleave(k, dim=0), hard_negative_text.flatten(0, 1).to(features.dtype)
        )
        return (
            logits if hard_negative_mask is None else logits[hard_negative_mask.flatten().to(logits.device)]
        )

    def shifted_caption_logits(features, condition):
        """D's conditional logits of each real image with another class's caption from the batch, from the
        real images' features (rows with no such caption left out; a batch of one class: the next row's)."""
        other = other_class_rows(features.shape[0], class_ids, features.device)
        if not bool((other >= 0).any()):  # one class in the whole batch: the plain shift (DF-GAN's)
            other = other_class_rows(features.shape[0], None, features.device)
        keep = other >= 0
        return unwrap_discriminator(discriminator).conditional_logits(features[keep], condition[other[keep]])

    with autocast():
        noise = torch.randn(real.shape[0], noise_dim, generator=rng, device=real.device)
        if stage1_generator is None:
            fake, mu, logvar = generator(text, noise, generator=rng, return_dict=False)
        else:
            with torch.no_grad():
                low_res = stage1_generator(text, noise, generator=rng).images
            fake, mu, logvar = generator(low_res, text, generator=rng, return_dict=False)
        condition = discriminator_condition(discriminator, text, mu)
        real_in, mismatched_in, fake_in = real, mismatched, fake.detach()
        if augment is not None:
            real_in, fake_in = augment(real_in), augment(fake_in)
            mismatched_in = augment(mismatched_in) if mismatched is not None else None
        penalty = None
        if options.ma_gp_weight > 0:
            real_in = real_in.detach().requires_grad_(True)
            condition = condition.detach().requires_grad_(True)
        real_features, real_logits, real_uncond = discriminator(real_in, condition, return_dict=False)
        if options.mismatched_pairs == "captions":
            mismatched_logits = shifted_caption_logits(real_features, condition)
        else:
            _, mismatched_logits, _ = discriminator(mismatched_in, condition, return_dict=False)
        _, fake_logits, fake_uncond = discriminator(fake_in, condition, return_dict=False)
        all_mismatched = mismatched_logits
        if options.hard_negatives_mismatched and hard_negative_text is not None:
            all_mismatched = torch.cat([mismatched_logits, hard_mismatched_logits(real_features)])
        d_losses = discriminator_loss(
            real_logits, all_mismatched, fake_logits, real_uncond, fake_uncond, loss=options.loss
        )
        d_total = d_losses.total
        contrastive = None
        if options.contrastive_weight > 0:
            contrastive = contrastive_loss(real_features, condition)
            d_total = d_total + options.contrastive_weight * contrastive
        if options.ma_gp_weight > 0:
            penalty = matching_aware_gradient_penalty(
                real_logits, real_in, condition, options.ma_gp_weight, options.ma_gp_power
            )
            d_total = d_total + penalty
            condition = condition.detach()
    d_optimizer.zero_grad(set_to_none=True)
    backward(d_total)
    d_optimizer.step()

    with discriminator_no_sync(), _frozen(discriminator):
        with autocast():
            fake_in = augment(fake) if augment is not None else fake
            fake_features_g, fake_logits_g, fake_uncond_g = discriminator(
                fake_in, condition, return_dict=False
            )
            adversarial = generator_adversarial_loss(fake_logits_g, fake_uncond_g, loss=options.loss)
            kl = kl_divergence(mu, logvar)
            g_loss = adversarial + kl_coefficient * kl
            if options.contrastive_weight > 0:
                g_loss = g_loss + options.contrastive_weight * contrastive_loss(fake_features_g, condition)
            if stage1_generator is not None and color_consistency_coefficient > 0:
                g_loss = g_loss + color_consistency_coefficient * colour_consistency_loss(fake, low_res)
            if stage1_generator is not None and low_res_consistency_coefficient > 0:
                g_loss = g_loss + low_res_consistency_coefficient * low_resolution_consistency_loss(
                    fake, low_res
                )
            matching = None
            if matching_loss is not None and matching_coefficient > 0:
                matching = matching_loss(fake)
                g_loss = g_loss + matching_coefficient * matching
        g_optimizer.zero_grad(set_to_none=True)
        backward(g_loss)
        g_optimizer.step()
    return StepOutputs(
        d_losses,
        g_loss,
        adversarial,
        kl,
        real_logits,
        mismatched_logits,
        fake_logits,
        mu.detach(),
        penalty.detach() if penalty is not None else None,
        matching.detach() if matching is not None else None,
        contrastive.detach() if contrastive is not None else None,
    )
