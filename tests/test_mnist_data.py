"""MNIST loading (``diffusion.data``): local parquet in the ``ylecun/mnist`` schema, transforms, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from datasets import Dataset
from mnist_fixture import synthetic_digits

from diffusion.data import (
    MnistDataError,
    images_to_tensor,
    load_mnist,
    load_mnist_for_training,
    tensor_to_uint8,
    write_mnist_parquet,
)

SHARED_MNIST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("mnist")
    images, labels = synthetic_digits(20)
    write_mnist_parquet(directory, images, labels, split="train")
    write_mnist_parquet(directory, images[:6], labels[:6], split="test")
    return directory


def test_local_parquet_has_the_mnist_schema(mnist_dir, tmp_path):
    train = load_mnist(dataset_dir=mnist_dir, split="train", cache_dir=str(tmp_path))
    test = load_mnist(dataset_dir=mnist_dir, split="test", cache_dir=str(tmp_path))
    assert (len(train), len(test)) == (20, 6)
    assert train.features["label"].names == [str(digit) for digit in range(10)]
    assert np.asarray(train[0]["image"]).shape == (28, 28)


def test_training_items_are_padded_tensors_in_minus_one_one(mnist_dir, tmp_path):
    images, _ = synthetic_digits(20)
    dataset = load_mnist_for_training(dataset_dir=mnist_dir, max_samples=8, cache_dir=str(tmp_path))
    assert len(dataset) == 8
    pixels = dataset[0]["pixel_values"]
    assert pixels.shape == (1, 32, 32) and pixels.dtype == torch.float32
    assert pixels.min() == -1.0 and pixels.max() == 1.0
    assert torch.all(pixels[:, :2] == -1) and torch.all(pixels[:, :, -2:] == -1)  # background padding
    assert np.array_equal(tensor_to_uint8(pixels[None])[0], images[0])  # [-1, 1] -> uint8 is exact

    unpadded = load_mnist_for_training(dataset_dir=mnist_dir, pad_to_32=False, cache_dir=str(tmp_path))
    batch = torch.utils.data.default_collate([unpadded[i] for i in range(4)])
    assert batch["pixel_values"].shape == (4, 1, 28, 28)


def test_images_to_tensor_scales_0_255_to_minus_one_one():
    tensor = images_to_tensor([np.array([[0, 255], [51, 204]], dtype=np.uint8)], pad_to_32=False)
    assert torch.allclose(tensor, torch.tensor([[[[-1.0, 1.0], [-0.6, 0.6]]]]))


def test_missing_directory_is_a_clear_error(tmp_path):
    missing = tmp_path / "no-such-mnist"
    with pytest.raises(MnistDataError, match="does not exist") as error:
        load_mnist(dataset_dir=missing)
    assert str(missing) in str(error.value) and "parquet" in str(error.value)


def test_directory_without_parquet_files_is_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not data")
    with pytest.raises(MnistDataError, match="No parquet files") as error:
        load_mnist(dataset_dir=tmp_path)
    assert str(tmp_path) in str(error.value) and "image" in str(error.value)


def test_missing_split_names_the_files_found(mnist_dir):
    with pytest.raises(MnistDataError, match="validation") as error:
        load_mnist(dataset_dir=mnist_dir, split="validation")
    assert "train-00000-of-00001.parquet" in str(error.value)


def test_wrong_columns_are_a_clear_error(tmp_path):
    Dataset.from_dict({"pixels": [[0] * 784], "digit": [3]}).to_parquet(str(tmp_path / "train-0.parquet"))
    with pytest.raises(MnistDataError, match="image, label") as error:
        load_mnist(dataset_dir=tmp_path, cache_dir=str(tmp_path / "cache"))
    assert str(tmp_path) in str(error.value) and "pixels" in str(error.value)


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="no local MNIST copy in ../shared/data/mnist")
def test_shared_local_mnist_copy_loads(tmp_path):
    test = load_mnist(dataset_dir=SHARED_MNIST, split="test")
    assert len(test) == 10_000
    assert np.asarray(test[0]["image"]).shape == (28, 28) and test[0]["label"] == 7
