"""CUB (StackGAN layout) -> datasets: a from-scratch fixture, the real metadata, CUB-50, bad input."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import datasets
import numpy as np
import PIL.Image
import pytest
from cub_fixture import make_cub_tree, write_pickle

from stackgan_hf.data import (
    CubFormatError,
    UnsafePickleError,
    build_cub_dataset,
    load_pickle,
    prepare_cub,
    stackgan_crop_box,
)
from stackgan_hf.data.cub import CubMetadata, read_stackgan_split

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


@pytest.fixture
def cub_tree(tmp_path):
    return make_cub_tree(tmp_path, embedding_dim=16)


def test_crop_box_is_stackgans_square_clipped_to_the_image():
    # A 20x10 box at (40, 30): R = int(0.75 * 20) = 15, centre (50, 35).
    assert stackgan_crop_box((40, 30, 20, 10), 200, 100) == (35, 20, 65, 50)
    # Near the top-left corner the square is clipped.
    assert stackgan_crop_box((0, 0, 20, 10), 200, 100) == (0, 0, 25, 20)


@pytest.mark.parametrize("protocol", [0, 2])
def test_fixture_builds_both_splits_with_all_columns(tmp_path, protocol):
    tree = make_cub_tree(tmp_path, embedding_dim=16, protocol=protocol)
    dataset, report = build_cub_dataset(tree["cub_dir"], tree["birds_dir"], image_size=76)
    assert set(dataset) == {"train", "test"}
    assert report.rows == {"train": 6, "test": 6} and report.classes == {"train": 2, "test": 2}
    train = dataset["train"]
    assert train["filename"] == tree["keys"]["train"]
    assert train.features["embeddings"].shape == (10, 16)
    np.testing.assert_array_equal(
        np.asarray(train["embeddings"], dtype=np.float32), tree["embeddings"]["train"]
    )
    assert train[0]["captions"] == tree["captions"][train[0]["filename"]]  # caption order kept
    assert train["class_id"] == [int(key[:3]) for key in tree["keys"]["train"]]
    image = train[0]["image"]
    assert image.size == (76, 76) and image.mode == "RGB"


def test_crop_centres_the_bounding_box(tmp_path):
    tree = make_cub_tree(tmp_path, image_size=(200, 160))
    dataset, _ = build_cub_dataset(tree["cub_dir"], tree["birds_dir"], image_size=120)
    for row in dataset["train"]:
        x, y, w, h = tree["boxes"][row["filename"]]
        left, top, right, bottom = stackgan_crop_box((x, y, w, h), 200, 160)
        pixels = np.asarray(row["image"], dtype=np.float32)
        red = (pixels[..., 0] > 150) & (pixels[..., 1] < 90)
        ys, xs = np.nonzero(red)
        # The red box, mapped into the crop and resized to 120 px, lands where the geometry says.
        sx, sy = 120 / (right - left), 120 / (bottom - top)
        assert abs(xs.mean() - ((x + w / 2) - left) * sx) < 3
        assert abs(ys.mean() - ((y + h / 2) - top) * sy) < 3


def test_without_embeddings_there_is_no_embeddings_column(tmp_path, caplog):
    tree = make_cub_tree(tmp_path)
    dataset, report = build_cub_dataset(tree["cub_dir"], tree["birds_dir"], image_size=64)
    assert "embeddings" not in dataset["train"].column_names and not report.has_embeddings
    assert "no `embeddings` column" in caplog.text


def test_cub_split_uses_images_txt_and_maps_embeddings_by_key(cub_tree):
    dataset, report = build_cub_dataset(
        cub_tree["cub_dir"], cub_tree["birds_dir"], split="cub", image_size=64
    )
    assert report.rows == {"train": 8, "test": 4}  # the first image of each of 4 classes is CUB-test
    by_key = dict(zip(cub_tree["keys"]["train"], cub_tree["embeddings"]["train"]))
    by_key.update(zip(cub_tree["keys"]["test"], cub_tree["embeddings"]["test"]))
    for row in dataset["test"]:
        np.testing.assert_array_equal(
            np.asarray(row["embeddings"], dtype=np.float32), by_key[row["filename"]]
        )


def test_prepare_cub_saves_atomically_and_loads_back(cub_tree, tmp_path):
    output = tmp_path / "prepared"
    prepare_cub(cub_tree["cub_dir"], cub_tree["birds_dir"], output, image_size=64)
    loaded = datasets.load_from_disk(str(output))
    assert loaded["train"].num_rows == 6 and (output / "build_info.json").is_file()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".prepared.")]
    assert leftovers == []


def test_a_failed_build_leaves_no_output_and_keeps_an_existing_one(cub_tree, tmp_path):
    output = tmp_path / "prepared"
    prepare_cub(cub_tree["cub_dir"], cub_tree["birds_dir"], output, image_size=64)
    before = sorted(p.name for p in output.iterdir())
    missing = cub_tree["cub_dir"] / "images" / f"{cub_tree['keys']['test'][1]}.jpg"
    missing.unlink()
    with pytest.raises(CubFormatError, match="is missing"):
        prepare_cub(cub_tree["cub_dir"], cub_tree["birds_dir"], output, image_size=64)
    assert sorted(p.name for p in output.iterdir()) == before
    fresh = tmp_path / "never-written"
    with pytest.raises(CubFormatError):
        prepare_cub(cub_tree["cub_dir"], cub_tree["birds_dir"], fresh, image_size=64)
    assert not fresh.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_errors_name_the_file(cub_tree, tmp_path):
    cub_dir, birds_dir = cub_tree["cub_dir"], cub_tree["birds_dir"]
    build = lambda **kw: build_cub_dataset(cub_dir, birds_dir, image_size=64, **kw)  # noqa: E731

    with pytest.raises(CubFormatError, match="does not exist"):
        build_cub_dataset(tmp_path / "nope", birds_dir)
    with pytest.raises(CubFormatError, match="the birds folder does not exist"):
        build_cub_dataset(cub_dir, tmp_path / "nope")

    key = cub_tree["keys"]["train"][0]
    caption_file = birds_dir / "text_c10" / f"{key}.txt"
    caption_file.write_text("only one line\n")
    with pytest.raises(CubFormatError, match=rf"{caption_file.name}: expected 10 captions .* found 1"):
        build()
    caption_file.write_text("\n".join(f"line {i}" for i in range(10)))

    image_file = cub_dir / "images" / f"{key}.jpg"
    image_file.write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    with pytest.raises(CubFormatError, match=rf"{image_file.name}: corrupt or unreadable"):
        build()
    dataset, report = build(skip_corrupt=True)
    assert report.rows["train"] == 5 and report.skipped_corrupt == [str(image_file)]
    assert key not in dataset["train"]["filename"]

    embeddings_file = birds_dir / "train" / "char-CNN-RNN-embeddings.pickle"
    write_pickle(embeddings_file, [np.zeros((10, 16), np.float32)] * 5)
    with pytest.raises(CubFormatError, match=rf"{embeddings_file.name}: expected shape \(6, 10, D\)"):
        build(skip_corrupt=True)
    write_pickle(embeddings_file, [np.zeros((9, 16), np.float32)] * 6)
    with pytest.raises(CubFormatError, match=r"got \(6, 9, 16\)"):
        build(skip_corrupt=True)
    write_pickle(embeddings_file, [np.zeros((10, 8), np.float32)] * 6)  # the test split's are 16-d
    with pytest.raises(CubFormatError, match=r"test/char-CNN-RNN-embeddings.pickle: 16-d embeddings, .* 8-d"):
        build(skip_corrupt=True)
    embeddings_file.unlink()
    with pytest.raises(CubFormatError, match="missing, while the other split has embeddings"):
        build(skip_corrupt=True)

    names_file = birds_dir / "test" / "filenames.pickle"
    write_pickle(names_file, cub_tree["keys"]["test"] + ["999.Nope/Nope_0001"])
    with pytest.raises(CubFormatError, match="class_info.pickle: 6 class ids for 7 file names"):
        build(embeddings_file="absent.pickle", skip_corrupt=True)
    (birds_dir / "test" / "class_info.pickle").unlink()  # optional: ids then come from the class folder
    with pytest.raises(CubFormatError, match="'999.Nope/Nope_0001' is not in images.txt"):
        build(embeddings_file="absent.pickle", skip_corrupt=True)
    (cub_dir / "bounding_boxes.txt").unlink()
    with pytest.raises(CubFormatError, match="bounding_boxes.txt: missing bounding boxes"):
        build()


def test_a_malicious_pickle_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "filenames.pickle"
    for protocol in (0, 2):
        write_pickle(path, ["002.Laysan_Albatross/x", Exploit()], protocol)
        with pytest.raises(
            UnsafePickleError, match=r"filenames.pickle: refused to load.*`(posix|os)\.system`"
        ):
            load_pickle(path)
        assert not marker.exists()
    # The same file does run code with the plain unpickler: the test's exploit is real.
    with path.open("rb") as handle:
        pickle.load(handle)
    assert marker.exists()


def test_malicious_pickle_in_a_birds_tree_stops_the_build(cub_tree):
    path = cub_tree["birds_dir"] / "train" / "class_info.pickle"
    path.write_bytes(b"cbuiltins\neval\n(S'1+1'\ntR.")
    with pytest.raises(UnsafePickleError, match=r"class_info.pickle: refused to load.*builtins\.eval"):
        build_cub_dataset(cub_tree["cub_dir"], cub_tree["birds_dir"])


def test_prepare_cub_script_end_to_end(cub_tree, tmp_path):
    output = tmp_path / "out"
    command = [
        sys.executable,
        str(REPO / "scripts" / "prepare_cub.py"),
        "--cub_dir",
        str(cub_tree["cub_dir"]),
    ]
    command += ["--birds_dir", str(cub_tree["birds_dir"]), "--output_dir", str(output), "--image_size", "64"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert '"train": 6' in result.stdout and datasets.load_from_disk(str(output))["test"].num_rows == 6
    (cub_tree["cub_dir"] / "images.txt").unlink()
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "images.txt: missing image list" in result.stderr


# ---------------------------------------------------------------- the real metadata (../shared/data)

needs_cub = pytest.mark.skipif(not (SHARED / "cub").is_dir(), reason="../shared/data/cub is not present")
needs_cub50 = pytest.mark.skipif(
    not (SHARED / "cub50").is_dir(), reason="../shared/data/cub50 is not present"
)


@needs_cub
def test_real_stackgan_pickles_and_metadata():
    birds = SHARED / "cub" / "birds"
    train_names, train_classes, _ = read_stackgan_split(birds, "train", "none.pickle")
    test_names, test_classes, _ = read_stackgan_split(birds, "test", "none.pickle")
    assert (len(train_names), len(test_names)) == (8855, 2933)
    assert (len(set(train_classes)), len(set(test_classes))) == (150, 50)
    assert not set(train_classes) & set(test_classes)  # StackGAN splits by class
    assert all(int(name[:3]) == c for name, c in zip(train_names + test_names, train_classes + test_classes))
    metadata = CubMetadata.read(SHARED / "cub" / "CUB_200_2011")
    assert len(metadata.image_paths) == 11788 and set(train_names + test_names) == set(metadata.image_paths)
    assert sum(metadata.cub_is_train.values()) == 5994  # CUB's own split: 5,994 train / 5,794 test


@needs_cub
def test_real_metadata_with_generated_images_and_official_embeddings(tmp_path):
    """The real pickles, boxes and captions for a subset of real names, with generated JPEGs."""
    real_cub, real_birds = SHARED / "cub" / "CUB_200_2011", SHARED / "cub" / "birds"
    cub_dir, birds_dir = tmp_path / "CUB_200_2011", tmp_path / "birds"
    metadata = CubMetadata.read(real_cub)
    lines = (real_cub / "images.txt").read_text().splitlines()
    ids = {line.split()[1][:-4]: line.split()[0] for line in lines}
    subset = {}
    for split in ("train", "test"):
        names, classes, _ = read_stackgan_split(real_birds, split, "none.pickle")
        subset[split] = (names[:3] + names[-2:], classes[:3] + classes[-2:])
    keys = [k for names, _ in subset.values() for k in names]
    wanted = {ids[k] for k in keys}
    cub_dir.mkdir()
    for name in ("images.txt", "bounding_boxes.txt", "train_test_split.txt"):
        kept = [ln for ln in (real_cub / name).read_text().splitlines() if ln.split()[0] in wanted]
        (cub_dir / name).write_text("\n".join(kept) + "\n")
    sizes = {}
    for key in keys:
        x, y, w, h = metadata.bounding_boxes[key]
        size = (int(x + w) + 17, int(y + h) + 11)
        sizes[key] = size
        path = cub_dir / "images" / f"{key}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        image = PIL.Image.new("RGB", size, (10, 200, 30))
        image.paste((230, 20, 20), (int(x), int(y), int(x + w), int(y + h)))  # the real bounding box, in red
        image.save(path, quality=95)
        (birds_dir / "text_c10" / f"{key}.txt").parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(real_birds / "text_c10" / f"{key}.txt", birds_dir / "text_c10" / f"{key}.txt")
    rng = np.random.default_rng(0)
    embeddings = {}
    for split, (names, classes) in subset.items():
        write_pickle(birds_dir / split / "filenames.pickle", names, protocol=0)
        write_pickle(birds_dir / split / "class_info.pickle", [np.int64(c) for c in classes], protocol=0)
        embeddings[split] = [rng.standard_normal((10, 1024)).astype(np.float32) for _ in names]
        write_pickle(birds_dir / split / "char-CNN-RNN-embeddings.pickle", embeddings[split], protocol=2)
    dataset, report = build_cub_dataset(cub_dir, birds_dir, image_size=76)
    assert report.rows == {"train": 5, "test": 5} and report.embedding_dim == 1024
    for split, (names, classes) in subset.items():
        rows = dataset[split]
        assert rows["filename"] == names and rows["class_id"] == [int(c) for c in classes]
        np.testing.assert_array_equal(np.asarray(rows["embeddings"], np.float32), np.stack(embeddings[split]))
        for row in rows:
            real_lines = (real_birds / "text_c10" / f"{row['filename']}.txt").read_text().splitlines()
            assert row["captions"] == [line.strip() for line in real_lines if line.strip()][:10]
    assert sorted(report.original_sizes) == sorted(sizes.values())
    # Crop geometry against the real boxes: the red box lands where StackGAN's crop puts it.
    for split in ("train", "test"):
        for row in dataset[split]:
            x, y, w, h = metadata.bounding_boxes[row["filename"]]
            left, top, right, bottom = stackgan_crop_box((x, y, w, h), *sizes[row["filename"]])
            pixels = np.asarray(row["image"], dtype=np.float32)
            ys, xs = np.nonzero((pixels[..., 0] > 150) & (pixels[..., 1] < 100))
            scale_x, scale_y = 76 / (right - left), 76 / (bottom - top)
            assert abs(xs.mean() - (x + w / 2 - left) * scale_x) < 2.5
            assert abs(ys.mean() - (y + h / 2 - top) * scale_y) < 2.5


@needs_cub50
def test_cub50_builds_as_it_is(tmp_path):
    root = SHARED / "cub50"
    dataset, report = build_cub_dataset(root / "CUB_200_2011", root / "birds", image_size=76)
    assert report.rows == {"train": 1906, "test": 983}
    assert report.classes == {"train": 33, "test": 17}
    assert not report.has_embeddings and report.skipped_corrupt == []
    assert max(max(size) for size in report.original_sizes) == 320
    row = dataset["train"][0]
    assert row["image"].size == (76, 76) and len(row["captions"]) == 10
