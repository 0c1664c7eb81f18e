"""The training view shared by CUB, Hub datasets and synthetic birds.

``StackGANTrainingView`` is a ``datasets`` transform (``view.as_dataset()``, which is
``dataset.with_transform(view)`` with the embeddings kept in memory) that turns stored rows (``image``,
``captions`` and optionally ``embeddings``, ``class_id``) into what a StackGAN step reads:

* ``pixel_values`` ``[3, S, S]`` in ``[-1, 1]``: resized to ``S * 76 / 64`` (76 for Stage-I, 304 for
  Stage-II), randomly cropped to ``S`` (64 / 256) and randomly flipped, as the official code does;
* ``caption``: one of the 10 captions; ``embedding`` ``[D]`` (when the dataset has embeddings): the
  embedding of that caption, or (``embedding_mode="mean_of_4"``, StackGAN-TF) the mean of 4 random ones;
* ``mismatched_pixel_values``: another image, of another class when classes are known, for the
  matching-aware discriminator's (real image, wrong text) pair;
* ``class_id``.

Randomness comes from a generator seeded by ``(seed, epoch, row key)``, never from global state, so a
resumed or multi-process run sees exactly the crops, flips, captions and mismatches an uninterrupted one
would. Call :meth:`StackGANTrainingView.set_epoch` at the start of every epoch.
"""

from __future__ import annotations

import zlib
from typing import Literal

import datasets
import numpy as np
import PIL.Image
import torch

EmbeddingMode = Literal["one", "mean_of_4"]


def load_size_for(crop_size: int) -> int:
    """StackGAN resizes to ``crop * 76 / 64`` before its random crop: 64 -> 76, 256 -> 304."""
    return int(crop_size * 76 / 64)


def image_to_tensor(image: PIL.Image.Image) -> torch.Tensor:
    """PIL RGB ``[H, W, 3]`` uint8 -> ``[3, H, W]`` float in ``[-1, 1]``."""
    array = np.asarray(image.convert("RGB"), dtype=np.float32)
    return torch.from_numpy(array).permute(2, 0, 1).div(127.5).sub(1.0)


def random_crop_flip(image: PIL.Image.Image, crop_size: int, rng: np.random.Generator) -> torch.Tensor:
    """Resize to ``load_size_for(crop_size)``, random ``crop_size`` crop, flip with probability 1/2."""
    load_size = load_size_for(crop_size)
    if image.size != (load_size, load_size):
        image = image.convert("RGB").resize((load_size, load_size), PIL.Image.BICUBIC)
    left, top = (int(v) for v in rng.integers(0, load_size - crop_size + 1, size=2))
    image = image.crop((left, top, left + crop_size, top + crop_size))
    if rng.random() < 0.5:
        image = image.transpose(PIL.Image.FLIP_LEFT_RIGHT)
    return image_to_tensor(image)


def preresize_images(dataset: datasets.Dataset, crop_size: int) -> datasets.Dataset:
    """The dataset with every image already at the training view's load size (76 for 64, 304 for 256),
    stored losslessly (PNG) in memory: each step then decodes a small image instead of resizing a large
    one, and the view's crops are pixel for pixel the same (it resizes only images of another size). Rows
    already at that size (checked on the first) are returned as they are."""
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
    """

    def __init__(
        self,
        dataset: datasets.Dataset,
        crop_size: int = 64,
        seed: int = 0,
        embedding_mode: EmbeddingMode = "one",
        key_column: str = "filename",
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
        self._embeddings, self._row_of_key = None, None
        if self.has_embeddings and self.key_column and len(set(self.keys)) == len(self.keys):
            # All rows' embeddings as one array in memory ([N, captions, D]), found by row key: converting a
            # batch's 10 x D embeddings from Arrow to Python lists cost more than the rest of the view.
            self._embeddings = dataset.with_format("numpy", columns=["embeddings"])["embeddings"]
            self._row_of_key = {key: row for row, key in enumerate(self.keys)}
        if "class_id" in dataset.column_names:
            class_ids = np.asarray(dataset["class_id"])
            self.rows_by_class = {int(c): np.flatnonzero(class_ids == c) for c in np.unique(class_ids)}
            if len(self.rows_by_class) < 2:
                raise ValueError(
                    "All rows have the same class_id: no mismatched image of another class exists."
                )
        else:
            self.rows_by_class = None
        self._images = dataset.select_columns(["image"])

    def as_dataset(self) -> datasets.Dataset:
        """The dataset with this view as its transform; the embeddings, already in memory, are left out of
        the batches ``datasets`` formats for it."""
        columns = None
        if self._embeddings is not None:
            columns = [c for c in self.dataset.column_names if c != "embeddings"]
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
        size = len(batch["image"])
        keys = batch[self.key_column] if self.key_column else [repr(c) for c in batch["captions"]]
        out: dict[str, list] = {
            "pixel_values": [],
            "mismatched_pixel_values": [],
            "caption": [],
            "class_id": [],
        }
        if self.has_embeddings:
            out["embedding"] = []
        for i in range(size):
            rng = self._rng(str(keys[i]))
            captions = batch["captions"][i]
            if isinstance(captions, str):
                captions = [captions]
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
            out["pixel_values"].append(random_crop_flip(batch["image"][i], self.crop_size, rng))
            wrong = self._mismatched_row(
                class_id if self.rows_by_class is not None else None, rng, str(keys[i])
            )
            out["mismatched_pixel_values"].append(
                random_crop_flip(self._images[wrong]["image"], self.crop_size, rng)
            )
        return out


def collate_training_batch(rows: list[dict]) -> dict:
    """Stacks the view's rows for a ``DataLoader``: tensors are stacked, captions stay a list of strings."""
    batch = {
        "pixel_values": torch.stack([row["pixel_values"] for row in rows]),
        "mismatched_pixel_values": torch.stack([row["mismatched_pixel_values"] for row in rows]),
        "caption": [row["caption"] for row in rows],
        "class_id": torch.tensor([row["class_id"] for row in rows], dtype=torch.long),
    }
    if "embedding" in rows[0]:
        batch["embedding"] = torch.stack([row["embedding"] for row in rows])
    return batch
