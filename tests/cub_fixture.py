"""A CUB-200-2011 + StackGAN "birds" tree made from scratch: generated JPEGs, Python-2 style pickles."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import PIL.Image


def write_pickle(path: Path, obj, protocol: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        pickle.dump(obj, handle, protocol=protocol)


def make_cub_tree(
    root: Path,
    num_classes: int = 4,
    images_per_class: int = 3,
    embedding_dim: int | None = None,
    protocol: int = 0,
    image_size: tuple[int, int] = (96, 72),
) -> dict:
    """Writes ``root/CUB_200_2011`` and ``root/birds``. Classes alternate between StackGAN's train and test
    splits (as StackGAN splits by class); CUB's own split puts each class's first image in test.

    Each image is a flat background with a red bounding-box rectangle, so crops can be checked. Returns
    the keys per split, the boxes and the captions.
    """
    cub, birds = root / "CUB_200_2011", root / "birds"
    (cub / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    images, boxes, split_lines, keys = [], [], [], {"train": [], "test": []}
    captions, bboxes = {}, {}
    image_id = 0
    for c in range(1, num_classes + 1):
        class_dir = f"{c:03d}.Bird_{c}"
        (cub / "images" / class_dir).mkdir()
        for i in range(images_per_class):
            image_id += 1
            key = f"{class_dir}/Bird_{c}_{i:04d}_{image_id}"
            width, height = image_size
            w, h = int(rng.integers(10, 30)), int(rng.integers(10, 30))
            x, y = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
            image = PIL.Image.new("RGB", (width, height), (40, 90, 40))
            image.paste((220, 20, 20), (x, y, x + w, y + h))
            image.save(cub / "images" / f"{key}.jpg", quality=95)
            images.append(f"{image_id} {key}.jpg")
            boxes.append(f"{image_id} {x}.0 {y}.0 {w}.0 {h}.0")
            split_lines.append(f"{image_id} {0 if i == 0 else 1}")
            keys["train" if c % 2 else "test"].append(key)
            bboxes[key] = (x, y, w, h)
            captions[key] = [f"caption {k} of bird {c} image {i}" for k in range(10)]
            text = birds / "text_c10" / f"{key}.txt"
            text.parent.mkdir(parents=True, exist_ok=True)
            text.write_text("\n".join(captions[key]) + "\n")
    (cub / "images.txt").write_text("\n".join(images) + "\n")
    (cub / "bounding_boxes.txt").write_text("\n".join(boxes) + "\n")
    (cub / "train_test_split.txt").write_text("\n".join(split_lines) + "\n")
    embeddings = {}
    for split, split_keys in keys.items():
        write_pickle(birds / split / "filenames.pickle", split_keys, protocol)
        class_ids = [np.int64(int(key[:3])) for key in split_keys]  # numpy scalars, as in the real file
        write_pickle(birds / split / "class_info.pickle", class_ids, protocol)
        if embedding_dim is not None:
            arrays = [rng.standard_normal((10, embedding_dim)).astype(np.float32) for _ in split_keys]
            write_pickle(birds / split / "char-CNN-RNN-embeddings.pickle", arrays, protocol)
            embeddings[split] = np.stack(arrays)
    return {
        "cub_dir": cub,
        "birds_dir": birds,
        "keys": keys,
        "boxes": bboxes,
        "captions": captions,
        "embeddings": embeddings,
    }
