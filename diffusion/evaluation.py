"""Evaluating DDPM samples of MNIST with an MNIST classifier: FID on its features, its Inception-style score,
and the histogram of the digits it sees (a model that forgets a digit shows a hole there).

``evaluate_ddpm_samples`` is ``scripts/evaluate.py ddpm``: a ``.npy`` file of samples against MNIST's test
split, with the classifier loaded from its folder or trained on the training split and saved there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from stackgan_hf.utils import judge as judges
from stackgan_hf.utils.metrics import frechet_distance, inception_score

from .data import MNIST_HUB_ID, load_mnist


class DigitSamplesError(ValueError):
    """A samples file that is not uint8 ``[N, 28, 28]`` digits."""


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
) -> judges.ImageClassifier:
    """A digit classifier (one head, ``digit``) on uint8 ``[N, 28, 28]`` images."""
    classifier = judges.ImageClassifier(
        heads={"digit": 10}, in_channels=1, image_size=28, base_channels=base_channels
    )
    judges.fit_classifier(
        classifier, digits_to_tensor(images), {"digit": labels}, steps=steps, batch_size=128, seed=seed
    )
    return classifier


#: A digit the judge gives less than this probability for its most likely class counts as "unsure": a proxy
#: for malformed digits (2.7% of MNIST's test digits for this project's judge; see ``low_confidence_share``).
LOW_CONFIDENCE = 0.9


def evaluate_mnist_samples(
    samples: np.ndarray,
    real: np.ndarray,
    real_labels: np.ndarray,
    classifier: judges.ImageClassifier,
    labels: np.ndarray | None = None,
) -> dict:
    """FID (classifier features) of uint8 ``samples`` against uint8 ``real`` digits, the classifier score,
    the predicted class histogram of the samples, the classifier's accuracy on ``real``, and the share of
    samples (and of ``real``) whose most likely class has a probability under :data:`LOW_CONFIDENCE`; with
    ``labels`` (a class-conditional model's asked digits), the share the classifier reads as asked."""
    fake_tensor, real_tensor = digits_to_tensor(samples), digits_to_tensor(real)
    fake_probabilities = classifier.probabilities(fake_tensor)["digit"]
    real_probabilities = classifier.probabilities(real_tensor)["digit"]
    predicted = fake_probabilities.argmax(axis=1)
    histogram = np.bincount(predicted, minlength=10)
    is_mean, is_std = inception_score((fake_tensor + 1) / 2, judges.ClassifierLogits(classifier))
    metrics = {
        "num_samples": len(samples),
        "num_real": len(real),
        "fid": frechet_distance(
            (real_tensor + 1) / 2, (fake_tensor + 1) / 2, judges.ClassifierFeatures(classifier)
        ),
        "is_mean": is_mean,
        "is_std": is_std,
        "class_histogram": histogram.tolist(),
        "class_share_min_max": [float(histogram.min() / len(samples)), float(histogram.max() / len(samples))],
        "classifier_accuracy_real": float(np.mean(real_probabilities.argmax(axis=1) == real_labels)),
        "low_confidence_share": float(np.mean(fake_probabilities.max(axis=1) < LOW_CONFIDENCE)),
        "low_confidence_share_real": float(np.mean(real_probabilities.max(axis=1) < LOW_CONFIDENCE)),
    }
    if labels is not None:
        metrics["asked_class_accuracy"] = float(np.mean(predicted == labels))
    return metrics


def load_digit_samples(path: str | Path) -> np.ndarray:
    """uint8 ``[N, 28, 28]`` digits from a ``.npy`` file; :class:`DigitSamplesError` for anything else."""
    try:
        samples = np.load(path)
    except ValueError as error:  # a pickle or not an .npy file at all
        raise DigitSamplesError(f"{path}: not a .npy array of digits ({error}).") from None
    if samples.dtype != np.uint8 or samples.ndim != 3:
        raise DigitSamplesError(
            f"{path}: expected uint8 [N, 28, 28] digits, got {samples.dtype} {samples.shape}."
        )
    return samples


def load_digit_labels(path: str | Path, count: int) -> np.ndarray:
    """``count`` digit labels 0-9 from a ``.npy`` file; :class:`DigitSamplesError` for anything else."""
    try:
        labels = np.load(path)
    except ValueError as error:
        raise DigitSamplesError(f"{path}: not a .npy array of labels ({error}).") from None
    if labels.shape != (count,) or labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() > 9:
        raise DigitSamplesError(
            f"{path}: expected {count} integer labels 0-9 (one per sample), "
            f"got {labels.dtype} {labels.shape}."
        )
    return labels.astype(np.int64)


def evaluate_ddpm_samples(
    samples: str | Path,
    dataset: str = MNIST_HUB_ID,
    dataset_dir: str | Path | None = None,
    classifier: str | Path | None = None,
    classifier_steps: int = 1500,
    labels: str | Path | None = None,
) -> dict:
    """:func:`evaluate_mnist_samples` of the ``.npy`` file ``samples`` against the test split of ``dataset``
    (a Hub id) or ``dataset_dir`` (parquet files), with the classifier loaded from ``classifier`` (default
    ``outputs/eval_classifiers/mnist``) or, where there is none, trained for ``classifier_steps`` steps on
    the training split and saved there. ``labels``: a ``.npy`` of the digits a class-conditional model was
    asked for (``samples_N_labels.npy`` of ``scripts/ddpm_figures.py``), for ``asked_class_accuracy``."""
    digits = load_digit_samples(samples)
    asked = None if labels is None else load_digit_labels(labels, len(digits))
    classifier_dir = Path(classifier or "outputs/eval_classifiers/mnist")

    def train_judge():
        train = load_mnist(dataset, dataset_dir, split="train").with_format("numpy")
        print(f"Training the MNIST classifier on {len(train)} digits -> {classifier_dir}")
        images = np.stack([np.asarray(image) for image in train["image"]])
        return train_mnist_classifier(images, np.asarray(train["label"]), steps=classifier_steps)

    judge = judges.load_or_train(classifier_dir, train_judge)
    test = load_mnist(dataset, dataset_dir, split="test")
    real = np.stack([np.asarray(image) for image in test["image"]])
    metrics = evaluate_mnist_samples(digits, real, np.asarray(test["label"]), judge, labels=asked)
    metrics.update(samples=str(samples), classifier=str(classifier_dir))
    if labels is not None:
        metrics["labels"] = str(labels)
    return metrics
