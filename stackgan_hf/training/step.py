"""One StackGAN training step (discriminator update, then generator update), shared by the trainer and the
benchmarks so that both time exactly the same arithmetic, and the same step over several micro-batches
(gradient accumulation, :func:`accumulated_stackgan_step`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
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


@contextlib.contextmanager
def _batch_norm_statistics_kept(module: torch.nn.Module):
    """``module``'s BatchNorm running statistics as they were before the block (a forward pass that must not
    count towards them)."""
    norms = [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [[buffer.clone() for buffer in norm.buffers()] for norm in norms]
    try:
        yield
    finally:
        with torch.no_grad():
            for norm, buffers in zip(norms, saved):
                for buffer, value in zip(norm.buffers(), buffers):
                    buffer.copy_(value)


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


@dataclass
class StepBatch:
    """One batch of a step, or one micro-batch of an accumulated step (:func:`accumulated_stackgan_step`):
    the text embeddings ``[B, D]``, the real and (optional) mismatched images, and the optional per-row
    extras of :func:`stackgan_step` (``matching_loss`` scores this batch's fakes)."""

    text: torch.Tensor
    real: torch.Tensor
    mismatched: torch.Tensor | None = None
    class_ids: torch.Tensor | None = None
    hard_negative_text: torch.Tensor | None = None
    hard_negative_mask: torch.Tensor | None = None
    matching_loss: Callable[[torch.Tensor], torch.Tensor] | None = None


@dataclass
class _DiscriminatorTerms:
    total: torch.Tensor  # what the discriminator's backward takes
    losses: DiscriminatorLosses
    real_logits: torch.Tensor
    mismatched_logits: torch.Tensor
    fake_logits: torch.Tensor
    condition: torch.Tensor  # what the generator's pass through the discriminator is conditioned on
    penalty: torch.Tensor | None
    contrastive: torch.Tensor | None


@dataclass
class _GeneratorTerms:
    loss: torch.Tensor
    adversarial: torch.Tensor
    kl: torch.Tensor
    matching: torch.Tensor | None


@dataclass
class _Game:
    """The two networks and the settings of a step; :func:`stackgan_step` and
    :func:`accumulated_stackgan_step` run its three parts (generate, the discriminator's terms, the
    generator's terms) in their orders."""

    generator: torch.nn.Module
    discriminator: torch.nn.Module
    noise_dim: int
    kl_coefficient: float
    stage1_generator: torch.nn.Module | None
    color_consistency_coefficient: float
    options: AdversarialOptions
    low_res_consistency_coefficient: float
    matching_coefficient: float

    def augment(self, images: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        return diff_augment(images, self.options.diffaugment, rng) if self.options.diffaugment else images

    def generate(self, text: torch.Tensor, noise: torch.Tensor, rng: torch.Generator):
        """(fake, mu, logvar, low_res): Stage-I's images, or Stage-II's over the frozen Stage-I's low_res."""
        if self.stage1_generator is None:
            fake, mu, logvar = self.generator(text, noise, generator=rng, return_dict=False)
            return fake, mu, logvar, None
        with torch.no_grad():
            low_res = self.stage1_generator(text, noise, generator=rng).images
        fake, mu, logvar = self.generator(low_res, text, generator=rng, return_dict=False)
        return fake, mu, logvar, low_res

    def contrastive_loss(self, batch: StepBatch, features, condition):
        model = unwrap_discriminator(self.discriminator)
        image_embeds, text_embeds = model.joint_embeddings(features, condition)
        hard = None
        if batch.hard_negative_text is not None:  # D's own projection of the raw text (checked by the config)
            flat = batch.hard_negative_text.flatten(0, 1).to(condition.dtype)
            hard = model.joint_embeddings(features, flat)[1].view(*batch.hard_negative_text.shape[:2], -1)
        return text_image_contrastive_loss(
            image_embeds,
            text_embeds,
            self.options.contrastive_temperature,
            class_ids=batch.class_ids,
            hard_negative_embeds=hard,
            hard_negative_mask=batch.hard_negative_mask,
        )

    def hard_mismatched_logits(self, batch: StepBatch, features):
        """D's conditional logits of each real image with each of its existing hard negative captions, from
        the real images' features: encoding each image once per caption would give the same features (a
        batch of each image repeated K times has the real batch's statistics), at K times the cost."""
        k = batch.hard_negative_text.shape[1]
        logits = unwrap_discriminator(self.discriminator).conditional_logits(
            features.repeat_interleave(k, dim=0), batch.hard_negative_text.flatten(0, 1).to(features.dtype)
        )
        mask = batch.hard_negative_mask
        return logits if mask is None else logits[mask.flatten().to(logits.device)]

    def shifted_caption_logits(self, batch: StepBatch, features, condition):
        """D's conditional logits of each real image with another class's caption from the batch, from the
        real images' features (rows with no such caption left out; a batch of one class: the next row's)."""
        other = other_class_rows(features.shape[0], batch.class_ids, features.device)
        if not bool((other >= 0).any()):  # one class in the whole batch: the plain shift (DF-GAN's)
            other = other_class_rows(features.shape[0], None, features.device)
        keep = other >= 0
        return unwrap_discriminator(self.discriminator).conditional_logits(
            features[keep], condition[other[keep]]
        )

    def discriminator_terms(self, batch: StepBatch, fake, mu, rng) -> _DiscriminatorTerms:
        """The discriminator's loss on real/matching, real/mismatched and (detached) fake pairs."""
        options, discriminator = self.options, self.discriminator
        condition = discriminator_condition(discriminator, batch.text, mu)
        real_in, mismatched_in, fake_in = batch.real, batch.mismatched, fake.detach()
        if options.diffaugment:
            real_in, fake_in = self.augment(real_in, rng), self.augment(fake_in, rng)
            mismatched_in = self.augment(mismatched_in, rng) if batch.mismatched is not None else None
        penalty = None
        if options.ma_gp_weight > 0:
            real_in = real_in.detach().requires_grad_(True)
            condition = condition.detach().requires_grad_(True)
        real_features, real_logits, real_uncond = discriminator(real_in, condition, return_dict=False)
        if options.mismatched_pairs == "captions":
            mismatched_logits = self.shifted_caption_logits(batch, real_features, condition)
        else:
            _, mismatched_logits, _ = discriminator(mismatched_in, condition, return_dict=False)
        _, fake_logits, fake_uncond = discriminator(fake_in, condition, return_dict=False)
        all_mismatched = mismatched_logits
        if options.hard_negatives_mismatched and batch.hard_negative_text is not None:
            all_mismatched = torch.cat([mismatched_logits, self.hard_mismatched_logits(batch, real_features)])
        d_losses = discriminator_loss(
            real_logits, all_mismatched, fake_logits, real_uncond, fake_uncond, loss=options.loss
        )
        d_total = d_losses.total
        contrastive = None
        if options.contrastive_weight > 0:
            contrastive = self.contrastive_loss(batch, real_features, condition)
            d_total = d_total + options.contrastive_weight * contrastive
        if options.ma_gp_weight > 0:
            penalty = matching_aware_gradient_penalty(
                real_logits, real_in, condition, options.ma_gp_weight, options.ma_gp_power
            )
            d_total = d_total + penalty
            condition = condition.detach()
        return _DiscriminatorTerms(
            d_total, d_losses, real_logits, mismatched_logits, fake_logits, condition, penalty, contrastive
        )

    def generator_terms(self, batch: StepBatch, fake, mu, logvar, low_res, condition, rng) -> _GeneratorTerms:
        """The generator's loss: its fakes scored real by the (frozen) discriminator, the KL term and the
        optional terms."""
        options = self.options
        fake_in = self.augment(fake, rng)
        fake_features_g, fake_logits_g, fake_uncond_g = self.discriminator(
            fake_in, condition, return_dict=False
        )
        adversarial = generator_adversarial_loss(fake_logits_g, fake_uncond_g, loss=options.loss)
        kl = kl_divergence(mu, logvar)
        g_loss = adversarial + self.kl_coefficient * kl
        if options.contrastive_weight > 0:
            g_loss = g_loss + options.contrastive_weight * self.contrastive_loss(
                batch, fake_features_g, condition
            )
        if self.stage1_generator is not None and self.color_consistency_coefficient > 0:
            g_loss = g_loss + self.color_consistency_coefficient * colour_consistency_loss(fake, low_res)
        if self.stage1_generator is not None and self.low_res_consistency_coefficient > 0:
            g_loss = g_loss + self.low_res_consistency_coefficient * low_resolution_consistency_loss(
                fake, low_res
            )
        matching = None
        if batch.matching_loss is not None and self.matching_coefficient > 0:
            matching = batch.matching_loss(fake)
            g_loss = g_loss + self.matching_coefficient * matching
        return _GeneratorTerms(g_loss, adversarial, kl, matching)


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
    game = _Game(
        generator,
        discriminator,
        noise_dim,
        kl_coefficient,
        stage1_generator,
        color_consistency_coefficient,
        options,
        low_res_consistency_coefficient,
        matching_coefficient,
    )
    batch = StepBatch(
        text, real, mismatched, class_ids, hard_negative_text, hard_negative_mask, matching_loss
    )
    with autocast():
        noise = torch.randn(real.shape[0], noise_dim, generator=rng, device=real.device)
        fake, mu, logvar, low_res = game.generate(text, noise, rng)
        d = game.discriminator_terms(batch, fake, mu, rng)
    d_optimizer.zero_grad(set_to_none=True)
    backward(d.total)
    d_optimizer.step()

    with discriminator_no_sync(), _frozen(discriminator):
        with autocast():
            g = game.generator_terms(batch, fake, mu, logvar, low_res, d.condition, rng)
        g_optimizer.zero_grad(set_to_none=True)
        backward(g.loss)
        g_optimizer.step()
    return StepOutputs(
        d.losses,
        g.loss,
        g.adversarial,
        g.kl,
        d.real_logits,
        d.mismatched_logits,
        d.fake_logits,
        mu.detach(),
        d.penalty.detach() if d.penalty is not None else None,
        g.matching.detach() if g.matching is not None else None,
        d.contrastive.detach() if d.contrastive is not None else None,
    )


def _no_sync_unless_last(no_sync, model, index: int, count: int) -> contextlib.AbstractContextManager:
    """DDP keeps a micro-batch's gradients local but for the last one's, which all-reduces the sum."""
    return no_sync(model) if index < count - 1 else contextlib.nullcontext()


def _weighted_mean(values, weights):
    """The mean over the update's rows of per-micro-batch means (None where the term is off)."""
    if values[0] is None:
        return None
    return sum(value.detach().float() * weight for value, weight in zip(values, weights))


def accumulated_stackgan_step(
    generator,
    discriminator,
    g_optimizer,
    d_optimizer,
    batches: Sequence[StepBatch],
    rng: torch.Generator,
    noise_dim: int,
    kl_coefficient: float,
    stage1_generator=None,
    color_consistency_coefficient: float = 0.0,
    options: AdversarialOptions = AdversarialOptions(),
    low_res_consistency_coefficient: float = 0.0,
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    backward: Callable[[torch.Tensor], None] = torch.Tensor.backward,
    no_sync: Callable[[torch.nn.Module], contextlib.AbstractContextManager] = (
        lambda model: contextlib.nullcontext()
    ),
    matching_coefficient: float = 0.0,
) -> StepOutputs:
    """:func:`stackgan_step` with gradient accumulation: one update of each network from the micro-batches
    ``batches`` (their rows together are the update's batch), for a batch that does not fit in memory.

    The order is the one-batch step's: the discriminator accumulates its gradients over every micro-batch
    (the generator's fakes made without a graph) and steps; then the generator accumulates its gradients
    over every micro-batch, against the updated discriminator, regenerating each micro-batch's fakes from
    the same noise and CA samples (``rng``'s state is put back; BatchNorm running statistics count each
    micro-batch once), and steps. accelerate's own ``accumulate`` steps each optimizer once every N
    micro-batches in the order D, G, D, G: the generator's gradients of all but the last micro-batch would
    then be taken against the discriminator before its update, which no batch of the full size does. Each
    micro-batch's loss is weighted by its share of the rows, so a gradient is the mean over the update's
    rows. ``no_sync`` is accelerate's: DDP all-reduces only the last micro-batch's backward (the sum).

    The update equals :func:`stackgan_step` on all the rows at once (up to float rounding) when no term
    couples a batch's rows: in train mode BatchNorm normalizes each micro-batch by its own statistics, and
    the contrastive loss's in-batch negatives, the matching loss, ``mismatched_pairs="captions"`` and
    minibatch standard deviation see one micro-batch at a time. The noise of the whole update is drawn at
    once, then each micro-batch's CA samples and augmentations in turn. Returns the losses as means over
    the update's rows, the logits and CA means of all its rows.
    """
    game = _Game(
        generator,
        discriminator,
        noise_dim,
        kl_coefficient,
        stage1_generator,
        color_consistency_coefficient,
        options,
        low_res_consistency_coefficient,
        matching_coefficient,
    )
    count = len(batches)
    rows = [batch.real.shape[0] for batch in batches]
    weights = [size / sum(rows) for size in rows]
    noises = torch.randn(sum(rows), noise_dim, generator=rng, device=batches[0].real.device).split(rows)

    d_optimizer.zero_grad(set_to_none=True)
    rng_states, d_terms = [], []
    for index, batch in enumerate(batches):
        rng_states.append(rng.get_state())
        with _no_sync_unless_last(no_sync, discriminator, index, count):
            with autocast():
                with torch.no_grad(), _batch_norm_statistics_kept(generator):
                    fake, mu, _, _ = game.generate(batch.text, noises[index], rng)
                d = game.discriminator_terms(batch, fake, mu, rng)
            backward(d.total * weights[index])
        d_terms.append(d)
    d_optimizer.step()

    g_optimizer.zero_grad(set_to_none=True)
    g_terms, mus = [], []
    with no_sync(discriminator), _frozen(discriminator):
        for index, batch in enumerate(batches):
            augment_state = rng.get_state()  # the augmentations draw on; the CA samples are the D pass's
            rng.set_state(rng_states[index])
            with _no_sync_unless_last(no_sync, generator, index, count):
                with autocast():
                    fake, mu, logvar, low_res = game.generate(batch.text, noises[index], rng)
                    rng.set_state(augment_state)
                    g = game.generator_terms(batch, fake, mu, logvar, low_res, d_terms[index].condition, rng)
                backward(g.loss * weights[index])
            g_terms.append(g)
            mus.append(mu.detach())
    g_optimizer.step()

    def mean(values):
        return _weighted_mean(values, weights)

    d_losses = DiscriminatorLosses(
        *(
            mean([getattr(d.losses, name) for d in d_terms])
            for name in ("total", "real", "mismatched", "fake")
        )
    )
    return StepOutputs(
        d_losses,
        mean([g.loss for g in g_terms]),
        mean([g.adversarial for g in g_terms]),
        mean([g.kl for g in g_terms]),
        torch.cat([d.real_logits.detach() for d in d_terms]),
        torch.cat([d.mismatched_logits.detach() for d in d_terms]),
        torch.cat([d.fake_logits.detach() for d in d_terms]),
        torch.cat(mus),
        mean([d.penalty for d in d_terms]),
        mean([g.matching for g in g_terms]),
        mean([d.contrastive for d in d_terms]),
    )
