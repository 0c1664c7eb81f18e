"""MNIST for the DDPM: a Hub dataset id or a local folder of parquet files, as [-1, 1] tensors.

Both sources have the schema of the Hub dataset ``ylecun/mnist``: ``image`` (``datasets.Image``, 28x28
grayscale PNG) and ``label`` (``ClassLabel`` 0-9). ``load_mnist`` returns the raw ``datasets.Dataset``;
``load_mnist_for_training`` decodes it once into a uint8 tensor in memory and yields ``pixel_values`` of shape
``[1, 28, 28]`` (or ``[1, 32, 32]`` with ``pad_to_32``) in [-1, 1], the background (-1) extended into the
padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from datasets import ClassLabel, Dataset, Features, Image, load_dataset

MNIST_HUB_ID = "ylecun/mnist"
MNIST_FEATURES = Features({"image": Image(), "label": ClassLabel(names=[str(digit) for digit in range(10)])})
MNIST_SIZE = 28
PADDED_SIZE = 32


class MnistDataError(ValueError):
    """The MNIST source is missing or does not have the ``ylecun/mnist`` schema."""


def _expected() -> str:
    return (
        "expected parquet files such as train-00000-of-00001.parquet and test-00000-of-00001.parquet "
        "with the ylecun/mnist columns image (datasets.Image) and label (ClassLabel 0-9)"
    )


def find_parquet_files(dataset_dir: str | Path, split: str) -> list[str]:
    """The parquet files of ``split`` in ``dataset_dir`` (``{split}-*.parquet``, also in sub-folders)."""
    directory = Path(dataset_dir)
    if not directory.exists():
        raise MnistDataError(f"MNIST directory {directory} does not exist; {_expected()}.")
    if not directory.is_dir():
        raise MnistDataError(f"MNIST path {directory} is not a directory; {_expected()}.")
    all_files = sorted(directory.rglob("*.parquet"))
    if not all_files:
        raise MnistDataError(f"No parquet files in MNIST directory {directory}; {_expected()}.")
    split_files = [
        path for path in all_files if path.name == f"{split}.parquet" or path.name.startswith(f"{split}-")
    ]
    if not split_files:
        found = ", ".join(str(path.relative_to(directory)) for path in all_files)
        raise MnistDataError(
            f"No parquet file for split {split!r} in MNIST directory {directory} (found: {found}); "
            f"{_expected()}."
        )
    return [str(path) for path in split_files]


def _check_schema(dataset: Dataset, source: str) -> Dataset:
    columns = list(dataset.column_names)
    missing = [name for name in ("image", "label") if name not in columns]
    if missing:
        raise MnistDataError(
            f"MNIST source {source} lacks the column(s) {', '.join(missing)} (it has {columns}); "
            f"{_expected()}."
        )
    image_feature = dataset.features["image"]
    if not isinstance(image_feature, Image):
        # Parquet files written without the datasets metadata store images as {bytes, path} structs.
        if isinstance(image_feature, dict) and "bytes" in image_feature:
            dataset = dataset.cast_column("image", Image())
        else:
            raise MnistDataError(
                f"Column 'image' of MNIST source {source} is {image_feature}, not an image; {_expected()}."
            )
    return dataset


def load_mnist(
    dataset: str = MNIST_HUB_ID,
    dataset_dir: str | Path | None = None,
    split: str = "train",
    cache_dir: str | None = None,
) -> Dataset:
    """One split of MNIST from ``dataset_dir`` (parquet files) if given, else from the Hub id ``dataset``.

    Raises ``MnistDataError``, naming the path and what was expected, for a missing directory, a directory
    without parquet files for ``split``, or columns other than ``image`` and ``label``.
    """
    if dataset_dir is not None:
        data_files = find_parquet_files(dataset_dir, split)
        for path in data_files:
            _check_parquet_file(path)
        loaded = load_dataset("parquet", data_files={split: data_files}, split=split, cache_dir=cache_dir)
        source = str(dataset_dir)
    else:
        try:
            loaded = load_dataset(dataset, split=split, cache_dir=cache_dir)
        except (OSError, ValueError) as error:  # offline, no such repo, no such split
            message = " ".join(str(error).split())
            raise MnistDataError(
                f"`dataset` {dataset!r}, split {split!r}: could not be loaded ({message}); pass "
                "--dataset_dir with a local copy (parquet files) to train without the Hub."
            ) from None
        source = dataset
    loaded = _check_schema(loaded, source)
    if len(loaded) == 0:
        raise MnistDataError(f"MNIST source {source} has no images in split {split!r}; {_expected()}.")
    return loaded


def _check_parquet_file(path: str) -> None:
    """Refuses an empty or unreadable parquet file by name, before ``datasets`` logs its own error."""
    import pyarrow.parquet as pq

    try:
        pq.read_metadata(path)
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise MnistDataError(f"{path}: not a readable parquet file ({error}); {_expected()}.") from None


def images_to_tensor(images: Sequence, pad_to_32: bool = True) -> torch.Tensor:
    """PIL images (or uint8 arrays) ``[H, W]`` -> float tensor ``[N, 1, H', W']`` in [-1, 1]."""
    pixels = np.stack(
        [np.asarray(image.convert("L") if hasattr(image, "convert") else image) for image in images]
    )
    tensor = torch.from_numpy(pixels.astype(np.float32)).unsqueeze(1) / 127.5 - 1.0
    return pad_border(tensor, background=-1.0) if pad_to_32 else tensor


def pad_border(images: torch.Tensor, background: float) -> torch.Tensor:
    """``[N, 1, 28, 28]`` -> ``[N, 1, 32, 32]``, the ``background`` value extended into a 2-pixel border."""
    pad = (PADDED_SIZE - images.shape[-1]) // 2
    return torch.nn.functional.pad(images, (pad, pad, pad, pad), value=background)


def tensor_to_uint8(images: torch.Tensor | np.ndarray, crop_to_28: bool = True) -> np.ndarray:
    """Images in [-1, 1], ``[N, 1, H, W]`` or ``[N, H, W]`` -> uint8 ``[N, 28, 28]`` (padding cropped)."""
    array = images.detach().float().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if array.ndim == 4:
        array = array[:, 0]
    if crop_to_28 and array.shape[-1] > MNIST_SIZE:
        offset = (array.shape[-1] - MNIST_SIZE) // 2
        array = array[:, offset : offset + MNIST_SIZE, offset : offset + MNIST_SIZE]
    return np.round((np.clip(array, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


class MnistTensors(torch.utils.data.Dataset):
    """MNIST decoded once into one uint8 tensor ``[N, 1, S, S]`` (60,000 padded digits: 61 MB), so that a
    training step never decodes a PNG; items are ``{"pixel_values": [1, S, S]}`` in [-1, 1] and the digit
    ``{"class_labels": []}`` (a class-conditional DDPM's label)."""

    def __init__(self, pixels: torch.Tensor, labels: torch.Tensor):
        self.pixels = pixels
        self.labels = labels

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, index: int) -> dict:
        return {"pixel_values": self.pixels[index].float() / 127.5 - 1.0, "class_labels": self.labels[index]}


