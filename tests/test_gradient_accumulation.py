"""Gradient accumulation in the StackGAN step: 2 micro-batches of 8 make the update one batch of 16 makes.

In train mode the two cannot agree: BatchNorm normalizes each micro-batch by its own statistics, so the
activations themselves differ. The comparison is therefore made with both networks in eval mode (BatchNorm
a fixed affine map per row, from its running statistics), where every loss term of these options is a
mean of per-row terms; what it checks is the bookkeeping, which train mode shares: the discriminator's
gradients summed over the micro-batches and weighted by their rows, the generator's taken after the
discriminator's update from the same fakes (same noise, same CA samples), one optimizer step each.
"""

from __future__ import annotations

import copy

import pytest
import torch

from stackgan_hf import StackGANStage1Discriminator, StackGANStage1Generator
from stackgan_hf.training.step import (
    AdversarialOptions,
    LossWeights,
    StackGANGame,
    StepBatch,
    accumulated_stackgan_step,
    stackgan_step,
)

TEXT_DIM, NOISE_DIM, CONDITION_DIM = 16, 8, 4


def _networks(head: str):
    torch.manual_seed(0)
    generator = StackGANStage1Generator(
        text_embedding_dim=TEXT_DIM, noise_dim=NOISE_DIM, condition_dim=CONDITION_DIM, base_channels=16
    )
    discriminator = StackGANStage1Discriminator(
        condition_dim=CONDITION_DIM,
        base_channels=4,
        text_embedding_dim=TEXT_DIM,
        conditional_head_type=head,
    )
    return generator, discriminator


def _batch(rows: int = 16):
    torch.manual_seed(1)
    text = torch.randn(rows, TEXT_DIM)
    real, mismatched = torch.rand(rows, 3, 64, 64) * 2 - 1, torch.rand(rows, 3, 64, 64) * 2 - 1
    return text, real, mismatched


WEIGHTS = LossWeights(kl_coefficient=2.0)


def _run(generator, discriminator, train_mode: bool, step, options=None):
    generator, discriminator = copy.deepcopy(generator), copy.deepcopy(discriminator)
    generator.train(train_mode)
    discriminator.train(train_mode)
    g_optimizer = torch.optim.SGD(generator.parameters(), lr=0.1)
    d_optimizer = torch.optim.SGD(discriminator.parameters(), lr=0.1)
    game = StackGANGame(generator, discriminator, NOISE_DIM, WEIGHTS, options or AdversarialOptions())
    out = step(game, g_optimizer, d_optimizer, torch.Generator().manual_seed(0))
    return generator, discriminator, out


def _assert_same_update(single, accumulated, **tolerance):
    for network in (0, 1):  # generator, discriminator
        named = dict(accumulated[network].named_parameters())
        for name, parameter in single[network].named_parameters():
            torch.testing.assert_close(named[name].grad, parameter.grad, **tolerance, msg=name)
            torch.testing.assert_close(named[name], parameter, **tolerance, msg=name)
        for name, buffer in single[network].named_buffers():
            torch.testing.assert_close(dict(accumulated[network].named_buffers())[name], buffer, msg=name)


def test_the_cpu_generator_draws_the_same_normals_in_one_call_or_two():
    """The premise of comparing 2 x 8 with 16 rows: the full batch draws the CA samples of its 16 rows in
    one call, the accumulated step 8 and 8 in turn; PyTorch's CPU generator gives the same numbers when
    each part is a multiple of 16 values (8 rows x CONDITION_DIM 4 here). If this fails, the comparisons
    below fail for this reason, not for accumulation."""
    whole = torch.randn(2 * 8 * CONDITION_DIM, generator=torch.Generator().manual_seed(5))
    rng = torch.Generator().manual_seed(5)
    parts = torch.cat([torch.randn(8 * CONDITION_DIM, generator=rng) for _ in range(2)])
    assert torch.equal(whole, parts)


def one_batch(text, real, mismatched):
    def step(game, g_opt, d_opt, rng):
        return stackgan_step(game, g_opt, d_opt, StepBatch(text, real, mismatched), rng)

    return step


def two_micro_batches(text, real, mismatched):
    def step(game, g_opt, d_opt, rng):
        halves = [StepBatch(text[i : i + 8], real[i : i + 8], mismatched[i : i + 8]) for i in (0, 8)]
        return accumulated_stackgan_step(game, g_opt, d_opt, halves, rng)

    return step


@pytest.mark.parametrize("head", ["concat", "projection"])
def test_two_micro_batches_of_8_update_as_one_batch_of_16(head):
    generator, discriminator = _networks(head)
    batch = _batch(16)
    single = _run(generator, discriminator, False, one_batch(*batch))
    accumulated = _run(generator, discriminator, False, two_micro_batches(*batch))
    _assert_same_update(single, accumulated, rtol=1e-4, atol=1e-6)
    one, two = single[2], accumulated[2]
    for field in ("total", "real", "mismatched", "fake"):
        torch.testing.assert_close(getattr(two.d_losses, field), getattr(one.d_losses, field).detach())
    for field in ("g_loss", "adversarial", "kl", "real_logits", "mismatched_logits", "fake_logits", "mu"):
        torch.testing.assert_close(getattr(two, field), getattr(one, field).detach(), msg=field)
    # Not a vacuous comparison: both networks moved.
    for network, before in zip(accumulated[:2], (generator, discriminator)):
        moved = [not torch.equal(p, q) for p, q in zip(network.parameters(), before.parameters())]
        assert sum(moved) > len(moved) // 2


def test_in_train_mode_batch_norm_makes_micro_batches_differ_from_the_batch():
    """What accumulation does not give (documented with the option): BatchNorm's statistics are each
    micro-batch's, so the update differs from the 16-row batch's."""
    generator, discriminator = _networks("concat")
    batch = _batch(16)
    single = _run(generator, discriminator, True, one_batch(*batch))
    accumulated = _run(generator, discriminator, True, two_micro_batches(*batch))
    with pytest.raises(AssertionError):
        _assert_same_update(single, accumulated, rtol=1e-4, atol=1e-6)


def test_one_micro_batch_in_train_mode_is_the_plain_step_exactly():
    """The accumulated step's own machinery (fakes made again from the same random draws, BatchNorm running
    statistics counted once) adds nothing: with one micro-batch it is the plain step, in train mode."""
    generator, discriminator = _networks("projection")
    batch = StepBatch(*_batch(8))
    options = AdversarialOptions(diffaugment=("translation", "cutout"), mismatched_pairs="captions")

    def plain(game, g_opt, d_opt, rng):
        return stackgan_step(game, g_opt, d_opt, batch, rng)

    def accumulated_one(game, g_opt, d_opt, rng):
        return accumulated_stackgan_step(game, g_opt, d_opt, [batch], rng)

    single = _run(generator, discriminator, True, plain, options)
    accumulated = _run(generator, discriminator, True, accumulated_one, options)
    _assert_same_update(single, accumulated, rtol=0, atol=0)
    norms = [m for m in accumulated[0].modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(int(m.num_batches_tracked) == 1 for m in norms)
