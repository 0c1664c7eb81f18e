"""Synthetic birds: a procedural, offline text-to-image dataset in the style of CUB-200-2011.

Each example is a cartoon bird with 10 CUB-style captions written from its attributes (:data:`ATTRIBUTES`:
crown, wing and breast colors, beak length, size, background); ``class_id`` indexes the color triple.
Examples depend on ``(seed, split, i)`` only and look the same at every resolution. Design:
docs/theory.md, "Synthetic birds".
"""

from __future__ import annotations

import hashlib
import math
import re
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import datasets
import numpy as np
from PIL import Image, ImageDraw

__all__ = [
    "ATTRIBUTES",
    "add_oracle_embeddings",
    "BACKGROUNDS",
    "BEAK_COLOR",
    "COLORS",
    "COLOR_NAMES",
    "NUM_CAPTIONS",
    "NUM_CLASSES",
    "BirdPose",
    "BirdSpec",
    "class_id_from_attributes",
    "colors_from_class_id",
    "draw_bird",
    "generate_synthetic_birds",
    "load_synthetic_birds",
    "make_example",
    "part_centers",
    "sample_attributes",
    "sample_bird",
    "sample_pose",
    "synthetic_birds_features",
    "write_captions",
]

RGB = tuple[int, int, int]

#: The eight bird colors (CUB's color vocabulary, reduced to clearly distinct ones) and their RGB values.
COLORS: dict[str, RGB] = {
    "red": (214, 32, 32),
    "orange": (246, 136, 18),
    "yellow": (250, 222, 30),
    "green": (36, 148, 52),
    "blue": (34, 84, 216),
    "brown": (118, 70, 34),
    "black": (28, 28, 30),
    "white": (246, 246, 242),
}
COLOR_NAMES: list[str] = list(COLORS)

#: Backgrounds: (top, bottom) colors of a vertical gradient, pale and unlike the bird colors.
BACKGROUNDS: dict[str, tuple[RGB, RGB]] = {
    "sky": ((150, 192, 236), (182, 214, 244)),
    "grass": ((190, 214, 146), (150, 190, 108)),
    "sand": ((234, 216, 170), (214, 192, 146)),
    "water": ((156, 204, 200), (104, 164, 166)),
}

#: Color of the beak and legs (a horn gray that is none of :data:`COLORS`).
BEAK_COLOR: RGB = (92, 86, 80)
_EYE_COLOR: RGB = (16, 16, 18)
_EYE_HIGHLIGHT: RGB = (250, 250, 250)

#: Attribute name -> its values, in the order of the ``ClassLabel`` columns.
ATTRIBUTES: dict[str, list[str]] = {
    "crown_color": list(COLOR_NAMES),
    "wing_color": list(COLOR_NAMES),
    "breast_color": list(COLOR_NAMES),
    "beak_length": ["short", "long"],
    "size": ["small", "large"],
    "background": list(BACKGROUNDS),
}

NUM_CAPTIONS = 10
NUM_CLASSES = len(COLOR_NAMES) ** 3

# Cache key of generated datasets: changes whenever this file changes, so a stale cache is never reused.
_SOURCE_HASH = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]

# ----------------------------------------------------------------------------------------------------------
# Attributes and class ids
# ----------------------------------------------------------------------------------------------------------


def sample_attributes(rng: np.random.Generator) -> dict[str, str]:
    """Draws every attribute uniformly from :data:`ATTRIBUTES`: ``{"crown_color": "red", ...}``."""
    return {name: values[int(rng.integers(len(values)))] for name, values in ATTRIBUTES.items()}


def class_id_from_attributes(attributes: Mapping[str, str]) -> int:
    """Index of the (crown, wing, breast) color combination: ``(crown * 8 + wing) * 8 + breast``."""
    n = len(COLOR_NAMES)
    crown, wing, breast = (
        COLOR_NAMES.index(attributes[key]) for key in ("crown_color", "wing_color", "breast_color")
    )
    return (crown * n + wing) * n + breast


