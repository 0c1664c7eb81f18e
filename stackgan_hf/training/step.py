"""One StackGAN training step (discriminator update, then generator update), shared by the trainer and the
benchmarks so that both time exactly the same arithmetic."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .losses import (
    DiscriminatorLosses,
    colour_consistency_loss,
    discriminator_loss,
    generator_adversarial_loss,
    kl_divergence,
)


@dataclass
class StepOutputs:
    d_losses: DiscriminatorLosses
    g_loss: torch.Tensor
    adversarial: torch.Tensor
    kl: torch.Tensor
    real_logits: torch.Tensor
    mismatched_logits: torch.Tensor
    fake_logits: torch.Tensor


def stackgan_step(
    generator,
    discriminator,
    g_optimizer,
    d_optimizer,
    text: torch.Tensor,
    real: torch.Tensor,
    mismatched: torch.Tensor,
    rng: torch.Generator,
    noise_dim: int,
    kl_coefficient: float,
    stage1_generator=None,
    color_consistency_coefficient: float = 0.0,
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    backward: Callable[[torch.Tensor], None] = torch.Tensor.backward,
) -> StepOutputs:
    """Stage-I when ``stage1_generator`` is None, else Stage-II over that frozen Stage-I generator.

    The discriminator learns real/matching -> 1, real/mismatched -> 0, fake -> 0; then the generator learns
    to have its fakes scored real, plus ``kl_coefficient`` times the CA's KL term (and, in Stage-II, the
    optional colour-consistency term). ``rng`` draws the noise and the CA samples; ``autocast`` and
    ``backward`` are accelerate's (mixed precision, gradient scaling, DDP) or plain PyTorch's.
    """
    with autocast():
        noise = torch.randn(real.shape[0], noise_dim, generator=rng, device=real.device)
        if stage1_generator is None:
            fake, mu, logvar = generator(text, noise, generator=rng, return_dict=False)
        else:
            with torch.no_grad():
                low_res = stage1_generator(text, noise, generator=rng).images
            fake, mu, logvar = generator(low_res, text, generator=rng, return_dict=False)
        condition = mu.detach()
        _, real_logits, real_uncond = discriminator(real, condition, return_dict=False)
        _, mismatched_logits, _ = discriminator(mismatched, condition, return_dict=False)
        _, fake_logits, fake_uncond = discriminator(fake.detach(), condition, return_dict=False)
        d_losses = discriminator_loss(real_logits, mismatched_logits, fake_logits, real_uncond, fake_uncond)
    d_optimizer.zero_grad(set_to_none=True)
    backward(d_losses.total)
    d_optimizer.step()

    with autocast():
        _, fake_logits_g, fake_uncond_g = discriminator(fake, condition, return_dict=False)
        adversarial = generator_adversarial_loss(fake_logits_g, fake_uncond_g)
        kl = kl_divergence(mu, logvar)
        g_loss = adversarial + kl_coefficient * kl
        if stage1_generator is not None and color_consistency_coefficient > 0:
            g_loss = g_loss + color_consistency_coefficient * colour_consistency_loss(fake, low_res)
    g_optimizer.zero_grad(set_to_none=True)
    backward(g_loss)
    g_optimizer.step()
    return StepOutputs(d_losses, g_loss, adversarial, kl, real_logits, mismatched_logits, fake_logits)
