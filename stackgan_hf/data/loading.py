"""One entry point for every training dataset: a prepared folder, a Hub dataset id, or synthetic birds."""

from __future__ import annotations

from pathlib import Path

import datasets

from ..utils.config import InputError

SYNTHETIC_BIRDS = "synthetic-birds"
# Synthetic birds whose `embeddings` are their attribute one-hots: a development diagnostic that separates
# what the GAN cannot draw from what a text encoder cannot say (train with --text_encoder precomputed).
SYNTHETIC_BIRDS_ORACLE = "synthetic-birds-oracle"


class UnknownSplitError(InputError):
    """The dataset has no split of the name asked for; the message lists the splits it has."""


def load_stackgan_dataset(
    dataset: str,
    split: str = "train",
    image_column: str = "image",
    caption_column: str = "captions",
    class_column: str = "class_id",
    synthetic_num_images: int = 2048,
    synthetic_image_size: int = 76,
    seed: int = 0,
    **load_kwargs,
) -> datasets.Dataset:
    """Loads one split with the columns the training view reads.

    Args:
        dataset: ``"synthetic-birds"``; a folder written by ``scripts/prepare_cub.py`` (``save_to_disk``); or
            anything ``datasets.load_dataset`` takes (a Hub dataset id, a folder of parquet files).
        split: the split's name. image_column / caption_column / class_column: the source's column names,
            renamed to ``image`` / ``captions`` / ``class_id``. A caption column holding one string per row
            becomes a 1-item list. synthetic_num_images / synthetic_image_size: size of the generated
            synthetic-birds split.
        seed: the synthetic birds' seed.
        **load_kwargs: passed to ``datasets.load_dataset``.

    Returns:
        A ``datasets.Dataset`` with ``image``, ``captions`` (lists of strings) and, when available,
        ``class_id``, ``embeddings`` and ``filename``.
    """
    if dataset in (SYNTHETIC_BIRDS, SYNTHETIC_BIRDS_ORACLE):
        from .synthetic_birds import add_oracle_embeddings, load_synthetic_birds

        if split not in ("train", "test"):  # checked before the birds are drawn
            raise UnknownSplitError(f"{dataset}: no split {split!r} (splits: ['train', 'test']).")
        splits = load_synthetic_birds(
            num_train=synthetic_num_images,
            num_test=max(1, synthetic_num_images // 4),
            image_size=synthetic_image_size,
            seed=seed,
        )
        return add_oracle_embeddings(splits[split]) if dataset == SYNTHETIC_BIRDS_ORACLE else splits[split]
    path = Path(dataset)
    if path.is_dir() and ((path / "dataset_dict.json").is_file() or (path / "dataset_info.json").is_file()):
        loaded = datasets.load_from_disk(str(path))
        if isinstance(loaded, datasets.DatasetDict):
            if split not in loaded:
                raise UnknownSplitError(f"{path}: no split {split!r} (splits: {list(loaded)}).")
            loaded = loaded[split]
    else:
        loaded = datasets.load_dataset(dataset, split=split, **load_kwargs)
    return standardize_columns(loaded, image_column, caption_column, class_column, source=dataset)


def standardize_columns(
    dataset: datasets.Dataset, image_column: str, caption_column: str, class_column: str, source: str
) -> datasets.Dataset:
    """Renames the source's columns to the training view's names and checks they exist."""
    for column, role in ((image_column, "image"), (caption_column, "caption")):
        if column not in dataset.column_names:
            raise ValueError(
                f"{source}: no {role} column {column!r} (columns: {dataset.column_names}); "
                f"pass --{role}_column with the right name."
            )
    renames = {image_column: "image", caption_column: "captions"}
    if class_column in dataset.column_names:
        renames[class_column] = "class_id"
    dataset = dataset.rename_columns({old: new for old, new in renames.items() if old != new})
    if not isinstance(dataset.features["image"], datasets.Image):
        dataset = dataset.cast_column("image", datasets.Image())
    if isinstance(dataset.features["captions"], datasets.Value):
        dataset = dataset.map(lambda row: {"captions": [row["captions"]]}, desc="captions -> lists")
    return dataset


def caption_list(captions) -> list[str]:
    """A row's ``captions`` value as a list (a single string is a list of one)."""
    return [captions] if isinstance(captions, str) else list(captions)


def uniform_caption_count(dataset: datasets.Dataset) -> int | None:
    """The number of captions every row holds, or None when rows differ."""
    counts = {len(caption_list(captions)) for captions in dataset["captions"]}
    return counts.pop() if len(counts) == 1 else None


def embed_caption_lists(
    dataset: datasets.Dataset,
    text_encoder,
    tokenizer=None,
    pooling: str = "auto",
    device=None,
    batch_size: int = 64,
) -> datasets.Dataset:
    """``dataset`` with an ``embeddings`` column (replacing any) of each row's ``captions`` embedded by the
    frozen ``text_encoder``: ``[N, D]`` float32, the same N in every row. Embedding ``j`` is caption ``j``'s,
    so a training view reading both sees what encoding on the fly would give, and each caption is encoded
    once."""
    import torch

    from ..text import encode_prompts, text_embedding_dim

    per_row = uniform_caption_count(dataset)
    if per_row is None:
        counts = sorted({len(caption_list(captions)) for captions in dataset["captions"]})
        raise ValueError(f"Every row needs the same number of captions to embed, found {counts}.")

    def embed(rows: dict) -> dict:
        captions = [caption for captions in rows["captions"] for caption in caption_list(captions)]
        with torch.no_grad():
            embedded = encode_prompts(captions, text_encoder, tokenizer, pooling, device).float().cpu()
        return {"embeddings": embedded.numpy().reshape(len(rows["captions"]), per_row, -1)}

    if "embeddings" in dataset.column_names:
        dataset = dataset.remove_columns("embeddings")
    features = dataset.features.copy()
    features["embeddings"] = datasets.Array2D((per_row, text_embedding_dim(text_encoder)), "float32")
    rows_per_call = max(1, batch_size // per_row)  # about batch_size captions per encoder call
    return dataset.map(
        embed, batched=True, batch_size=rows_per_call, features=features, desc="Embedding captions"
    )
