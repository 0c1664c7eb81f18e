"""Tiny MNIST-schema data made from scratch for the DDPM and MNIST-loading tests."""

from __future__ import annotations

import numpy as np


def synthetic_digits(num_images: int, seed: int = 0) -> tuple[np.ndarray, list[int]]:
    """28x28 uint8 images: a bright bar (vertical for even labels, horizontal for odd) on black."""
    rng = np.random.default_rng(seed)
    images = np.zeros((num_images, 28, 28), dtype=np.uint8)
    labels = [int(label) for label in rng.integers(0, 10, num_images)]
    for image, label in zip(images, labels):
        start = int(rng.integers(4, 16))
        if label % 2:
            image[start : start + 4, 4:24] = 255
        else:
            image[4:24, start : start + 4] = 255
    return images, labels