def load_mnist_for_training(
    dataset: str = MNIST_HUB_ID,
    dataset_dir: str | Path | None = None,
    split: str = "train",
    pad_to_32: bool = True,
    max_samples: int | None = None,
    cache_dir: str | None = None,
) -> MnistTensors:
    """``load_mnist`` decoded into memory: each item is ``{"pixel_values": [1, S, S]}`` in [-1, 1], S = 32
    with ``pad_to_32`` (the background extended into the padding), else 28."""
    mnist = load_mnist(dataset, dataset_dir, split, cache_dir)
    source = dataset_dir or dataset
    if max_samples is not None:
        mnist = mnist.select(range(min(max_samples, len(mnist))))
    pixels = torch.from_numpy(np.stack(_decode_images(mnist, source))).unsqueeze(1)
    if pad_to_32:
        pixels = pad_border(pixels, background=0)
    labels = torch.tensor(mnist["label"])
    if labels.min() < 0 or labels.max() > 9:
        raise MnistDataError(
            f"MNIST source {source} has labels outside 0-9 ({labels.min()} to {labels.max()}); {_expected()}."
        )
    return MnistTensors(pixels.contiguous(), labels)


def _decode_images(mnist: Dataset, source: str | Path) -> list[np.ndarray]:
    """Each image as a uint8 ``[28, 28]`` array; ``MnistDataError`` naming the first one that does not
    decode or has another size."""
    from PIL import UnidentifiedImageError

    arrays: list[np.ndarray] = []
    images = iter(mnist["image"])  # decoded one at a time
    while len(arrays) < len(mnist):
        index = len(arrays)
        try:
            array = np.asarray(next(images).convert("L"))
        except (OSError, UnidentifiedImageError, ValueError) as error:
            raise MnistDataError(
                f"MNIST source {source}: image #{index} does not decode ({error})."
            ) from None
        if array.shape != (MNIST_SIZE, MNIST_SIZE):
            raise MnistDataError(
                f"MNIST source {source}: image #{index} is {array.shape[1]}x{array.shape[0]}, not "
                f"{MNIST_SIZE}x{MNIST_SIZE}; {_expected()}."
            )
        arrays.append(array)
    return arrays


def write_mnist_parquet(
    directory: str | Path, images: np.ndarray, labels: Sequence[int], split: str = "train"
) -> Path:
    """Writes uint8 images ``[N, 28, 28]`` and labels as ``{split}-00000-of-00001.parquet`` (MNIST schema)."""
    from PIL import Image as PILImage

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    dataset = Dataset.from_dict(
        {
            "image": [PILImage.fromarray(np.asarray(image, dtype=np.uint8)) for image in images],
            "label": list(labels),
        },
        features=MNIST_FEATURES,
    )
    path = directory / f"{split}-00000-of-00001.parquet"
    dataset.to_parquet(str(path))
    return path
