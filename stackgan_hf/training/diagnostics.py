"""Is the text getting through? Conditioning diagnostics logged during training on a fixed held-out batch.

``ca_dead_units`` (share of the CA mean's units with batch standard deviation below 1e-3), ``mu_norm``
(mean L2 norm of ``mu``), ``heldout_acc_real`` / ``heldout_acc_mismatched`` (the discriminator's accuracy
on matching and mismatched pairs); its state is restored afterwards. Details: docs/theory.md,
"Conditioning diagnostics".
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import torch

from ..data import StackGANTrainingView, collate_training_batch
from ..models.discriminator import discriminator_condition
from .config import load_config_split

DEAD_UNIT_STD = 1e-3


@dataclasses.dataclass
class HeldOutBatch:
    """Fixed held-out images with one caption each; ``text`` is filled by :meth:`embedded`."""

    pixel_values: torch.Tensor
    captions: list[str]
    embeddings: torch.Tensor | None
    class_ids: torch.Tensor
    text: torch.Tensor | None = None

    def embedded(self, embed, device, memory_format=torch.contiguous_format) -> HeldOutBatch:
        """The batch on ``device`` with ``text`` = ``embed({"caption": ..., "embedding": ...})``."""
        batch = {"caption": self.captions}
        if self.embeddings is not None:
            batch["embedding"] = self.embeddings
        pixels = self.pixel_values.to(device).contiguous(memory_format=memory_format)
        with torch.no_grad():
            text = embed(batch).float()
        return dataclasses.replace(self, pixel_values=pixels, text=text)


def _view_batch(rows, crop_size: int, seed: int, embedding_mode: str = "one") -> HeldOutBatch:
    """``rows`` through the training view at epoch 0 (one fixed crop and caption each), as one batch."""
    view = StackGANTrainingView(rows, crop_size=crop_size, seed=seed, embedding_mode=embedding_mode)
    items = view.as_dataset()[:]
    batch = collate_training_batch(
        [{key: values[i] for key, values in items.items()} for i in range(len(rows))]
    )
    return HeldOutBatch(
        pixel_values=batch["pixel_values"],
        captions=batch["caption"],
        embeddings=batch.get("embedding"),
        class_ids=batch["class_id"],
    )


def _other_class(class_ids: torch.Tensor) -> torch.Tensor:
    """The mismatched pairs (image i, caption of image i + 1) that are of different classes."""
    return class_ids != class_ids.roll(1, dims=0)


def load_heldout_batch(
    config,
    crop_size: int,
    logger: logging.Logger | None = None,
    split_name: str = "test",
    batch_size: int = 64,
) -> HeldOutBatch | None:
    """A seeded random subset of ``batch_size`` rows of the split ``split_name``; None (with a warning) when
    the split does not exist or has fewer than two classes."""
    try:
        split = load_config_split(config, split_name, crop_size)
        # A random subset: prepared CUB splits are sorted by class, so their first rows would give almost
        # no pairs of different classes to score as mismatched.
        picks = np.random.default_rng(config.seed).permutation(len(split))[:batch_size]
        rows = split.select(picks.tolist())
        if "embeddings" in rows.column_names and config.text_encoder != "precomputed":
            rows = rows.remove_columns("embeddings")
        return _view_batch(rows, crop_size, config.seed, config.embedding_mode)
    except (ValueError, KeyError, FileNotFoundError) as error:
        if logger is not None:
            logger.warning("No held-out diagnostics (split %r): %s", split_name, error)
        return None


def mu_statistics(mu: torch.Tensor) -> dict[str, float]:
    """``ca_dead_units`` and ``mu_norm`` of a ``[B, condition_dim]`` batch of CA means."""
    mu = mu.detach().float()
    return {
        "ca_dead_units": (mu.std(dim=0) < DEAD_UNIT_STD).float().mean().item(),
        "mu_norm": mu.norm(dim=1).mean().item(),
    }


@torch.no_grad()
def conditioning_diagnostics(
    generator,
    discriminator,
    training_mu: torch.Tensor,
    heldout: HeldOutBatch | None,
) -> dict[str, float]:
    """The module docstring's diagnostics; without a held-out batch, only the CA statistics of the
    training batch's ``mu``."""
    if heldout is None or heldout.text is None:
        return mu_statistics(training_mu)
    text = heldout.text.to(generator.conditioning.fc.weight.dtype)
    mu = generator.conditioning(text, return_dict=False)[1]
    values = mu_statistics(mu)
    # Pairs (image i, caption of image i + 1), kept where the two images are of different classes.
    wrong_text = text.roll(1, dims=0)
    wrong_mu = mu.roll(1, dims=0)
    other_class = _other_class(heldout.class_ids)
    buffers = {name: buffer.clone() for name, buffer in discriminator.named_buffers()}
    was_training = discriminator.training
    discriminator.train()
    try:
        images = heldout.pixel_values.to(next(discriminator.parameters()).dtype)
        matching = discriminator(images, discriminator_condition(discriminator, text, mu), return_dict=False)[
            1
        ]
        mismatched = discriminator(
            images, discriminator_condition(discriminator, wrong_text, wrong_mu), return_dict=False
        )[1]
    finally:
        for name, buffer in discriminator.named_buffers():
            buffer.copy_(buffers[name])
        discriminator.train(was_training)
    values["heldout_acc_real"] = (matching > 0).float().mean().item()
    if other_class.any():
        values["heldout_acc_mismatched"] = (
            (mismatched[other_class.to(mismatched.device)] < 0).float().mean().item()
        )
    return values


def heldout_matching_accuracy(
    pipeline, discriminator, dataset, crop_size: int = 64, seed: int = 0, batch_size: int = 64
) -> dict[str, float]:
    """The held-out diagnostics of a trained run over a whole split, not one batch: ``dataset`` in seeded
    random batches of ``batch_size`` through the training view, each scored as in training by
    ``discriminator`` with ``pipeline``'s text encoder (or the split's embeddings) and its Stage-I or
    Stage-II generator's CA; returns the accuracies averaged over all real and all mismatched pairs."""
    generator = pipeline.stage1_generator if crop_size == 64 else pipeline.stage2_generator
    order = np.random.default_rng(seed).permutation(len(dataset)).tolist()
    totals = {"heldout_acc_real": [0.0, 0], "heldout_acc_mismatched": [0.0, 0]}
    for start in range(0, len(order) - 1, batch_size):
        rows = dataset.select(order[start : start + batch_size])
        if len(rows) < 2 or len(set(rows["class_id"])) < 2:
            continue
        batch = _view_batch(rows, crop_size, seed)
        if pipeline.text_encoder is None:
            text = batch.embeddings
        else:
            text = pipeline.encode_prompt(batch.captions, torch.device("cpu"))
        batch.text = text.float()
        values = conditioning_diagnostics(generator, discriminator, text, batch)
        pairs = {
            "heldout_acc_real": len(rows),
            "heldout_acc_mismatched": int(_other_class(batch.class_ids).sum()),
        }
        for key, count in pairs.items():
            if key in values:
                totals[key][0] += values[key] * count
                totals[key][1] += count
    return {key: total / count for key, (total, count) in totals.items() if count}
