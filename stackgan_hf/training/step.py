"""One StackGAN training step: the discriminator's update, then the generator's.

:func:`discriminator_step` and :func:`generator_step` are the two halves; :func:`stackgan_step` runs them on
one batch and :func:`accumulated_stackgan_step` on several micro-batches (gradient accumulation). The
trainer and the benchmarks share them, so both time the same arithmetic.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from ..models.discriminator import discriminator_condition, unwrap_discriminator
from .augment import diff_augment
from .losses import (
    DiscriminatorLosses,
    color_consistency_loss,
    discriminator_loss,
    generator_adversarial_loss,
    kl_divergence,
    low_resolution_consistency_loss,
    text_image_contrastive_loss,
)


@dataclass(frozen=True)
class LossWeights:
    """The weights of the loss terms, named as the training config's fields (0 turns a term off).

    Args:
        kl_coefficient: the conditioning augmentation's KL term (the TF original: 2).
        contrastive_coefficient: XMC-GAN's image-caption contrastive loss in the projection head's space.
        color_consistency_coefficient: Stage-II: StackGAN++'s color-consistency term.
        low_res_consistency_coefficient: Stage-II: L1 between the pooled Stage-II image and its Stage-I image.
    """

    kl_coefficient: float = 2.0
    contrastive_coefficient: float = 0.0
    color_consistency_coefficient: float = 0.0
    low_res_consistency_coefficient: float = 0.0


@dataclass(frozen=True)
class AdversarialOptions:
    """How the discriminator sees its pairs, beyond StackGAN-v1 (whose values are the defaults).

    Args:
        diffaugment: the DiffAugment policy on every image the discriminator sees, e.g.
            ``("translation", "cutout")``.
        mismatched_pairs: ``"images"`` (StackGAN: another class's image with this caption) or ``"captions"``
            (DF-GAN: this image with another class's caption from the batch, see :func:`other_class_rows`).
        contrastive_temperature: the contrastive loss's temperature (XMC-GAN: 0.1).
    """

    diffaugment: tuple[str, ...] = ()
    mismatched_pairs: str = "images"
    contrastive_temperature: float = 0.1


@dataclass(frozen=True)
class StepHooks:
    """accelerate's hooks (mixed precision, gradient scaling, DDP), or plain PyTorch's by default."""

    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
    backward: Callable[[torch.Tensor], None] = torch.Tensor.backward
    no_sync: Callable[[torch.nn.Module], contextlib.AbstractContextManager] = field(
        default=lambda model: contextlib.nullcontext()
    )


PLAIN_HOOKS = StepHooks()


@dataclass
class StepBatch:
    """One batch (or micro-batch) of a step.

    Args:
        text: the text embeddings ``[B, D]``.
        real: the real images ``[B, 3, S, S]``.
        mismatched: other classes' images ``[B, 3, S, S]`` (``mismatched_pairs="images"``).
        class_ids: the rows' classes ``[B]``, kept out of each other's contrastive negatives.
        hard_negative_text: ``[B, K, D]`` hard negative captions' embeddings (:mod:`.negatives`);
            ``hard_negative_mask`` ``[B, K]`` says which exist.
    """

    text: torch.Tensor
    real: torch.Tensor
    mismatched: torch.Tensor | None = None
    class_ids: torch.Tensor | None = None
    hard_negative_text: torch.Tensor | None = None
    hard_negative_mask: torch.Tensor | None = None


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
    contrastive: torch.Tensor | None = None  # the discriminator's (on real images)


@dataclass
class Generated:
    """A batch's fakes and what made them: the CA's ``mu`` and ``logvar``, and (Stage-II) Stage-I's
    ``low_res``."""

    fake: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor
    low_res: torch.Tensor | None = None


@dataclass
class DiscriminatorTerms:
    total: torch.Tensor  # what the discriminator's backward takes
    losses: DiscriminatorLosses
    real_logits: torch.Tensor
    mismatched_logits: torch.Tensor
    fake_logits: torch.Tensor
    condition: torch.Tensor  # what the generator's pass through the discriminator is conditioned on
    contrastive: torch.Tensor | None


@dataclass
class GeneratorTerms:
    loss: torch.Tensor
    adversarial: torch.Tensor
    kl: torch.Tensor


@dataclass
class StackGANGame:
    """The networks and loss settings of a step: Stage-I when ``stage1_generator`` is None, else Stage-II
    over that frozen Stage-I generator."""

    generator: torch.nn.Module
    discriminator: torch.nn.Module
    noise_dim: int
    weights: LossWeights = LossWeights()
    options: AdversarialOptions = AdversarialOptions()
    stage1_generator: torch.nn.Module | None = None

    def augment(self, images: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        return diff_augment(images, self.options.diffaugment, rng) if self.options.diffaugment else images

    def generate(self, text: torch.Tensor, noise: torch.Tensor, rng: torch.Generator) -> Generated:
        """Stage-I's images, or Stage-II's over the frozen Stage-I's."""
        if self.stage1_generator is None:
            return Generated(*self.generator(text, noise, generator=rng, return_dict=False))
        with torch.no_grad():
            low_res = self.stage1_generator(text, noise, generator=rng).images
        fake, mu, logvar = self.generator(low_res, text, generator=rng, return_dict=False)
        return Generated(fake, mu, logvar, low_res)

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
        """D's logits of each real image with each of its hard negative captions, from the real images'
        features (a batch of each image repeated K times has the real batch's statistics)."""
        k = batch.hard_negative_text.shape[1]
        logits = unwrap_discriminator(self.discriminator).conditional_logits(
            features.repeat_interleave(k, dim=0), batch.hard_negative_text.flatten(0, 1).to(features.dtype)
        )
        mask = batch.hard_negative_mask
        return logits if mask is None else logits[mask.flatten().to(logits.device)]

    def shifted_caption_logits(self, batch: StepBatch, features, condition):
        """D's logits of each real image with another class's caption from the batch (rows with no such
        caption left out; a batch of one class: the next row's)."""
        other = other_class_rows(features.shape[0], batch.class_ids, features.device)
        if not bool((other >= 0).any()):  # one class in the whole batch: the plain shift (DF-GAN's)
            other = other_class_rows(features.shape[0], None, features.device)
        keep = other >= 0
        return unwrap_discriminator(self.discriminator).conditional_logits(
            features[keep], condition[other[keep]]
        )

    def discriminator_terms(self, batch: StepBatch, generated: Generated, rng) -> DiscriminatorTerms:
        """The discriminator's loss on real/matching, real/mismatched and (detached) fake pairs."""
        condition = discriminator_condition(self.discriminator, batch.text, generated.mu)
        real_in, mismatched_in, fake_in = batch.real, batch.mismatched, generated.fake.detach()
        if self.options.diffaugment:
            real_in, fake_in = self.augment(real_in, rng), self.augment(fake_in, rng)
            mismatched_in = self.augment(mismatched_in, rng) if batch.mismatched is not None else None
        real_features, real_logits = self.discriminator(real_in, condition, return_dict=False)
        if self.options.mismatched_pairs == "captions":
            mismatched_logits = self.shifted_caption_logits(batch, real_features, condition)
        else:
            _, mismatched_logits = self.discriminator(mismatched_in, condition, return_dict=False)
        _, fake_logits = self.discriminator(fake_in, condition, return_dict=False)
        all_mismatched = mismatched_logits  # and the hard negative captions' pairs, when the batch has them
        if batch.hard_negative_text is not None:
            all_mismatched = torch.cat([mismatched_logits, self.hard_mismatched_logits(batch, real_features)])
        losses = discriminator_loss(real_logits, all_mismatched, fake_logits)
        total, contrastive = losses.total, None
        if self.weights.contrastive_coefficient > 0:
            contrastive = self.contrastive_loss(batch, real_features, condition)
            total = total + self.weights.contrastive_coefficient * contrastive
        return DiscriminatorTerms(
            total, losses, real_logits, mismatched_logits, fake_logits, condition, contrastive
        )

    def generator_terms(self, batch: StepBatch, generated: Generated, condition, rng) -> GeneratorTerms:
        """The generator's loss: its fakes scored real by the (frozen) discriminator, the KL term and the
        optional terms."""
        weights, fake, low_res = self.weights, generated.fake, generated.low_res
        features, logits = self.discriminator(self.augment(fake, rng), condition, return_dict=False)
        adversarial = generator_adversarial_loss(logits)
        kl = kl_divergence(generated.mu, generated.logvar)
        loss = adversarial + weights.kl_coefficient * kl
        if weights.contrastive_coefficient > 0:
            loss = loss + weights.contrastive_coefficient * self.contrastive_loss(batch, features, condition)
        if low_res is not None and weights.color_consistency_coefficient > 0:
            loss = loss + weights.color_consistency_coefficient * color_consistency_loss(fake, low_res)
        if low_res is not None and weights.low_res_consistency_coefficient > 0:
            loss = loss + weights.low_res_consistency_coefficient * low_resolution_consistency_loss(
                fake, low_res
            )
        return GeneratorTerms(loss, adversarial, kl)


def discriminator_step(
    game: StackGANGame, optimizer, batch: StepBatch, rng: torch.Generator, hooks: StepHooks = PLAIN_HOOKS
) -> tuple[DiscriminatorTerms, Generated]:
    """Draws the noise, generates the batch's fakes (kept with their graph for :func:`generator_step`) and
    updates the discriminator: real/matching -> real, real/mismatched -> fake, generated -> fake."""
    with hooks.autocast():
        noise = torch.randn(batch.real.shape[0], game.noise_dim, generator=rng, device=batch.real.device)
        generated = game.generate(batch.text, noise, rng)
        terms = game.discriminator_terms(batch, generated, rng)
    optimizer.zero_grad(set_to_none=True)
    hooks.backward(terms.total)
    optimizer.step()
    return terms, generated


def generator_step(
    game: StackGANGame,
    optimizer,
    batch: StepBatch,
    generated: Generated,
    condition: torch.Tensor,
    rng: torch.Generator,
    hooks: StepHooks = PLAIN_HOOKS,
) -> GeneratorTerms:
    """Updates the generator to have ``generated`` scored real, with the discriminator's parameters frozen
    (only its inputs' gradients are computed) and outside DDP's gradient sync of the discriminator."""
    with hooks.no_sync(game.discriminator), _frozen(game.discriminator):
        with hooks.autocast():
            terms = game.generator_terms(batch, generated, condition, rng)
        optimizer.zero_grad(set_to_none=True)
        hooks.backward(terms.loss)
        optimizer.step()
    return terms


def stackgan_step(
    game: StackGANGame,
    g_optimizer,
    d_optimizer,
    batch: StepBatch,
    rng: torch.Generator,
    hooks: StepHooks = PLAIN_HOOKS,
) -> StepOutputs:
    """One update of each network: :func:`discriminator_step`, then :func:`generator_step` on the same fakes.

    Args:
        game: the networks and loss settings.
        g_optimizer, d_optimizer: the two optimizers.
        batch: the batch.
        rng: draws the noise, the CA samples and the augmentations.
        hooks: accelerate's autocast, backward and no_sync.

    Returns:
        The step's losses, logits and CA means (:class:`StepOutputs`).
    """
    d, generated = discriminator_step(game, d_optimizer, batch, rng, hooks)
    g = generator_step(game, g_optimizer, batch, generated, d.condition, rng, hooks)
    return StepOutputs(
        d.losses,
        g.loss,
        g.adversarial,
        g.kl,
        d.real_logits,
        d.mismatched_logits,
        d.fake_logits,
        generated.mu.detach(),
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


def _accumulated_discriminator_step(game, optimizer, batches, noises, weights, rng, hooks):
    """The discriminator's gradients summed over the micro-batches (fakes made without a graph), one
    update. Returns each micro-batch's terms and the rng state before its CA samples."""
    optimizer.zero_grad(set_to_none=True)
    rng_states, terms = [], []
    for index, batch in enumerate(batches):
        rng_states.append(rng.get_state())
        with _no_sync_unless_last(hooks.no_sync, game.discriminator, index, len(batches)):
            with hooks.autocast():
                with torch.no_grad(), _batch_norm_statistics_kept(game.generator):
                    generated = game.generate(batch.text, noises[index], rng)
                d = game.discriminator_terms(batch, generated, rng)
            hooks.backward(d.total * weights[index])
        terms.append(d)
    optimizer.step()
    return terms, rng_states


def _accumulated_generator_step(game, optimizer, batches, noises, weights, rng_states, d_terms, rng, hooks):
    """The generator's gradients summed over the micro-batches against the updated discriminator, each
    micro-batch's fakes made again from the same noise and CA samples, one update."""
    optimizer.zero_grad(set_to_none=True)
    terms, mus = [], []
    with hooks.no_sync(game.discriminator), _frozen(game.discriminator):
        for index, batch in enumerate(batches):
            augment_state = rng.get_state()  # the augmentations draw on; the CA samples are the D pass's
            rng.set_state(rng_states[index])
            with _no_sync_unless_last(hooks.no_sync, game.generator, index, len(batches)):
                with hooks.autocast():
                    generated = game.generate(batch.text, noises[index], rng)
                    rng.set_state(augment_state)
                    g = game.generator_terms(batch, generated, d_terms[index].condition, rng)
                hooks.backward(g.loss * weights[index])
            terms.append(g)
            mus.append(generated.mu.detach())
    optimizer.step()
    return terms, mus


def accumulated_stackgan_step(
    game: StackGANGame,
    g_optimizer,
    d_optimizer,
    batches: Sequence[StepBatch],
    rng: torch.Generator,
    hooks: StepHooks = PLAIN_HOOKS,
) -> StepOutputs:
    """:func:`stackgan_step` with gradient accumulation over the micro-batches ``batches``.

    The discriminator accumulates over all of them and steps, then the generator against the updated
    discriminator; losses are weighted by their share of rows. Equal to one big step up to rounding unless a
    term couples rows (BatchNorm, the contrastive loss, ``mismatched_pairs="captions"``). Returns mean losses,
    all rows' logits and CA means.
    """
    rows = [batch.real.shape[0] for batch in batches]
    weights = [size / sum(rows) for size in rows]
    device = batches[0].real.device
    noises = torch.randn(sum(rows), game.noise_dim, generator=rng, device=device).split(rows)
    d_terms, rng_states = _accumulated_discriminator_step(
        game, d_optimizer, batches, noises, weights, rng, hooks
    )
    g_terms, mus = _accumulated_generator_step(
        game, g_optimizer, batches, noises, weights, rng_states, d_terms, rng, hooks
    )

    def mean(values):
        return _weighted_mean(values, weights)

    names = ("total", "real", "mismatched", "fake")
    d_losses = DiscriminatorLosses(*(mean([getattr(d.losses, name) for d in d_terms]) for name in names))
    return StepOutputs(
        d_losses,
        mean([g.loss for g in g_terms]),
        mean([g.adversarial for g in g_terms]),
        mean([g.kl for g in g_terms]),
        torch.cat([d.real_logits.detach() for d in d_terms]),
        torch.cat([d.mismatched_logits.detach() for d in d_terms]),
        torch.cat([d.fake_logits.detach() for d in d_terms]),
        torch.cat(mus),
        mean([d.contrastive for d in d_terms]),
    )
