"""Synthetic birds: determinism, sizes, captions that state the drawn colors, class ids, dataset features."""

from __future__ import annotations

import itertools
import re

import datasets
import numpy as np
import pytest
from PIL import Image

from stackgan_hf.data.synthetic_birds import (
    ATTRIBUTES,
    BACKGROUNDS,
    BEAK_COLOR,
    COLOR_NAMES,
    COLORS,
    NUM_CAPTIONS,
    NUM_CLASSES,
    BirdPose,
    class_id_from_attributes,
    colors_from_class_id,
    draw_bird,
    generate_synthetic_birds,
    load_synthetic_birds,
    make_example,
    part_centers,
    sample_attributes,
    sample_bird,
    write_captions,
)

PARTS = ("crown_color", "wing_color", "breast_color")
# An independent reading of the captions: which words name which part.
PART_WORDS = {
    "crown": ("crown_color",),
    "crowned": ("crown_color",),
    "head": ("crown_color",),
    "wing": ("wing_color",),
    "wings": ("wing_color",),
    "winged": ("wing_color",),
    "breast": ("breast_color",),
    "breasted": ("breast_color",),
    "belly": ("breast_color",),
    "bellied": ("breast_color",),
    "chest": ("breast_color",),
}
WHOLE_BIRD_WORDS = {"mostly": ("wing_color", "breast_color"), "entirely": PARTS}
SIZE_WORDS = {"small": "small", "little": "small", "large": "large", "big": "large"}
BACKGROUND_WORDS = {
    "sky": "sky",
    "grass": "grass",
    "grassy": "grass",
    "sand": "sand",
    "sandy": "sand",
    "water": "water",
}


def read_caption(caption: str) -> dict[str, set[str]]:
    """``{attribute: values the caption states}``; raises if a color word is attached to no part."""
    words = re.findall(r"[a-z]+", caption)
    stated: dict[str, set[str]] = {}
    for i, word in enumerate(words):
        if word in COLORS:
            nxt = words[i + 1] if i + 1 < len(words) else ""
            if nxt in PART_WORDS:  # "red crown", "red-crowned"
                parts = PART_WORDS[nxt]
            elif i >= 2 and words[i - 1] in ("is", "are"):  # "crown is red", "wings that are blue"
                noun = words[i - 3] if words[i - 2] == "that" else words[i - 2]
                if noun == "feathers":
                    noun = words[i - 3]
                parts = PART_WORDS[noun]
            elif i >= 1 and words[i - 1] in WHOLE_BIRD_WORDS:  # "mostly red", "entirely red"
                parts = WHOLE_BIRD_WORDS[words[i - 1]]
            else:
                raise AssertionError(f"color {word!r} of {caption!r} names no part")
            for part in parts:
                stated.setdefault(part, set()).add(word)
        elif word in SIZE_WORDS:
            stated.setdefault("size", set()).add(SIZE_WORDS[word])
        elif word in BACKGROUND_WORDS:
            stated.setdefault("background", set()).add(BACKGROUND_WORDS[word])
        elif word in ("short", "long"):
            assert words[i + 1] in ("beak", "bill", "pointed", "thin", "stubby"), caption
            stated.setdefault("beak_length", set()).add(word)
    return stated


def check_caption(caption: str, attributes: dict[str, str]) -> None:
    assert caption == caption.lower() and caption.strip() == caption, caption
    assert not re.search(r"\ba [aeiou]", caption), caption
    stated = read_caption(caption)
    for part in PARTS:
        assert part in stated, f"{caption!r} does not state the {part}"
    for name, values in stated.items():
        assert values == {attributes[name]}, f"{caption!r} states {name}={values}, not {attributes[name]}"


def nearest_color(rgb) -> str:
    """The bird color, background, beak or eye closest to ``rgb``."""
    palette = dict(COLORS)
    for name, (top, bottom) in BACKGROUNDS.items():
        palette[f"{name}-top"], palette[f"{name}-bottom"] = top, bottom
    palette["beak"] = BEAK_COLOR
    names = list(palette)
    distances = np.linalg.norm(
        np.asarray([palette[n] for n in names], float) - np.asarray(rgb, float), axis=1
    )
    return names[int(distances.argmin())]


def colors_at_parts(image: Image.Image, pose: BirdPose) -> dict[str, str]:
    pixels = np.asarray(image)
    return {
        part: nearest_color(pixels[int(y), int(x)])
        for part, (x, y) in part_centers(pose, image.size[0]).items()
    }


