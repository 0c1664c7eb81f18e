"""A small multi-head image classifier: the offline feature network and judge of the evaluation.

Trained on the real images of the dataset evaluated, it stands in for Inception (FID and IS features) and, on
synthetic birds, reads the generated birds' colors. Its scores compare this project's runs with each other,
not with published FIDs. Why: docs/theory.md, "The offline judge".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn


class ImageClassifier(ModelMixin, ConfigMixin):
    """Conv net with one softmax head per label (``heads``: name -> number of classes).

    Input: ``[B, C, H, W]`` images in ``[-1, 1]``, resized to ``image_size`` when they differ. Four
    stride-2 stages (conv, BatchNorm, LeakyReLU) and global average pooling give ``feature_dim`` features.
    """

    @register_to_config
    def __init__(
        self,
        heads: Mapping[str, int] = None,
        in_channels: int = 3,
        image_size: int = 64,
        base_channels: int = 32,
        feature_dim: int = 128,
    ):
        super().__init__()
        if not heads:
            raise ValueError("heads must name at least one label, e.g. {'class_id': 10}.")
        layers, channels = [], in_channels
        for i in range(4):
            width = base_channels * 2 ** min(i, 2)
            layers += [
                nn.Conv2d(channels, width, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            channels = width
        self.body = nn.Sequential(*layers, nn.Conv2d(channels, feature_dim, 3, padding=1), nn.LeakyReLU(0.2))
        # The heads are a config value (name -> classes): the layers live under another name.
        self.head_layers = nn.ModuleDict({name: nn.Linear(feature_dim, int(n)) for name, n in heads.items()})

    def _resize(self, images: torch.Tensor) -> torch.Tensor:
        size = self.config.image_size
        if images.shape[-2:] != (size, size):
            images = F.interpolate(
                images, size=(size, size), mode="bilinear", antialias=True, align_corners=False
            )
        return images

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """``[B, feature_dim]`` penultimate features."""
        return self.body(self._resize(images)).mean(dim=(2, 3))

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits per head."""
        features = self.features(images)
        return {name: head(features) for name, head in self.head_layers.items()}

    @torch.inference_mode()
    def probabilities(self, images: torch.Tensor, batch_size: int = 256) -> dict[str, np.ndarray]:
        """Softmax ``[N, classes]`` per head for ``[N, C, H, W]`` images in ``[-1, 1]`` (eval mode)."""
        was_training = self.training
        self.eval()
        outputs: dict[str, list[np.ndarray]] = {name: [] for name in self.config.heads}
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size].to(self.device, self.dtype)
            for name, logits in self(batch).items():
                outputs[name].append(logits.float().softmax(dim=1).cpu().numpy())
        self.train(was_training)
        return {name: np.concatenate(values) for name, values in outputs.items()}

    def predict(self, images: torch.Tensor, batch_size: int = 256) -> dict[str, np.ndarray]:
        """Arg-max class per head for ``[N, C, H, W]`` images in ``[-1, 1]`` (eval mode, batched)."""
        return {name: p.argmax(axis=1) for name, p in self.probabilities(images, batch_size).items()}


def load_or_train(directory: str | Path, train: Callable[[], ImageClassifier]) -> ImageClassifier:
    """The classifier saved in ``directory``; where there is none, ``train()``'s, saved there, so that
    successive evaluations share one judge."""
    directory = Path(directory)
    if (directory / "config.json").is_file():
        return ImageClassifier.from_pretrained(directory)
    classifier = train()
    classifier.save_pretrained(directory)
    return classifier


