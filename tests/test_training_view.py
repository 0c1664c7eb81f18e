"""The training view: crops, flips, caption/embedding choice, mismatched images, determinism, sources."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
import torch
from cub_fixture import make_cub_tree

from stackgan_hf.data import (
    StackGANTrainingView,
    build_cub_dataset,
    collate_training_batch,
    load_stackgan_dataset,
    prepare_cub,
)


@pytest.fixture(scope="module")
def prepared_cub(tmp_path_factory):
    root = tmp_path_factory.mktemp("cub")
    tree = make_cub_tree(root, num_classes=4, images_per_class=4, embedding_dim=8)
    output = root / "prepared"
    prepare_cub(tree["cub_dir"], tree["birds_dir"], output, image_size=304)
    return output, tree


@pytest.mark.parametrize("crop_size", [64, 256])
def test_view_gives_cropped_flipped_images_in_unit_range(prepared_cub, crop_size):
    output, _ = prepared_cub
    dataset = load_stackgan_dataset(str(output), split="train")
    view = StackGANTrainingView(dataset, crop_size=crop_size, seed=0)
    row = dataset.with_transform(view)[0]
    assert row["pixel_values"].shape == row["mismatched_pixel_values"].shape == (3, crop_size, crop_size)
    assert row["pixel_values"].min() >= -1 and row["pixel_values"].max() <= 1
    assert row["embedding"].shape == (8,) and isinstance(row["caption"], str)


def test_caption_and_embedding_agree_and_mismatch_is_another_class(prepared_cub):
    output, tree = prepared_cub
    dataset = load_stackgan_dataset(str(output), split="train")
    view = StackGANTrainingView(dataset, crop_size=64, seed=3)
    class_of = dict(zip(dataset["filename"], dataset["class_id"]))
    image_of_class = {}
    for row in dataset:
        image_of_class.setdefault(row["class_id"], []).append(np.asarray(row["image"].resize((76, 76))))
    for epoch in range(3):
        view.set_epoch(epoch)
        rows = dataset.with_transform(view)[:]
        for i, key in enumerate(dataset["filename"]):
            k = tree["captions"][key].index(rows["caption"][i])
            embedding_index = tree["keys"]["train"].index(key)
            np.testing.assert_array_equal(
                rows["embedding"][i].numpy(), tree["embeddings"]["train"][embedding_index][k]
            )
            assert rows["class_id"][i] == class_of[key]
            # The mismatched crop must come from an image of another class: compare against every image.
            mismatched = rows["mismatched_pixel_values"][i]
            assert _best_matching_class(mismatched, image_of_class) != class_of[key]


def _best_matching_class(crop: torch.Tensor, image_of_class: dict) -> int:
    pixels = ((crop.permute(1, 2, 0).numpy() + 1) * 127.5).astype(np.float32)
    best, best_error = None, np.inf
    for class_id, images in image_of_class.items():
        for image in images:
            for flipped in (image, image[:, ::-1]):
                for top in range(13):
                    for left in range(13):
                        error = np.abs(flipped[top : top + 64, left : left + 64] - pixels).mean()
                        if error < best_error:
                            best, best_error = class_id, error
    assert best_error < 3, best_error
    return best


def test_view_is_deterministic_per_seed_and_epoch_and_varies_across_epochs(prepared_cub):
    output, _ = prepared_cub
    dataset = load_stackgan_dataset(str(output), split="train")
    a = dataset.with_transform(StackGANTrainingView(dataset, crop_size=64, seed=1))[:]
    b = dataset.with_transform(StackGANTrainingView(dataset, crop_size=64, seed=1))[:]
    torch.testing.assert_close(torch.stack(a["pixel_values"]), torch.stack(b["pixel_values"]), rtol=0, atol=0)
    assert a["caption"] == b["caption"]
    other_epoch = StackGANTrainingView(dataset, crop_size=64, seed=1)
    other_epoch.set_epoch(1)
    c = dataset.with_transform(other_epoch)[:]
    assert not torch.equal(torch.stack(a["pixel_values"]), torch.stack(c["pixel_values"]))
    # Row i's sample does not depend on which other rows are in the batch (so resuming and DDP sharding
    # see the same samples).
    single = dataset.with_transform(StackGANTrainingView(dataset, crop_size=64, seed=1))[5]
    torch.testing.assert_close(single["pixel_values"], a["pixel_values"][5], rtol=0, atol=0)


def test_mean_of_4_embeddings_option(prepared_cub):
    output, tree = prepared_cub
    dataset = load_stackgan_dataset(str(output), split="train")
    rows = dataset.with_transform(StackGANTrainingView(dataset, seed=0, embedding_mode="mean_of_4"))[:]
    for i, key in enumerate(dataset["filename"]):
        stored = tree["embeddings"]["train"][tree["keys"]["train"].index(key)]
        embedding = rows["embedding"][i].numpy()
        # It is the mean of some 4 distinct rows: solve for the subset among all C(10, 4) = 210.
        from itertools import combinations

        assert any(
            np.allclose(stored[list(s)].mean(0), embedding, atol=1e-6) for s in combinations(range(10), 4)
        )


def test_dataloader_collates_a_training_batch(prepared_cub):
    output, _ = prepared_cub
    dataset = load_stackgan_dataset(str(output), split="test")
    view = StackGANTrainingView(dataset, crop_size=64)
    loader = torch.utils.data.DataLoader(
        dataset.with_transform(view), batch_size=4, collate_fn=collate_training_batch
    )
    batch = next(iter(loader))
    assert batch["pixel_values"].shape == batch["mismatched_pixel_values"].shape == (4, 3, 64, 64)
    assert (
        batch["embedding"].shape == (4, 8) and len(batch["caption"]) == 4 and batch["class_id"].shape == (4,)
    )


def test_hub_style_dataset_with_other_column_names_gives_the_same_view(prepared_cub, tmp_path):
    """A dataset loaded by `load_dataset` (as from a Hub id), with its own column names."""
    output, _ = prepared_cub
    stored = datasets.load_from_disk(str(output))["train"]
    renamed = stored.remove_columns(["embeddings"]).rename_columns(
        {"image": "img", "captions": "text", "class_id": "label"}
    )
    parquet_dir = tmp_path / "hub-copy" / "data"
    parquet_dir.mkdir(parents=True)
    renamed.to_parquet(str(parquet_dir / "train-00000-of-00001.parquet"))
    loaded = load_stackgan_dataset(
        str(tmp_path / "hub-copy"),
        split="train",
        image_column="img",
        caption_column="text",
        class_column="label",
    )
    assert {"image", "captions", "class_id", "filename"} <= set(loaded.column_names)
    reference = stored.remove_columns(["embeddings"])
    ours = loaded.with_transform(StackGANTrainingView(loaded, seed=2))[:]
    theirs = reference.with_transform(StackGANTrainingView(reference, seed=2))[:]
    assert ours["caption"] == theirs["caption"]
    torch.testing.assert_close(
        torch.stack(ours["pixel_values"]), torch.stack(theirs["pixel_values"]), rtol=0, atol=0
    )
    with pytest.raises(ValueError, match="no caption column 'caption'.*--caption_column"):
        load_stackgan_dataset(
            str(tmp_path / "hub-copy"), split="train", image_column="img", caption_column="caption"
        )


def test_single_string_captions_and_no_classes_still_work(tmp_path):
    tree = make_cub_tree(tmp_path, num_classes=2, images_per_class=2)
    stored, _ = build_cub_dataset(tree["cub_dir"], tree["birds_dir"], image_size=76)
    one_caption = (
        stored["train"].map(lambda row: {"text": row["captions"][0]}).remove_columns(["captions", "class_id"])
    )
    from stackgan_hf.data.loading import standardize_columns

    dataset = standardize_columns(one_caption, "image", "text", "class_id", source="test")
    assert dataset[0]["captions"] == [stored["train"][0]["captions"][0]]
    rows = dataset.with_transform(StackGANTrainingView(dataset))[:]
    assert rows["class_id"] == [-1, -1] and rows["caption"] == [c[0] for c in stored["train"]["captions"]]


def test_view_rejects_unusable_datasets(tmp_path):
    tree = make_cub_tree(tmp_path, num_classes=2, images_per_class=2)
    stored, _ = build_cub_dataset(tree["cub_dir"], tree["birds_dir"], image_size=76)
    with pytest.raises(ValueError, match="same class_id"):
        StackGANTrainingView(stored["train"])  # one class only in this split
    with pytest.raises(ValueError, match="no `captions` column"):
        StackGANTrainingView(stored["train"].remove_columns(["captions"]))
    with pytest.raises(ValueError, match="embedding_mode"):
        StackGANTrainingView(stored["train"], embedding_mode="mean")


def test_synthetic_birds_load_through_the_same_view():
    dataset = load_stackgan_dataset("synthetic-birds", split="train", synthetic_num_images=16, seed=0)
    assert {"image", "captions", "class_id", "filename", "crown_color"} <= set(dataset.column_names)
    view = StackGANTrainingView(dataset, crop_size=64, seed=0)
    rows = dataset.with_transform(view)[:4]
    assert rows["pixel_values"][0].shape == rows["mismatched_pixel_values"][0].shape == (3, 64, 64)
    assert all(caption in captions for caption, captions in zip(rows["caption"], dataset[:4]["captions"]))
    assert "embedding" not in rows  # synthetic birds have no precomputed embeddings


def test_captions_embedded_once_give_what_per_step_encoding_gives(prepared_cub):
    """The trainer embeds a frozen encoder's captions once (embed_caption_lists): the view's embedding of
    every row must be the encoder's output for the caption the view picked, replacing the pickle's."""
    from stackgan_hf.data.loading import embed_caption_lists
    from stackgan_hf.text import CharCNNRNNEncoder, char_tokenizer, encode_prompts

    output, _ = prepared_cub
    dataset = load_stackgan_dataset(str(output), split="train")
    torch.manual_seed(0)
    encoder = CharCNNRNNEncoder(conv_channels=(8, 8, 8), rnn_hidden_dim=8, embedding_dim=6).eval()
    tokenizer = char_tokenizer()
    embedded = embed_caption_lists(dataset, encoder, tokenizer, batch_size=7)  # calls split rows unevenly
    assert embedded.features["embeddings"].shape == (10, 6)  # the pickle's 8-d column is replaced
    for epoch in range(2):
        view = StackGANTrainingView(embedded, crop_size=64, seed=1)
        view.set_epoch(epoch)
        rows = view.as_dataset()[:]  # embeddings read from memory, not from the formatted batch
        with torch.no_grad():
            expected = encode_prompts(rows["caption"], encoder, tokenizer)
        torch.testing.assert_close(torch.stack(rows["embedding"]), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"same number of captions to embed, found \[1, 10\]"):
        uneven = dataset.map(
            lambda row, i: {"captions": row["captions"][:1] if i == 0 else row["captions"]}, with_indices=True
        )
        embed_caption_lists(uneven, encoder, tokenizer)


def test_images_held_in_memory_give_the_same_batches_as_decoding_per_row(prepared_cub):
    output, _ = prepared_cub
    dataset = load_stackgan_dataset(str(output), split="train")
    held = StackGANTrainingView(dataset, crop_size=64, seed=2)
    decoded = StackGANTrainingView(dataset, crop_size=64, seed=2, pixels_in_memory_bytes=0)
    assert held._pixels is not None and decoded._pixels is None
    for epoch in range(2):
        held.set_epoch(epoch)
        decoded.set_epoch(epoch)
        a, b = held.as_dataset()[:], decoded.as_dataset()[:]
        for key in ("pixel_values", "mismatched_pixel_values", "embedding"):
            assert all(torch.equal(x, y) for x, y in zip(a[key], b[key]))
        assert a["caption"] == b["caption"]


def test_embeddings_held_in_memory_give_the_same_batches_as_reading_per_row(prepared_cub):
    output, _ = prepared_cub
    dataset = load_stackgan_dataset(str(output), split="train")
    held = StackGANTrainingView(dataset, crop_size=64, seed=3, embedding_mode="mean_of_4")
    per_row = StackGANTrainingView(
        dataset, crop_size=64, seed=3, embedding_mode="mean_of_4", embeddings_in_memory_bytes=0
    )
    assert isinstance(held._embeddings, np.ndarray) and not isinstance(per_row._embeddings, np.ndarray)
    for epoch in range(2):
        held.set_epoch(epoch)
        per_row.set_epoch(epoch)
        a, b = held.as_dataset()[:], per_row.as_dataset()[:]
        assert all(x.dtype == y.dtype and torch.equal(x, y) for x, y in zip(a["embedding"], b["embedding"]))
        assert a["caption"] == b["caption"]