def example_attributes_and_pose(index: int, seed: int = 0, split: str = "train"):
    bird = sample_bird(index, seed=seed, split=split)
    return bird.attributes, bird.pose


# ----------------------------------------------------------------------------------------------------------


def test_vocabulary_colors_are_distinct_and_unlike_the_backgrounds():
    assert list(ATTRIBUTES) == [*PARTS, "beak_length", "size", "background"]
    assert len(COLOR_NAMES) == 8 and all(ATTRIBUTES[part] == COLOR_NAMES for part in PARTS)
    assert NUM_CLASSES == 512
    for a, b in itertools.combinations(COLORS.values(), 2):
        assert np.linalg.norm(np.subtract(a, b)) > 80
    for color in COLORS.values():
        for gradient in BACKGROUNDS.values():
            assert min(np.linalg.norm(np.subtract(color, end)) for end in gradient) > 70


def test_examples_are_deterministic_and_depend_on_seed_split_and_index():
    a = make_example(3, image_size=64, seed=7)
    b = make_example(3, image_size=64, seed=7)
    assert np.array_equal(np.asarray(a["image"]), np.asarray(b["image"]))
    assert a["captions"] == b["captions"] and a["class_id"] == b["class_id"]
    for other in (
        make_example(3, image_size=64, seed=8),
        make_example(3, image_size=64, seed=7, split="test"),
        make_example(4, image_size=64, seed=7),
    ):
        assert not np.array_equal(np.asarray(a["image"]), np.asarray(other["image"]))
        assert a["captions"] != other["captions"]
    # make_example draws sample_bird's attributes in its pose.
    bird = sample_bird(3, seed=7)
    assert {k: a[k] for k in ATTRIBUTES} == bird.attributes and a["captions"] == bird.captions
    assert np.array_equal(np.asarray(draw_bird(bird.attributes, 64, pose=bird.pose)), np.asarray(a["image"]))


@pytest.mark.parametrize("size", [64, 76, 256, 304, 1, 33])
def test_any_image_size(size):
    image = make_example(0, image_size=size)["image"]
    assert image.mode == "RGB" and image.size == (size, size)


def test_drawing_is_resolution_independent():
    attributes, pose = example_attributes_and_pose(1)
    small = np.asarray(draw_bird(attributes, 64, pose=pose), float)
    large = np.asarray(draw_bird(attributes, 256, pose=pose).resize((64, 64), Image.LANCZOS), float)
    assert np.abs(small - large).mean() < 4.0
    flipped = BirdPose(pose.center, pose.scale, pose.angle, not pose.facing_left)
    other = np.asarray(draw_bird(attributes, 64, pose=flipped), float)
    assert np.abs(small - other).mean() > 3 * np.abs(small - large).mean()


@pytest.mark.parametrize("size", [64, 256])
def test_drawn_colors_are_the_attributes(size):
    for index in range(40):
        attributes, pose = example_attributes_and_pose(index, seed=1)
        image = draw_bird(attributes, size, pose=pose)
        assert colors_at_parts(image, pose) == {part: attributes[part] for part in PARTS}, index
        # Enough pixels of each part's color (at 64 px a crown covers about 25 pixels).
        pixels = np.asarray(image, float).reshape(-1, 3)
        for part in PARTS:
            close = np.linalg.norm(pixels - COLORS[attributes[part]], axis=1) < 30
            assert close.sum() >= 20 * (size / 64) ** 2, (index, part)
        corner = nearest_color(np.asarray(image)[1, 1])
        assert corner.startswith(attributes["background"]), (index, corner)


def test_color_check_catches_a_wrong_color():
    attributes, pose = example_attributes_and_pose(0)
    swapped = dict(attributes, crown_color=next(c for c in COLOR_NAMES if c != attributes["crown_color"]))
    assert (
        colors_at_parts(draw_bird(swapped, 64, pose=pose), pose)["crown_color"] != attributes["crown_color"]
    )