def fit_classifier(
    classifier: ImageClassifier,
    images: torch.Tensor,
    labels: Mapping[str, torch.Tensor | np.ndarray],
    steps: int = 600,
    batch_size: int = 64,
    learning_rate: float = 2e-3,
    horizontal_flips: bool = False,
    crop_size: int | None = None,
    degrade: bool = False,
    seed: int = 0,
) -> list[float]:
    """Trains ``classifier`` with the sum of its heads' cross-entropies (Adam, cosine decay),
    deterministically.

    Args:
        classifier: the :class:`ImageClassifier` to train.
        images: ``[N, C, H, W]`` in ``[-1, 1]``.
        labels: head name -> ``[N]`` integer labels.
        steps, batch_size, learning_rate: the optimization.
        horizontal_flips: augment with random flips.
        crop_size: random crops of larger images (one offset per batch), as the GAN's training view takes.
        degrade: randomly blur (down- and up-sample by up to 4x) and noise (sigma up to 0.3) each image, so
            that a judge of generated images reads their colors, not their artifacts.
        seed: seeds the batches and augmentations.

    Returns:
        The training loss per step.
    """
    missing = set(classifier.config.heads) - set(labels)
    if missing:
        raise ValueError(f"labels lacks the heads {sorted(missing)}; it has {sorted(labels)}.")
    targets = {
        name: torch.as_tensor(np.asarray(labels[name]), dtype=torch.long) for name in classifier.config.heads
    }
    if any(len(t) != len(images) for t in targets.values()):
        raise ValueError("Every label needs one value per image.")
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps))
    )
    classifier.train()
    losses = []
    for _ in range(steps):
        index = torch.randint(len(images), (min(batch_size, len(images)),), generator=generator)
        batch = images[index].to(classifier.device)
        if crop_size is not None:
            top, left = torch.randint(images.shape[-1] - crop_size + 1, (2,), generator=generator).tolist()
            batch = batch[..., top : top + crop_size, left : left + crop_size]
        if horizontal_flips:
            flip = torch.rand(len(index), generator=generator) < 0.5
            batch = torch.where(flip[:, None, None, None].to(batch.device), batch.flip(-1), batch)
        if degrade:
            batch = _degrade(batch, generator)
        logits = classifier(batch)
        loss = sum(F.cross_entropy(logits[name], targets[name][index].to(batch.device)) for name in logits)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    classifier.eval()
    return losses


def _degrade(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random blur (area down-sampling by 1-4x, bilinear back) and Gaussian noise, per batch and image."""
    size = batch.shape[-1]
    factor = int(torch.randint(1, 5, (1,), generator=generator))
    if factor > 1:
        small = F.interpolate(batch, size=max(1, size // factor), mode="area")
        batch = F.interpolate(small, size=size, mode="bilinear", align_corners=False)
    sigma = torch.rand(len(batch), 1, 1, 1, generator=generator) * 0.3
    noise = torch.randn(batch.shape, generator=generator) * sigma
    return (batch + noise.to(batch.device)).clamp(-1, 1)


def accuracy(predicted: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Share of correct predictions per head present in both."""
    return {
        name: float(np.mean(np.asarray(predicted[name]) == np.asarray(labels[name])))
        for name in predicted
        if name in labels
    }


class ClassifierFeatures(nn.Module):
    """torchmetrics feature extractor (FID/KID ``feature=``) from a classifier: images as uint8 in
    ``[0, 255]`` or floats in ``[0, 1]``, any size -> ``[B, feature_dim]`` features."""

    def __init__(self, classifier: ImageClassifier):
        super().__init__()
        self.classifier = classifier.eval()
        self.num_features = classifier.config.feature_dim

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier.features(to_model_range(images, self.classifier))


class ClassifierLogits(nn.Module):
    """torchmetrics ``InceptionScore`` feature (logits) from a classifier: the joint label of all ``heads``
    (log-probabilities of independent heads add), e.g. the 512 color combinations of synthetic birds."""

    def __init__(self, classifier: ImageClassifier, heads: list[str] | None = None):
        super().__init__()
        self.classifier = classifier.eval()
        self.head_names = list(heads or classifier.config.heads)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits = self.classifier(to_model_range(images, self.classifier))
        joint = None
        for name in self.head_names:
            log_p = logits[name].double().log_softmax(dim=1)
            joint = log_p if joint is None else (joint[:, :, None] + log_p[:, None, :]).flatten(1)
        # Mix in 1e-6 of the uniform distribution: with hundreds of classes and confident heads some
        # probabilities underflow to 0, and the score's 0 * log(0) would turn it into NaN.
        floor = torch.full_like(joint, math.log(1e-6 / joint.shape[1]))
        return torch.logaddexp(joint + math.log1p(-1e-6), floor)


def to_model_range(images: torch.Tensor, model: nn.Module) -> torch.Tensor:
    """uint8 ``[0, 255]`` or float ``[0, 1]`` images -> float ``[-1, 1]`` on the model's device."""
    images = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    parameter = next(model.parameters())
    return (images * 2 - 1).to(parameter.device, parameter.dtype)
