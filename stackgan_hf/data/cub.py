"""CUB-200-2011 in StackGAN's layout -> a ``datasets.DatasetDict`` (train/test), preprocessed once.

Reads ``cub_dir`` (``images.txt``, ``bounding_boxes.txt``, ``train_test_split.txt``, ``images/``) and
``birds_dir`` (``filenames.pickle``, ``class_info.pickle``, ``text_c10/``, optional char-CNN-RNN embeddings).
Rows: ``image`` (StackGAN's bounding-box crop, JPEG), ``captions`` (10), ``embeddings`` (``10 x D``),
``class_id`` (1-200), ``filename``. See docs/training.md.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import datasets
import numpy as np
import PIL.Image
from tqdm.auto import tqdm

from ..utils.config import InputError
from .safe_pickle import load_pickle

logger = logging.getLogger(__name__)

CAPTIONS_PER_IMAGE = 10
EMBEDDINGS_FILE = "char-CNN-RNN-embeddings.pickle"
SPLITS = ("train", "test")
#: The largest --image_size: a 4096x4096 JPEG per bird is already far beyond what the models read (304).
MAX_IMAGE_SIZE = 4096
CUB_METADATA_FILES = {
    "images.txt": "image list (images.txt: '<id> <class>/<name>.jpg')",
    "bounding_boxes.txt": "bounding boxes ('<id> <x> <y> <w> <h>')",
    "train_test_split.txt": "CUB split ('<id> <1|0>')",
}


class CubFormatError(InputError):
    """A CUB / StackGAN input file is missing or not in the expected format; the message names the file."""


@dataclass
class BuildReport:
    """What a build made (split scheme, image size) and found: rows per split, classes, original image
    sizes, skipped corrupt images."""

    split: str = "stackgan"
    image_size: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    classes: dict[str, int] = field(default_factory=dict)
    skipped_corrupt: list[str] = field(default_factory=list)
    original_sizes: list[tuple[int, int]] = field(default_factory=list)
    has_embeddings: bool = False
    embedding_dim: int | None = None

    def summary(self) -> dict:
        widths = np.array([w for w, _ in self.original_sizes] or [0])
        heights = np.array([h for _, h in self.original_sizes] or [0])
        return {
            "split": self.split,
            "image_size": self.image_size,
            "rows": self.rows,
            "classes": self.classes,
            "has_embeddings": self.has_embeddings,
            "embedding_dim": self.embedding_dim,
            "skipped_corrupt": len(self.skipped_corrupt),
            "original_image_size": {
                "width": {"min": int(widths.min()), "mean": float(widths.mean()), "max": int(widths.max())},
                "height": {
                    "min": int(heights.min()),
                    "mean": float(heights.mean()),
                    "max": int(heights.max()),
                },
            },
        }


def stackgan_crop_box(
    bbox: tuple[float, float, float, float], width: int, height: int
) -> tuple[int, int, int, int]:
    """StackGAN's crop around a CUB bounding box ``(x, y, w, h)``: ``(left, top, right, bottom)``.

    A square of half-side ``R = int(0.75 * max(w, h))`` centerd on the box center (integer pixels, as in the
    official code), clipped to the image, so near the border the crop is a rectangle.
    """
    x, y, w, h = bbox
    radius = int(max(w, h) * 0.75)
    center_x, center_y = int((2 * x + w) / 2), int((2 * y + h) / 2)
    left, right = max(0, center_x - radius), min(width, center_x + radius)
    top, bottom = max(0, center_y - radius), min(height, center_y + radius)
    return left, top, right, bottom


def _require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise CubFormatError(f"{path}: missing {what}.")
    return path


def _read_table(path: Path, columns: int, what: str) -> dict[str, list[str]]:
    """``"<image_id> <value> ..."`` lines -> {image_id: [values]}, checking the column count."""
    _require_file(path, what)
    table = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != columns:
            raise CubFormatError(f"{path}, line {number}: expected {columns} fields ({what}), got {line!r}.")
        table[parts[0]] = parts[1:]
    return table


@dataclass
class CubMetadata:
    """The CUB metadata, keyed by StackGAN key ``<class dir>/<image name without .jpg>``."""

    image_paths: dict[str, Path]
    bounding_boxes: dict[str, tuple[float, float, float, float]]
    cub_is_train: dict[str, bool]

    @classmethod
    def read(cls, cub_dir: str | Path) -> CubMetadata:
        cub_dir = Path(cub_dir)
        if not cub_dir.is_dir():
            raise CubFormatError(
                f"{cub_dir}: the CUB folder does not exist (expected images.txt, images/, ...)."
            )
        images = _read_table(cub_dir / "images.txt", 2, CUB_METADATA_FILES["images.txt"])
        boxes = _read_table(cub_dir / "bounding_boxes.txt", 5, CUB_METADATA_FILES["bounding_boxes.txt"])
        split = _read_table(cub_dir / "train_test_split.txt", 2, CUB_METADATA_FILES["train_test_split.txt"])
        paths, bboxes, is_train = {}, {}, {}
        for image_id, (relative,) in images.items():
            key = relative[: -len(".jpg")] if relative.endswith(".jpg") else relative
            if image_id not in boxes:
                raise CubFormatError(
                    f"{cub_dir / 'bounding_boxes.txt'}: no bounding box for image id {image_id}."
                )
            paths[key] = cub_dir / "images" / relative
            bboxes[key] = tuple(float(v) for v in boxes[image_id])
            is_train[key] = split.get(image_id, ["0"])[0] == "1"
        return cls(paths, bboxes, is_train)


def _class_id_of(key: str) -> int:
    return int(key.split(".", 1)[0])


def read_captions(path: Path) -> list[str]:
    """The first 10 non-empty lines of a ``text_c10`` file; fewer is an error naming the file."""
    _require_file(path, "caption file (10 captions, one per line)")
    lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    lines = [line for line in lines if line]
    if len(lines) < CAPTIONS_PER_IMAGE:
        raise CubFormatError(
            f"{path}: expected {CAPTIONS_PER_IMAGE} captions (one per line), found {len(lines)}."
        )
    return lines[:CAPTIONS_PER_IMAGE]


def read_stackgan_split(
    birds_dir: Path, split: str, embeddings_file: str
) -> tuple[list[str], list[int], np.ndarray | None]:
    """``filenames.pickle`` keys, ``class_info.pickle`` ids and the embeddings ``[N, 10, D]`` (or None)."""
    split_dir = birds_dir / split
    names_path = _require_file(split_dir / "filenames.pickle", "StackGAN file list (filenames.pickle)")
    names = load_pickle(names_path)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CubFormatError(f"{names_path}: expected a list of strings like '002.Laysan_Albatross/<name>'.")
    class_path = split_dir / "class_info.pickle"
    class_ids = (
        [int(c) for c in load_pickle(class_path)]
        if class_path.is_file()
        else [_class_id_of(n) for n in names]
    )
    if len(class_ids) != len(names):
        raise CubFormatError(f"{class_path}: {len(class_ids)} class ids for {len(names)} file names.")
    embeddings = None
    embeddings_path = split_dir / embeddings_file
    if embeddings_path.is_file():
        raw = load_pickle(embeddings_path)
        try:
            embeddings = np.asarray(raw, dtype=np.float32)
        except (TypeError, ValueError) as error:
            raise CubFormatError(
                f"{embeddings_path}: expected {len(names)} arrays of shape (10, D): {error}"
            ) from None
        if (
            embeddings.ndim != 3
            or embeddings.shape[0] != len(names)
            or embeddings.shape[1] != CAPTIONS_PER_IMAGE
        ):
            raise CubFormatError(
                f"{embeddings_path}: expected shape ({len(names)}, {CAPTIONS_PER_IMAGE}, D) to match "
                f"{names_path} ({len(names)} names), got {embeddings.shape}."
            )
    return names, class_ids, embeddings


def load_cropped_image(path: Path, bbox, image_size: int) -> tuple[bytes, tuple[int, int]]:
    """Opens, crops (StackGAN box) and resizes one image; returns JPEG bytes and the original size."""
    with PIL.Image.open(path) as image:
        image = image.convert("RGB")  # a few CUB images are grayscale
    original_size = image.size
    image = image.crop(stackgan_crop_box(bbox, *original_size)).resize(
        (image_size, image_size), PIL.Image.BICUBIC
    )
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue(), original_size


@dataclass
class _SplitSpec:
    names: list[str]
    class_ids: list[int]
    embeddings: np.ndarray | None


def _split_specs(
    metadata: CubMetadata, birds_dir: Path, split: Literal["stackgan", "cub"], embeddings_file: str
) -> dict[str, _SplitSpec]:
    stackgan = {name: read_stackgan_split(birds_dir, name, embeddings_file) for name in SPLITS}
    present = [stackgan[name][2] is not None for name in SPLITS]
    if any(present) and not all(present):
        missing = [birds_dir / name / embeddings_file for name, ok in zip(SPLITS, present) if not ok]
        raise CubFormatError(f"{missing[0]}: missing, while the other split has embeddings.")
    widths = {name: stackgan[name][2].shape[2] for name in SPLITS if stackgan[name][2] is not None}
    if len(set(widths.values())) > 1:  # one text encoder for both splits, or the test rows are unreadable
        train, test = (birds_dir / name / embeddings_file for name in ("train", "test"))
        raise CubFormatError(
            f"{test}: {widths['test']}-d embeddings, while {train} has {widths['train']}-d ones "
            "(both splits must come from the same text encoder)."
        )
    if split == "stackgan":
        return {name: _SplitSpec(*stackgan[name]) for name in SPLITS}
    if split != "cub":
        raise ValueError(f"split must be 'stackgan' or 'cub', got {split!r}.")
    # CUB's own split: every image listed in images.txt; embeddings looked up by key from both pickles.
    by_key = {}
    for names, _, embeddings in stackgan.values():
        if embeddings is not None:
            by_key.update(zip(names, embeddings))
    specs = {}
    for name, wanted in (("train", True), ("test", False)):
        names = sorted(key for key, is_train in metadata.cub_is_train.items() if is_train == wanted)
        embeddings = None
        if by_key:
            missing = [key for key in names if key not in by_key]
            if missing:
                raise CubFormatError(
                    f"{birds_dir}: no char-CNN-RNN embedding for {missing[0]} (and {len(missing) - 1} more)."
                )
            embeddings = np.stack([by_key[key] for key in names])
        specs[name] = _SplitSpec(names, [_class_id_of(key) for key in names], embeddings)
    return specs


def cub_features(embedding_dim: int | None) -> datasets.Features:
    features = {
        "image": datasets.Image(),
        "captions": datasets.Sequence(datasets.Value("string"), length=CAPTIONS_PER_IMAGE),
        "class_id": datasets.Value("int32"),
        "filename": datasets.Value("string"),
    }
    if embedding_dim is not None:
        features["embeddings"] = datasets.Array2D((CAPTIONS_PER_IMAGE, embedding_dim), "float32")
    return datasets.Features(features)


def check_cub_inputs(cub_dir: str | Path, birds_dir: str | Path, image_size: int = 304) -> None:
    """The quick checks of a build, before any image is read: ``image_size`` is a positive integer, and
    both folders exist with their metadata files. Raises :class:`CubFormatError` naming what is wrong."""
    if (
        isinstance(image_size, bool)
        or not isinstance(image_size, int)
        or not 1 <= image_size <= MAX_IMAGE_SIZE
    ):
        raise CubFormatError(f"image_size must be an integer from 1 to {MAX_IMAGE_SIZE}, got {image_size!r}.")
    birds_dir, cub_dir = Path(birds_dir), Path(cub_dir)
    if not birds_dir.is_dir():
        raise CubFormatError(
            f"{birds_dir}: the birds folder does not exist (expected train/, test/, text_c10/)."
        )
    if not (birds_dir / "text_c10").is_dir():
        raise CubFormatError(f"{birds_dir / 'text_c10'}: missing caption folder (text_c10/<key>.txt).")
    if not cub_dir.is_dir():
        raise CubFormatError(f"{cub_dir}: the CUB folder does not exist (expected images.txt, images/, ...).")
    for name, what in CUB_METADATA_FILES.items():
        _require_file(cub_dir / name, what)
    if not (cub_dir / "images").is_dir():
        raise CubFormatError(f"{cub_dir / 'images'}: missing image folder (images/<class>/<name>.jpg).")
    for split in SPLITS:
        _require_file(birds_dir / split / "filenames.pickle", "StackGAN file list (filenames.pickle)")


def build_cub_dataset(
    cub_dir: str | Path,
    birds_dir: str | Path,
    split: Literal["stackgan", "cub"] = "stackgan",
    image_size: int = 304,
    embeddings_file: str = EMBEDDINGS_FILE,
    skip_corrupt: bool = False,
) -> tuple[datasets.DatasetDict, BuildReport]:
    """Reads, crops and resizes every image of both splits into a ``DatasetDict``.

    Args:
        cub_dir: the ``CUB_200_2011`` folder.
        birds_dir: StackGAN's ``birds`` folder (filenames, class info, captions, embeddings).
        split: ``"stackgan"`` (StackGAN's class split) or ``"cub"`` (CUB's ``train_test_split.txt``).
        image_size: side of the stored square crops.
        embeddings_file: the embeddings pickle's name in each split folder.
        skip_corrupt: skip unreadable images (counted in the report) instead of failing.

    Returns:
        ``(dataset_dict, report)``.

    Raises:
        CubFormatError: naming the file, for missing or malformed inputs, a key without an image, a corrupt
            image, embeddings that do not match ``filenames.pickle`` and caption files under 10 lines.
    """
    check_cub_inputs(cub_dir, birds_dir, image_size)
    birds_dir = Path(birds_dir)
    metadata = CubMetadata.read(cub_dir)
    specs = _split_specs(metadata, birds_dir, split, embeddings_file)
    report = BuildReport(split=split, image_size=image_size)
    first = next((spec.embeddings for spec in specs.values() if spec.embeddings is not None), None)
    report.has_embeddings = first is not None
    report.embedding_dim = int(first.shape[2]) if first is not None else None
    if first is None:
        logger.warning(
            "No %s in %s/{train,test}: the dataset has no `embeddings` column (use a text encoder instead).",
            embeddings_file,
            birds_dir,
        )
    features = cub_features(report.embedding_dim)
    splits = {}
    for split_name, spec in specs.items():
        for key in spec.names:
            if key not in metadata.image_paths:
                raise CubFormatError(
                    f"{birds_dir / split_name / 'filenames.pickle'}: {key!r} is not in images.txt."
                )
        rows = list(_rows(spec, metadata, birds_dir, image_size, skip_corrupt, report, split_name))
        if not rows:  # an empty split cannot be trained or evaluated on, nor loaded back
            raise CubFormatError(_no_rows_message(birds_dir / split_name / "filenames.pickle", spec, report))
        splits[split_name] = datasets.Dataset.from_list(rows, features=features)
        report.rows[split_name] = len(splits[split_name])
        report.classes[split_name] = len(set(spec.class_ids))
    return datasets.DatasetDict(splits), report


def _no_rows_message(names_path: Path, spec: _SplitSpec, report: BuildReport) -> str:
    if not spec.names:
        return f"{names_path}: lists no images; nothing was saved."
    return (
        f"{names_path}: all {len(spec.names)} images were skipped as corrupt or unreadable (e.g. "
        f"{report.skipped_corrupt[-1]}); nothing was saved. Check the images and --image_size."
    )


def _rows(
    spec: _SplitSpec,
    metadata: CubMetadata,
    birds_dir: Path,
    image_size: int,
    skip_corrupt: bool,
    report: BuildReport,
    split_name: str,
) -> Iterator[dict]:
    for index, key in enumerate(tqdm(spec.names, desc=f"CUB {split_name}", unit="img")):
        path = metadata.image_paths[key]
        if not path.is_file():
            raise CubFormatError(
                f"{path}: image of {key!r} (listed in {split_name}/filenames.pickle) is missing."
            )
        try:
            jpeg, original_size = load_cropped_image(path, metadata.bounding_boxes[key], image_size)
        except (OSError, SyntaxError, ValueError) as error:  # PIL's errors for truncated or invalid files
            if not skip_corrupt:
                raise CubFormatError(
                    f"{path}: corrupt or unreadable image ({error}); use --skip_corrupt."
                ) from None
            report.skipped_corrupt.append(str(path))
            continue
        report.original_sizes.append(original_size)
        row = {
            "image": {"bytes": jpeg, "path": None},
            "captions": read_captions(birds_dir / "text_c10" / f"{key}.txt"),
            "class_id": int(spec.class_ids[index]),
            "filename": key,
        }
        if spec.embeddings is not None:
            row["embeddings"] = spec.embeddings[index]
        yield row


def save_dataset_atomically(
    dataset: datasets.DatasetDict, output_dir: str | Path, info: dict | None = None
) -> Path:
    """``save_to_disk`` into a temporary sibling folder, then rename: a failed save leaves no half-written
    ``output_dir`` behind (an existing one is replaced only once the new one is complete)."""
    output_dir = Path(output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.", dir=output_dir.parent))
    try:
        dataset.save_to_disk(str(staging))
        if info is not None:
            (staging / "build_info.json").write_text(json.dumps(info, indent=2) + "\n")
        if output_dir.exists():
            shutil.rmtree(output_dir)
        os.replace(staging, output_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return output_dir


def prepare_cub(
    cub_dir: str | Path,
    birds_dir: str | Path,
    output_dir: str | Path,
    text_encoder: str | None = None,
    **options: Any,
) -> tuple[datasets.DatasetDict, BuildReport]:
    """Builds the dataset with :func:`build_cub_dataset` and saves it atomically, with ``build_info.json``.

    Args:
        cub_dir, birds_dir: as for :func:`build_cub_dataset`.
        output_dir: where the ``DatasetDict`` is saved.
        text_encoder: a folder or Hub id for :func:`~stackgan_hf.text.load_text_encoder` (e.g. a char-CNN-RNN
            from ``scripts/train_text_encoder.py``) that writes the ``embeddings`` column (10 x D per image),
            replacing the pickle's.
        **options: :func:`build_cub_dataset`'s ``split``, ``image_size``, ``embeddings_file`` and
            ``skip_corrupt``.

    Returns:
        ``(dataset_dict, report)``.
    """
    encoder = None
    if text_encoder is not None:  # loaded first: a wrong name fails before the images are read
        from ..text import load_text_encoder
        from ..utils.hub import check_model_path

        try:
            check_model_path(text_encoder, index_file="config.json")
            encoder = load_text_encoder(text_encoder)
        except FileNotFoundError as error:
            raise CubFormatError(f"--text_encoder {error}") from None
        except (OSError, ValueError) as error:  # transformers' errors for a missing or foreign folder
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise CubFormatError(
                f"--text_encoder {text_encoder}: not a text encoder folder or a reachable Hub id ({reason})."
            ) from None
    dataset, report = build_cub_dataset(cub_dir, birds_dir, **options)
    info = {"source": "cub", **report.summary()}
    if encoder is not None:
        dataset = embed_captions(dataset, *encoder)
        report.has_embeddings, report.embedding_dim = (
            True,
            int(dataset["train"].features["embeddings"].shape[1]),
        )
        info.update(has_embeddings=True, embedding_dim=report.embedding_dim, text_encoder=str(text_encoder))
    save_dataset_atomically(dataset, output_dir, info)
    return dataset, report


def embed_captions(
    dataset: datasets.DatasetDict, text_encoder, tokenizer=None, batch_size: int = 320
) -> datasets.DatasetDict:
    """Every split with an ``embeddings`` column (``[10, D]`` float32 per image: its ten captions embedded
    with ``text_encoder``), replacing any existing one."""
    from .loading import embed_caption_lists

    for name, split in dataset.items():
        if any(len(captions) != CAPTIONS_PER_IMAGE for captions in split["captions"]):
            raise CubFormatError(
                f"Every image of the {name} split needs {CAPTIONS_PER_IMAGE} captions to embed."
            )
    return datasets.DatasetDict(
        {
            name: embed_caption_lists(split, text_encoder, tokenizer, batch_size=batch_size)
            for name, split in dataset.items()
        }
    )