def test_captions_state_the_attributes():
    rng = np.random.default_rng(0)
    forms = set()
    for _ in range(300):
        attributes = sample_attributes(rng)
        captions = write_captions(attributes, rng)
        assert len(captions) == NUM_CAPTIONS and len(set(captions)) == NUM_CAPTIONS
        for caption in captions:
            check_caption(caption, attributes)
            forms.add(" ".join(caption.split()[:2]))
    assert len(forms) >= 8  # varied openings
    # Every uniform bird and "mostly" bird is also described correctly.
    for color in COLOR_NAMES:
        attributes = dict(
            crown_color=color, wing_color=color, breast_color=color, beak_length="long", size="small"
        )
        for caption in write_captions(dict(attributes, background="sky"), rng):
            check_caption(caption, dict(attributes, background="sky"))


def test_caption_check_catches_wrong_or_missing_colors():
    attributes = {"crown_color": "red", "wing_color": "blue", "breast_color": "yellow"}
    attributes |= {"beak_length": "short", "size": "small", "background": "sky"}
    check_caption("this bird has a red crown, blue wings and a yellow breast", attributes)
    for wrong in (
        "this bird has a red crown, blue wings and a green breast",
        "this bird has a red crown and blue wings",
        "a large bird with a red crown, blue wings and a yellow breast",
        "the bird is mostly blue with a red crown",
        "a red bird with blue wings and a yellow belly",
    ):
        with pytest.raises(AssertionError):
            check_caption(wrong, attributes)


def test_class_id_is_the_color_combination():
    rng = np.random.default_rng(0)
    for _ in range(50):
        attributes = sample_attributes(rng)
        class_id = class_id_from_attributes(attributes)
        crown, wing, breast = (COLOR_NAMES.index(attributes[p]) for p in PARTS)
        assert class_id == crown * 64 + wing * 8 + breast
        assert colors_from_class_id(class_id) == {p: attributes[p] for p in PARTS}
    ids = {class_id_from_attributes(colors_from_class_id(i)) for i in range(NUM_CLASSES)}
    assert ids == set(range(NUM_CLASSES))
    with pytest.raises(ValueError):
        colors_from_class_id(NUM_CLASSES)


def test_dataset_rows_features_and_splits(tmp_path):
    birds = load_synthetic_birds(num_train=6, num_test=3, image_size=76, seed=3, cache_dir=str(tmp_path))
    assert isinstance(birds, datasets.DatasetDict) and set(birds) == {"train", "test"}
    train, test = birds["train"], birds["test"]
    assert (train.num_rows, test.num_rows) == (6, 3)
    features = train.features
    assert isinstance(features["image"], datasets.Image)
    assert features["captions"].length == NUM_CAPTIONS and features["captions"].feature.dtype == "string"
    assert features["class_id"].dtype == "int64" and features["filename"].dtype == "string"
    for name, values in ATTRIBUTES.items():
        assert isinstance(features[name], datasets.ClassLabel) and features[name].names == values

    for split, dataset in birds.items():
        for index, row in enumerate(dataset):
            attributes = {name: features[name].int2str(row[name]) for name in ATTRIBUTES}
            expected = make_example(index, image_size=76, seed=3, split=split)
            assert attributes == {name: expected[name] for name in ATTRIBUTES}
            assert row["image"].size == (76, 76)
            assert np.array_equal(np.asarray(row["image"].convert("RGB")), np.asarray(expected["image"]))
            assert row["captions"] == expected["captions"]
            assert row["class_id"] == class_id_from_attributes(attributes)
            assert row["filename"] == f"synthetic/{split}/{index:06d}"
            for caption in row["captions"]:
                check_caption(caption, attributes)
    assert train["captions"][:3] != test["captions"][:3]

    # A longer dataset starts with the rows of a shorter one; a cached one is reloaded identically.
    longer = generate_synthetic_birds(8, image_size=76, seed=3, cache_dir=str(tmp_path))
    assert longer["captions"][:6] == train["captions"]
    again = generate_synthetic_birds(6, image_size=76, seed=3, cache_dir=str(tmp_path))
    assert again["captions"] == train["captions"] and again["class_id"] == train["class_id"]
    parallel = generate_synthetic_birds(6, image_size=76, seed=3, cache_dir=str(tmp_path / "p"), num_proc=2)
    assert parallel["captions"] == train["captions"] and parallel["filename"] == train["filename"]


def test_invalid_arguments():
    with pytest.raises(ValueError):
        generate_synthetic_birds(0)
    with pytest.raises(ValueError):
        make_example(0, seed=-1)
    with pytest.raises(ValueError):
        draw_bird({"crown_color": "purple"}, 64)
    with pytest.raises(ValueError):
        draw_bird(sample_attributes(np.random.default_rng(0)), 0)
