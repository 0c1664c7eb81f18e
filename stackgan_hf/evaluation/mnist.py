"""Evaluating DDPM samples of MNIST with an MNIST classifier: FID on its features, its Inception-style score,
and the histogram of the digits it sees (a model that forgets a digit shows a hole there)."""

from __future__ import annotations

import numpy as np
import torch

from .classifier import ClassifierFeatures, ClassifierLogits, ImageClassifier, accuracy, fit_classifier
from .metrics import frechet_distance, inception_score


def digits_to_tensor(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 ``[N, 28, 28]`` (or ``[N, 1, 28, 28]``) -> float ``[N, 1, 28, 28]`` in ``[-1, 1]``."""
    images = torch.as_tensor(np.asarray(images))
    if images.dim() == 3:
        images = images[:, None]
    if images.dtype != torch.uint8:
        raise ValueError(f"Expected uint8 digits, got {images.dtype}.")
    return images.float() / 127.5 - 1


def train_mnist_classifier(
    images: np.ndarray, labels: np.ndarray, steps: int = 1500, base_channels: int = 16, seed: int = 0
) -> ImageClassifier:
    """A digit classifier (one head, ``digit``) on uint8 ``[N, 28, 28]`` images."""
    classifier = ImageClassifier(
        heads={"digit": 10}, in_channels=1, image_size=28, base_channels=base_channels
    )
    fit_classifier(
        classifier, digits_to_tensor(images), {"digit": labels}, steps=steps, batch_size=128, seed=seed
    )
    return classifier


def evaluate_mnist_samples(
    samples: np.ndarray, real: np.ndarray, real_labels: np.ndarray, classifier: ImageClassifier
) -> dict:
    """FID (classifier features) of uint8 ``samples`` against uint8 ``real`` digits, the classifier score,
    the predicted class histogram of the samples, and the classifier's accuracy on ``real``."""
    fake_tensor, real_tensor = digits_to_tensor(samples), digits_to_tensor(real)
    predicted = classifier.predict(fake_tensor)["digit"]
    histogram = np.bincount(predicted, minlength=10)
    is_mean, is_std = inception_score((fake_tensor + 1) / 2, ClassifierLogits(classifier))
    return {
        "num_samples": len(samples),
        "num_real": len(real),
        "fid": frechet_distance((real_tensor + 1) / 2, (fake_tensor + 1) / 2, ClassifierFeatures(classifier)),
        "is_mean": is_mean,
        "is_std": is_std,
        "class_histogram": histogram.tolist(),
        "class_share_min_max": [float(histogram.min() / len(samples)), float(histogram.max() / len(samples))],
        "classifier_accuracy_real": accuracy(classifier.predict(real_tensor), {"digit": real_labels})[
            "digit"
        ],
    }