def colors_from_class_id(class_id: int) -> dict[str, str]:
    """Inverse of :func:`class_id_from_attributes`: ``{"crown_color": ..., "wing_color": ...,
    "breast_color": ...}``."""
    if not 0 <= class_id < NUM_CLASSES:
        raise ValueError(f"class_id must be in [0, {NUM_CLASSES}), got {class_id}.")
    n = len(COLOR_NAMES)
    return {
        "crown_color": COLOR_NAMES[class_id // (n * n)],
        "wing_color": COLOR_NAMES[class_id // n % n],
        "breast_color": COLOR_NAMES[class_id % n],
    }


def _check_attributes(attributes: Mapping[str, str]) -> None:
    for name, values in ATTRIBUTES.items():
        if attributes.get(name) not in values:
            raise ValueError(f"attribute {name!r} must be one of {values}, got {attributes.get(name)!r}.")


# ----------------------------------------------------------------------------------------------------------
# Drawing
# ----------------------------------------------------------------------------------------------------------

# The bird is drawn in "bird units", facing right, y pointing down: the body is an ellipse at the origin
# about 0.84 units long. Everything (pose included) is relative to the image size, so a bird looks the
# same at every resolution.
_BODY = (0.0, 0.0, 0.42, 0.27, -16.0)  # center x, center y, radius x, radius y, tilt (degrees)
_HEAD = (0.36, -0.29, 0.22)  # center x, center y, radius
_WING = (-0.08, -0.03, 0.31, 0.15, -14.0)  # center x, center y, radius x, radius y, tilt (degrees)
_TAIL = ((-0.30, -0.01), (-0.74, 0.08), (-0.76, 0.2), (-0.68, 0.33), (-0.28, 0.15))
_BEAK_LENGTH = {"short": 0.11, "long": 0.27}
_SIZE_SCALE = {"small": 0.42, "large": 0.54}  # image widths per bird unit
# Center and size of the bird's extent (tail tip to long beak tip, crown to feet), in bird units; the
# center is placed at the pose's center.
_REFERENCE = (0.04, -0.03)
_EXTENT = (1.6, 0.95)
_OUTLINE_SHADE = 0.55  # outlines are the part's color times this


@dataclass(frozen=True)
class BirdPose:
    """Where and how a bird sits in the image, as fractions of the image size.

    Attributes:
        center: the bird's center as fractions of the image width and height.
        scale: image widths per bird unit (the body is about 0.84 units long).
        angle: rotation in degrees (positive tilts the head up).
        facing_left: mirror the bird so that it looks left.
    """

    center: tuple[float, float] = (0.5, 0.5)
    scale: float = 0.45
    angle: float = 0.0
    facing_left: bool = False

    def to_pixels(self, points: np.ndarray, canvas_size: float) -> np.ndarray:
        """Maps ``[N, 2]`` bird-unit points to continuous (x, y) coordinates of a ``canvas_size`` square, in
        which pixel ``(i, j)`` covers ``[i, i + 1) x [j, j + 1)``."""
        u = points[:, 0] - _REFERENCE[0]
        v = points[:, 1] - _REFERENCE[1]
        if self.facing_left:
            u = -u
        theta = math.radians(self.angle if self.facing_left else -self.angle)
        cos, sin = math.cos(theta), math.sin(theta)
        s = self.scale * canvas_size
        x = self.center[0] * canvas_size + s * (u * cos - v * sin)
        y = self.center[1] * canvas_size + s * (u * sin + v * cos)
        return np.stack([x, y], axis=1)


def sample_pose(attributes: Mapping[str, str], rng: np.random.Generator) -> BirdPose:
    """A random pose: scale from ``attributes["size"]`` (+-6 %), rotation within +-10 degrees, facing left
    or right, and a center jittered as far as the bird stays inside the image."""
    scale = _SIZE_SCALE[attributes["size"]] * float(rng.uniform(0.94, 1.06))
    angle = float(rng.uniform(-10.0, 10.0))
    facing_left = bool(rng.integers(2))
    # Half extents of the rotated bird, as image fractions.
    cos, sin = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
    half_w = 0.5 * scale * (_EXTENT[0] * cos + _EXTENT[1] * sin)
    half_h = 0.5 * scale * (_EXTENT[0] * sin + _EXTENT[1] * cos)
    margin = 0.03
    jitter_x = max(0.0, 0.5 - margin - half_w)
    jitter_y = max(0.0, 0.5 - margin - half_h)
    center = (0.5 + float(rng.uniform(-jitter_x, jitter_x)), 0.5 + float(rng.uniform(-jitter_y, jitter_y)))
    return BirdPose(center=center, scale=scale, angle=angle, facing_left=facing_left)


def _ellipse(
    cx: float,
    cy: float,
    rx: float,
    ry: float,
    start: float = 0.0,
    stop: float = 360.0,
    tilt: float = 0.0,
    n: int = 40,
) -> np.ndarray:
    """``[n, 2]`` points of an elliptic arc (degrees, y down), optionally tilted about its center."""
    t = np.radians(np.linspace(start, stop, n, endpoint=abs(stop - start) < 360))
    x, y = rx * np.cos(t), ry * np.sin(t)
    if tilt:
        c, s = math.cos(math.radians(tilt)), math.sin(math.radians(tilt))
        x, y = x * c - y * s, x * s + y * c
    return np.stack([cx + x, cy + y], axis=1)


def _shade(color: RGB, factor: float = _OUTLINE_SHADE) -> RGB:
    return (int(color[0] * factor), int(color[1] * factor), int(color[2] * factor))


@lru_cache(maxsize=32)
def _background(name: str, size: int) -> Image.Image:
    top, bottom = (np.asarray(c, dtype=np.float32) for c in BACKGROUNDS[name])
    t = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None]
    column = (top * (1.0 - t) + bottom * t).round().astype(np.uint8)  # [size, 3]
    return Image.fromarray(np.ascontiguousarray(np.broadcast_to(column[:, None, :], (size, size, 3))))


def _supersampling(image_size: int) -> int:
    return 4 if image_size <= 128 else 2


def draw_bird(
    attributes: Mapping[str, str],
    image_size: int,
    rng: np.random.Generator | None = None,
    *,
    pose: BirdPose | None = None,
) -> Image.Image:
    """Draws a bird with ``attributes`` as an ``image_size`` x ``image_size`` RGB image.

    The pose is ``pose`` if given, else :func:`sample_pose` with ``rng``, else a centered, upright bird
    facing right. Drawing happens at 2-4x the size and is reduced with a Lanczos filter (anti-aliasing);
    the same attributes and pose give the same bird at every ``image_size``.
    """
    _check_attributes(attributes)
    if image_size < 1:
        raise ValueError(f"image_size must be a positive integer, got {image_size}.")
    if pose is None:
        pose = (
            sample_pose(attributes, rng)
            if rng is not None
            else BirdPose(scale=_SIZE_SCALE[attributes["size"]])
        )

    factor = _supersampling(image_size)
    size = image_size * factor
    canvas = _background(attributes["background"], size).copy()
    draw = ImageDraw.Draw(canvas)
    line = max(1, round(0.012 * size))

    def canvas_xy(points: np.ndarray) -> list[float]:
        # PIL puts pixel centers at integer coordinates; ours are at half-integers.
        return (pose.to_pixels(points, size) - 0.5).ravel().tolist()

    def polygon(points: np.ndarray, color: RGB, outline: bool = True) -> None:
        xy = canvas_xy(points)
        draw.polygon(xy, fill=color, outline=_shade(color) if outline else None, width=line if outline else 0)

    def stroke(points: np.ndarray, color: RGB, width: float) -> None:
        xy = canvas_xy(points)
        draw.line(xy, fill=color, width=max(1, round(width * pose.scale * size)), joint="curve")

    crown, wing, breast = (COLORS[attributes[k]] for k in ("crown_color", "wing_color", "breast_color"))
    bx, by, brx, bry, body_tilt = _BODY
    hx, hy, hr = _HEAD

    # Legs and feet, behind the body.
    for x in (0.02, 0.13):
        stroke(np.array([[x, 0.2], [x - 0.02, 0.41], [x + 0.06, 0.41]]), BEAK_COLOR, 0.035)
    # Tail, then the body: back in the wing color, breast and belly (lower front) in the breast color.
    polygon(np.array(_TAIL), wing)
    polygon(_ellipse(bx, by, brx, bry, tilt=body_tilt), wing)
    polygon(_ellipse(bx, by, brx, bry, -40.0, 150.0, tilt=body_tilt, n=32), breast, outline=False)
    # Beak, then the head: face and throat in the breast color, the crown (top cap) in the crown color.
    length = _BEAK_LENGTH[attributes["beak_length"]]
    beak_base_top = (hx + hr * math.cos(math.radians(-28)), hy + hr * math.sin(math.radians(-28)))
    beak_base_bottom = (hx + hr * math.cos(math.radians(22)), hy + hr * math.sin(math.radians(22)))
    beak_tip = (hx + hr * 0.92 + length, hy + 0.02)
    polygon(np.array([beak_base_top, beak_tip, beak_base_bottom, (hx + 0.5 * hr, hy)]), BEAK_COLOR)
    polygon(_ellipse(hx, hy, hr, hr), breast)
    polygon(_ellipse(hx, hy, hr, hr, 168.0, 372.0, n=32), crown)
    # Eye, just below the crown, with a highlight.
    eye = (hx + 0.42 * hr, hy + 0.22 * hr)
    polygon(_ellipse(eye[0], eye[1], 0.045, 0.045, n=16), _EYE_COLOR, outline=False)
    polygon(_ellipse(eye[0] + 0.012, eye[1] - 0.012, 0.013, 0.013, n=8), _EYE_HIGHLIGHT, outline=False)
    # Wing over the body, with two feather lines.
    wx, wy, wrx, wry, tilt = _WING
    polygon(_ellipse(wx, wy, wrx, wry, tilt=tilt), wing)
    for offset in (-0.03, 0.04):
        stroke(
            _ellipse(wx - 0.04, wy + offset, wrx * 0.75, wry * 0.5, 100.0, 200.0, tilt=tilt, n=8),
            _shade(wing),
            0.018,
        )

    return canvas.resize((image_size, image_size), Image.LANCZOS)


def part_centers(pose: BirdPose, image_size: int) -> dict[str, tuple[float, float]]:
    """A point well inside the crown, the wing and the breast of a bird drawn with ``pose`` at
    ``image_size``: ``{"crown_color": (x, y), "wing_color": ..., "breast_color": ...}``, continuous
    coordinates (pixel ``(int(x), int(y))`` holds the point)."""
    hx, hy, hr = _HEAD
    points = np.array(
        [
            [hx - 0.15 * hr, hy - 0.45 * hr],  # middle of the crown cap
            [_WING[0], _WING[1]],  # center of the wing
            [0.2, 0.08],  # lower front of the body
        ]
    )
    pixels = pose.to_pixels(points, image_size)
    return {
        name: (float(x), float(y))
        for name, (x, y) in zip(("crown_color", "wing_color", "breast_color"), pixels)
    }


# ----------------------------------------------------------------------------------------------------------
# Captions
# ----------------------------------------------------------------------------------------------------------

_PARTS = ("crown_color", "wing_color", "breast_color")
# Noun phrases ("{c}" is the color), relative clauses, predicates and compound adjectives for each part.
# Captions never put a color right before a part word it does not describe (tokenizers that drop
# punctuation would read "a belly that is brown, wings ..." as "brown wings"), so relative clauses only end
# a listing.
_NOUN_PHRASES: dict[str, tuple[str, ...]] = {
    "crown_color": ("a {c} crown", "a {c} crown", "a {c} head"),
    "wing_color": ("{c} wings", "{c} wings", "{c} wing feathers"),
    "breast_color": ("a {c} breast", "a {c} belly", "a {c} chest", "a {c} breast and belly"),
}
_RELATIVE_CLAUSES: dict[str, tuple[str, ...]] = {
    "crown_color": ("a crown that is {c}",),
    "wing_color": ("wings that are {c}",),
    "breast_color": ("a belly that is {c}", "a breast that is {c}"),
}
_PREDICATES: dict[str, tuple[str, ...]] = {
    "crown_color": ("its crown is {c}", "the crown is {c}", "its head is {c}"),
    "wing_color": ("its wings are {c}", "the wings are {c}"),
    "breast_color": ("its breast is {c}", "the belly is {c}", "its breast and belly are {c}"),
}
_ADJECTIVES: dict[str, tuple[str, ...]] = {
    "crown_color": ("{c}-crowned",),
    "wing_color": ("{c}-winged",),
    "breast_color": ("{c}-breasted", "{c}-bellied"),
}
_SIZE_WORDS = {"small": ("small", "little"), "large": ("large", "big")}
_BEAK_PHRASES = {
    "short": ("a short beak", "a short pointed beak", "a short bill", "a short stubby beak"),
    "long": ("a long beak", "a long pointed beak", "a long bill", "a long thin beak"),
}
_BACKGROUND_PHRASES = {
    "sky": ("against the sky", "in front of a clear sky", "with the sky behind it"),
    "grass": ("on the grass", "standing in the grass", "in a grassy field"),
    "sand": ("on the sand", "on a sandy beach", "standing on the sand"),
    "water": ("near the water", "by the water", "in front of the water"),
}


class _Phrases:
    """Random phrase choices for one caption."""

    def __init__(self, attributes: Mapping[str, str], rng: np.random.Generator):
        self.attributes = attributes
        self.rng = rng

    def pick(self, options: Sequence[str]) -> str:
        return options[int(self.rng.integers(len(options)))]

    def order(self, parts: Sequence[str] = _PARTS) -> list[str]:
        return [parts[i] for i in self.rng.permutation(len(parts))]

    def noun(self, part: str, last: bool = False) -> str:
        """A noun phrase; when ``last`` (nothing follows but a conjunction), sometimes a relative clause."""
        forms = _RELATIVE_CLAUSES if last and self.rng.random() < 0.3 else _NOUN_PHRASES
        return self.pick(forms[part]).format(c=self.attributes[part])

    def nouns(self, parts: Sequence[str] = _PARTS) -> str:
        """The parts in random order as ``"x, y and z"``."""
        order = self.order(parts)
        return _listing([self.noun(part, last=i == len(order) - 1) for i, part in enumerate(order)])

    def predicate(self, part: str) -> str:
        return self.pick(_PREDICATES[part]).format(c=self.attributes[part])

    def adjective(self, part: str) -> str:
        return self.pick(_ADJECTIVES[part]).format(c=self.attributes[part])

    def size(self) -> str:
        return self.pick(_SIZE_WORDS[self.attributes["size"]])

    def optional_size(self) -> str:
        return self.size() + " " if self.rng.random() < 0.6 else ""

    def beak(self) -> str:
        return self.pick(_BEAK_PHRASES[self.attributes["beak_length"]])

    def background(self) -> str:
        return self.pick(_BACKGROUND_PHRASES[self.attributes["background"]])


_AN = re.compile(r"\ba (?=[aeiou])")


def _listing(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _t_has(p: _Phrases) -> str:
    return "this bird has " + p.nouns()


def _t_with(p: _Phrases) -> str:
    return f"a {p.optional_size()}bird with " + p.nouns()


def _t_has_predicate(p: _Phrases) -> str:
    a, b, c = p.order()
    return f"this {p.size()} bird has {p.noun(a)} and {p.noun(b)}, and {p.predicate(c)}"


def _t_predicates(p: _Phrases) -> str:
    return _listing([p.predicate(part) for part in p.order()])


def _t_adjective(p: _Phrases) -> str:
    a, b, c = p.order()
    return f"a {p.optional_size()}{p.adjective(a)} bird with {p.noun(b)} and {p.noun(c, last=True)}"


def _t_adjective_beak(p: _Phrases) -> str:
    a, b, c = p.order()
    return f"this {p.size()} {p.adjective(a)} bird has {p.noun(b)}, {p.noun(c)} and {p.beak()}"


def _t_background(p: _Phrases) -> str:
    return f"a {p.optional_size()}bird {p.background()} with " + p.nouns()


def _t_nouns_first(p: _Phrases) -> str:
    return p.nouns() + f" on a {p.size()} bird with {p.beak()}"


def _t_beak_first(p: _Phrases) -> str:
    a, b, c = p.order()
    return f"this bird has {p.beak()}, {p.noun(a)} and {p.noun(b)}, and {p.predicate(c)}"


def _t_this_is(p: _Phrases) -> str:
    return f"this is a {p.size()} bird {p.background()}, it has " + p.nouns()


def _t_two_adjectives(p: _Phrases) -> str:
    a, b, c = p.order()
    return f"a {p.optional_size()}{p.adjective(a)}, {p.adjective(b)} bird with {p.noun(c, last=True)}"


def _t_mostly(p: _Phrases) -> str:
    """Only when the wing and breast colors agree (the body is mostly that color)."""
    color = p.attributes["wing_color"]
    if p.attributes["crown_color"] == color:
        return f"this {p.optional_size()}bird is entirely {color} with {p.beak()}"
    body = p.pick((f"the bird is mostly {color} with ", f"a {p.optional_size()}mostly {color} bird with "))
    return body + p.noun("crown_color", last=True) + p.pick(("", " and " + p.beak()))


_TEMPLATES: tuple[Callable[[_Phrases], str], ...] = (
    _t_has,
    _t_with,
    _t_has_predicate,
    _t_predicates,
    _t_adjective,
    _t_adjective_beak,
    _t_background,
    _t_nouns_first,
    _t_beak_first,
    _t_this_is,
    _t_two_adjectives,
)


def write_captions(
    attributes: Mapping[str, str], rng: np.random.Generator, n: int = NUM_CAPTIONS
) -> list[str]:
    """``n`` lower-case CUB-style captions of a bird with ``attributes``, distinct where possible.

    Templates, phrasings and the order of the parts are drawn from ``rng``; every caption states the
    crown, wing and breast colors, some also the beak length, the size or the background.
    """
    _check_attributes(attributes)
    templates = list(_TEMPLATES)
    if attributes["wing_color"] == attributes["breast_color"]:
        templates.append(_t_mostly)
    phrases = _Phrases(attributes, rng)
    captions: list[str] = []
    for _ in range(50 * n):
        if len(captions) == n:
            break
        caption = _AN.sub("an ", templates[int(rng.integers(len(templates)))](phrases))
        if caption not in captions:
            captions.append(caption)
    while len(captions) < n:  # only if the templates ran out of variety
        captions.append(captions[len(captions) % max(1, len(captions))])
    return captions


# ----------------------------------------------------------------------------------------------------------
# Examples and datasets
# ----------------------------------------------------------------------------------------------------------


def synthetic_birds_features() -> datasets.Features:
    """The dataset's features: ``image``, ``captions`` (10 strings), ``class_id``, ``filename`` and one
    ``ClassLabel`` per attribute."""
    return datasets.Features(
        {
            "image": datasets.Image(),
            "captions": datasets.Sequence(datasets.Value("string"), length=NUM_CAPTIONS),
            "class_id": datasets.Value("int64"),
            "filename": datasets.Value("string"),
            **{name: datasets.ClassLabel(names=values) for name, values in ATTRIBUTES.items()},
        }
    )


def _example_rngs(seed: int, split: str, index: int) -> list[np.random.Generator]:
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be non-negative, got {seed} and {index}.")
    sequence = np.random.SeedSequence([seed, zlib.crc32(split.encode("utf-8")), index])
    return [np.random.default_rng(child) for child in sequence.spawn(3)]


@dataclass(frozen=True)
class BirdSpec:
    """Everything about one synthetic bird except its pixels: attributes, pose and captions."""

    attributes: dict[str, str]
    pose: BirdPose
    captions: list[str]


def sample_bird(index: int, seed: int = 0, split: str = "train") -> BirdSpec:
    """Bird ``index`` of ``split`` for ``seed``. Its attributes, pose and captions come from three
    independent random streams seeded by ``(seed, split, index)`` (``numpy.random.SeedSequence``)."""
    attribute_rng, pose_rng, caption_rng = _example_rngs(seed, split, index)
    attributes = sample_attributes(attribute_rng)
    return BirdSpec(attributes, sample_pose(attributes, pose_rng), write_captions(attributes, caption_rng))


def make_example(index: int, image_size: int = 76, seed: int = 0, split: str = "train") -> dict:
    """Row ``index`` of :func:`generate_synthetic_birds` (:func:`sample_bird` drawn at ``image_size``), with
    the image as a PIL image and the attributes as strings."""
    bird = sample_bird(index, seed=seed, split=split)
    return {
        "image": draw_bird(bird.attributes, image_size, pose=bird.pose),
        "captions": bird.captions,
        "class_id": class_id_from_attributes(bird.attributes),
        "filename": f"synthetic/{split}/{index:06d}",
        **bird.attributes,
    }


def _generate_rows(indices: list[int], image_size: int, seed: int, split: str) -> Iterator[dict]:
    for index in indices:
        yield make_example(index, image_size=image_size, seed=seed, split=split)


def generate_synthetic_birds(
    num_images: int,
    image_size: int = 76,
    seed: int = 0,
    split: str = "train",
    cache_dir: str | None = None,
    num_proc: int | None = None,
) -> datasets.Dataset:
    """``num_images`` synthetic birds as a ``datasets.Dataset`` (see :func:`synthetic_birds_features`).

    Row ``i`` is :func:`make_example` ``(i, image_size, seed, split)``, so a longer dataset starts with a
    shorter one's rows. Cached in ``cache_dir`` under a fingerprint of the arguments and this file;
    ``num_proc`` draws in parallel; ``split`` (letters, digits, underscores) seeds every example.
    """
    if num_images < 1:
        raise ValueError(f"num_images must be positive, got {num_images}.")
    if image_size < 1:
        raise ValueError(f"image_size must be a positive integer, got {image_size}.")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}.")
    key = f"synthetic-birds-{_SOURCE_HASH}-{num_images}-{image_size}-{seed}-{split}"
    fingerprint = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return datasets.Dataset.from_generator(
        _generate_rows,
        features=synthetic_birds_features(),
        cache_dir=cache_dir,
        gen_kwargs={
            "indices": list(range(num_images)),
            "image_size": image_size,
            "seed": seed,
            "split": split,
        },
        num_proc=num_proc if num_proc and num_proc > 1 and num_images >= num_proc else None,
        split=datasets.NamedSplit(split),
        fingerprint=fingerprint,
    )


def load_synthetic_birds(
    num_train: int = 1000,
    num_test: int = 200,
    image_size: int = 76,
    seed: int = 0,
    cache_dir: str | None = None,
    num_proc: int | None = None,
) -> datasets.DatasetDict:
    """Train and test splits of synthetic birds (``DatasetDict`` with ``"train"`` and ``"test"``).

    Each split is :func:`generate_synthetic_birds` with the same ``seed`` and its own name, which is part of
    every example's seed: the two splits are independent random streams derived from ``seed`` (they can
    share an attribute combination by chance, never a drawing).
    """
    return datasets.DatasetDict(
        {
            split: generate_synthetic_birds(
                number, image_size=image_size, seed=seed, split=split, cache_dir=cache_dir, num_proc=num_proc
            )
            for split, number in (("train", num_train), ("test", num_test))
        }
    )


def oracle_embedding(crown: int, wing: int, breast: int) -> np.ndarray:
    """The ``[24]`` oracle condition of a color combination: the three colors' one-hots, standardized
    (each unit has mean 0 and variance 1 over uniformly drawn colors)."""
    one_hot = np.zeros(3 * len(COLOR_NAMES), dtype=np.float32)
    for part, color in enumerate((crown, wing, breast)):
        one_hot[part * len(COLOR_NAMES) + color] = 1.0
    share = 1.0 / len(COLOR_NAMES)
    return (one_hot - share) / math.sqrt(share * (1 - share))


def add_oracle_embeddings(dataset: datasets.Dataset) -> datasets.Dataset:
    """``dataset`` with an ``embeddings`` column ``[NUM_CAPTIONS, 24]``: every caption's "embedding" is the
    exact attribute code of :func:`oracle_embedding`. A development diagnostic (``--dataset
    synthetic-birds-oracle --text_encoder precomputed``): a perfect text encoder, so what the GAN still
    gets wrong is the GAN's."""
    codes = [
        np.repeat(oracle_embedding(c, w, b)[None], NUM_CAPTIONS, axis=0).tolist()
        for c, w, b in zip(dataset["crown_color"], dataset["wing_color"], dataset["breast_color"])
    ]
    feature = datasets.Array2D((NUM_CAPTIONS, 3 * len(COLOR_NAMES)), "float32")
    return dataset.add_column("embeddings", codes, feature=feature)
