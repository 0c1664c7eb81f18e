"""The training view shared by CUB, Hub datasets and synthetic birds.

:class:`StackGANTrainingView` turns stored rows into ``pixel_values`` (resized to 76 / 304, random 64 / 256
crop and flip), one ``caption`` and its ``embedding``, ``mismatched_pixel_values`` and ``class_id``. Its
randomness is seeded by ``(seed, epoch, row key)``; call :meth:`~StackGANTrainingView.set_epoch` every epoch.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Literal

import datasets
import numpy as np
import PIL.Image
import torch

from .loading import caption_list

EmbeddingMode = Literal["one", "mean_of_4"]


def load_size_for(crop_size: int) -> int:
    """StackGAN resizes to ``crop * 76 / 64`` before its random crop: 64 -> 76, 256 -> 304."""
    return int(crop_size * 76 / 64)


def pixels_to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """``[H, W, 3]`` uint8 -> ``[3, H, W]`` float in ``[-1, 1]``."""
    array = np.ascontiguousarray(pixels, dtype=np.float32)
    return torch.from_numpy(array).permute(2, 0, 1).div(127.5).sub(1.0)


def image_to_tensor(image: PIL.Image.Image) -> torch.Tensor:
    """PIL RGB ``[H, W, 3]`` uint8 -> ``[3, H, W]`` float in ``[-1, 1]``."""
    return pixels_to_tensor(np.asarray(image.convert("RGB")))


def load_pixels(image: PIL.Image.Image, crop_size: int) -> np.ndarray:
    """The image as the view crops it: RGB ``[L, L, 3]`` uint8 at ``L = load_size_for(crop_size)``."""
    load_size = load_size_for(crop_size)
    image = image.convert("RGB")
    if image.size != (load_size, load_size):
        image = image.resize((load_size, load_size), PIL.Image.BICUBIC)
    return np.asarray(image)


def random_crop_flip_pixels(pixels: np.ndarray, crop_size: int, rng: np.random.Generator) -> torch.Tensor:
    """A random ``crop_size`` crop of ``[L, L, 3]`` uint8 ``pixels``, flipped left-right with probability
    1/2, as ``[3, crop_size, crop_size]`` in ``[-1, 1]``."""
    left, top = (int(v) for v in rng.integers(0, pixels.shape[1] - crop_size + 1, size=2))
    crop = pixels[top : top + crop_size, left : left + crop_size]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return pixels_to_tensor(crop)


def random_crop_flip(image: PIL.Image.Image, crop_size: int, rng: np.random.Generator) -> torch.Tensor:
    """Resize to ``load_size_for(crop_size)``, random ``crop_size`` crop, flip with probability 1/2."""
    return random_crop_flip_pixels(load_pixels(image, crop_size), crop_size, rng)


def preresize_images(dataset: datasets.Dataset, crop_size: int) -> datasets.Dataset:
    """Stores every image at the training view's load size, so that each step decodes a small image.

    The crops are pixel for pixel the same (the view resizes only images of another size).

    Args:
        dataset: a dataset with an ``image`` column.
        crop_size: the crop the view will take (64 or 256; load sizes 76 and 304).

    Returns:
        The dataset with its images resized losslessly (PNG, in memory), or ``dataset`` itself when its first
        image is already at the load size.
    """
    load_size = load_size_for(crop_size)
    if dataset[0]["image"].size == (load_size, load_size):
        return dataset

    def resize(batch):
        batch["image"] = [
            image.convert("RGB").resize((load_size, load_size), PIL.Image.BICUBIC) for image in batch["image"]
        ]
        return batch

    return dataset.map(
        resize,
        batched=True,
        batch_size=64,
        keep_in_memory=True,
        features=dataset.features,
        desc=f"Resizing images to {load_size}x{load_size}",
    )


class StackGANTrainingView:
    """A deterministic ``with_transform`` transform for StackGAN training (see the module docstring).

    Args:
        dataset: the stored dataset (without transform); the view reads mismatched images from it.
        crop_size: 64 for Stage-I, 256 for Stage-II.
        seed: base seed of all the view's random choices.
        embedding_mode: ``"one"`` (the embedding of the chosen caption) or ``"mean_of_4"``.
        key_column: a column whose values identify rows (``filename``); used to seed per-row randomness.
        pixels_in_memory_bytes: when every row's decoded image at the load size fits in this many bytes (and
            rows have unique keys), the view decodes them once and crops from memory; 0 decodes per row.
        embeddings_in_memory_bytes: when the ``embeddings`` column fits in this many bytes (and rows have
            unique keys), the view reads it once into one array; 0 reads each row's from the Arrow table.
        mismatched_images: False leaves ``mismatched_pixel_values`` out of the batches (for training whose
            mismatched pairs are other rows' captions); the rows' other random draws stay the same.
    """

    def __init__(
        self,
        dataset: datasets.Dataset,
        crop_size: int = 64,
        seed: int = 0,
        embedding_mode: EmbeddingMode = "one",
        key_column: str = "filename",
        pixels_in_memory_bytes: int = 256 * 2**20,
        embeddings_in_memory_bytes: int = 1024 * 2**20,
        mismatched_images: bool = True,
    ):
        for column in ("image", "captions"):
            if column not in dataset.column_names:
                raise ValueError(f"The dataset has no `{column}` column (columns: {dataset.column_names}).")
        if embedding_mode not in ("one", "mean_of_4"):
            raise ValueError(f"embedding_mode must be 'one' or 'mean_of_4', got {embedding_mode!r}.")
        if len(dataset) < 2:
            raise ValueError("The training view needs at least 2 rows (one real and one mismatched image).")
        self.dataset = dataset
        self.crop_size = crop_size
        self.seed = seed
        self.embedding_mode = embedding_mode
        self.epoch = 0
        # Row keys seed each row's randomness; without a key column the row's captions serve as its key.
        keys = (
            dataset[key_column]
            if key_column in dataset.column_names
            else [repr(c) for c in dataset["captions"]]
        )
        self.key_column = key_column if key_column in dataset.column_names else None
        self.keys = [str(key) for key in keys]
        self.has_embeddings = "embeddings" in dataset.column_names
        # Row of each key, where keys name rows uniquely: what the view holds in memory is found by it.
        self._row_of_key = None
        if self.key_column is not None and len(set(self.keys)) == len(self.keys):
            self._row_of_key = {key: row for row, key in enumerate(self.keys)}
        self._embeddings = None
        if self.has_embeddings and self._row_of_key is not None:
            # All rows' embeddings [N, captions, D], found by row key, read once into memory when they fit:
            # reading them row by row from the Arrow table is slow (docs/results/speed.md).
            column = dataset.with_format("numpy", columns=["embeddings"])["embeddings"]
            if len(dataset) * np.asarray(column[0]).nbytes <= embeddings_in_memory_bytes:
                column = np.asarray(column[:])
            self._embeddings = column
        class_ids = np.asarray(dataset["class_id"]) if "class_id" in dataset.column_names else None
        if class_ids is not None:
            self.rows_by_class = {int(c): np.flatnonzero(class_ids == c) for c in np.unique(class_ids)}
            if len(self.rows_by_class) < 2:
                raise ValueError(
                    "All rows have the same class_id: no mismatched image of another class exists."
                )
        else:
            self.rows_by_class = None
        self.mismatched_images = bool(mismatched_images)
        self._images = dataset.select_columns(["image"])
        # Small images (Stage-I's 76x76 loads) live decoded in memory, found by row key like the embeddings:
        # each step then slices arrays instead of decoding 2 x batch PNGs (the same pixels and draws).
        self._pixels = None
        load = load_size_for(crop_size)
        if self._row_of_key is not None and len(dataset) * load * load * 3 <= pixels_in_memory_bytes:
            self._pixels = np.empty((len(dataset), load, load, 3), dtype=np.uint8)
            for start in range(0, len(dataset), 256):  # a chunk of decoded originals at a time
                for offset, image in enumerate(self._images[start : start + 256]["image"]):
                    self._pixels[start + offset] = load_pixels(image, crop_size)

    def as_dataset(self) -> datasets.Dataset:
        """The dataset with this view as its transform; what the view holds in memory (the embeddings, small
        images) is left out of the batches ``datasets`` formats for it."""
        held = {"embeddings"} if self._embeddings is not None else set()
        if self._pixels is not None:
            held.add("image")
        columns = [c for c in self.dataset.column_names if c not in held] if held else None
        return self.dataset.with_transform(self, columns=columns)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _rng(self, key: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, zlib.crc32(key.encode("utf-8"))])

    def _mismatched_row(self, class_id: int | None, rng: np.random.Generator, own_key: str) -> int:
        if self.rows_by_class is None:
            # Unknown classes: any other row (its captions describe another image).
            while True:
                row = int(rng.integers(len(self.keys)))
                if self.keys[row] != own_key:
                    return row
        other_classes = [c for c in self.rows_by_class if c != class_id]
        rows = self.rows_by_class[other_classes[int(rng.integers(len(other_classes)))]]
        return int(rows[int(rng.integers(len(rows)))])

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        keys = batch[self.key_column] if self.key_column else [repr(c) for c in batch["captions"]]
        size = len(keys)
        out: dict[str, list] = {"pixel_values": [], "caption": [], "class_id": []}
        if self.mismatched_images:
            out["mismatched_pixel_values"] = []
        if self.has_embeddings:
            out["embedding"] = []
        for i in range(size):
            rng = self._rng(str(keys[i]))
            captions = caption_list(batch["captions"][i])
            choice = int(rng.integers(len(captions)))
            out["caption"].append(captions[choice])
            if self.has_embeddings:
                if self._row_of_key is not None:
                    embeddings = self._embeddings[self._row_of_key[str(keys[i])]]
                else:
                    embeddings = np.asarray(batch["embeddings"][i], dtype=np.float32)
                if self.embedding_mode == "mean_of_4":
                    picks = rng.choice(len(embeddings), size=min(4, len(embeddings)), replace=False)
                    embedding = embeddings[picks].mean(axis=0)
                else:
                    embedding = embeddings[choice]
                out["embedding"].append(torch.from_numpy(np.ascontiguousarray(embedding)))
            class_id = int(batch["class_id"][i]) if "class_id" in batch else -1
            out["class_id"].append(class_id)
            if self._pixels is not None:
                own = self._pixels[self._row_of_key[str(keys[i])]]
            else:
                own = load_pixels(batch["image"][i], self.crop_size)
            out["pixel_values"].append(random_crop_flip_pixels(own, self.crop_size, rng))
            if not self.mismatched_images:
                continue
            wrong = self._mismatched_row(
                class_id if self.rows_by_class is not None else None, rng, str(keys[i])
            )
            if self._pixels is not None:
                wrong_pixels = self._pixels[wrong]
            else:
                wrong_pixels = load_pixels(self._images[wrong]["image"], self.crop_size)
            out["mismatched_pixel_values"].append(random_crop_flip_pixels(wrong_pixels, self.crop_size, rng))
        return out


def collate_training_batch(rows: list[dict]) -> dict:
    """Stacks the view's rows for a ``DataLoader``: tensors are stacked, captions stay a list of strings."""
    batch = {
        "pixel_values": torch.stack([row["pixel_values"] for row in rows]),
        "caption": [row["caption"] for row in rows],
        "class_id": torch.tensor([row["class_id"] for row in rows], dtype=torch.long),
    }
    if "mismatched_pixel_values" in rows[0]:
        batch["mismatched_pixel_values"] = torch.stack([row["mismatched_pixel_values"] for row in rows])
    if "embedding" in rows[0]:
        batch["embedding"] = torch.stack([row["embedding"] for row in rows])
    return batch


def center_crops(images: Sequence[PIL.Image.Image], size: int, as_training: bool = True) -> torch.Tensor:
    """``[N, 3, size, size]`` in ``[-1, 1]``: each image resized to the training view's load size (76 for
    64, 304 for 256) and center-cropped to ``size`` (what the GAN was shown, without the random offset);
    ``as_training=False`` keeps the load size (for random-crop augmentation)."""
    load = load_size_for(size)
    crops = []
    for image in images:
        image = image.convert("RGB")
        if image.size != (load, load):
            image = image.resize((load, load), PIL.Image.BICUBIC)
        if as_training:
            offset = (load - size) // 2
            image = image.crop((offset, offset, offset + size, offset + size))
        crops.append(image_to_tensor(image))
    return torch.stack(crops)
