"""Hard negative captions that name the true one's colors on the wrong parts (after NegCLIP, ICLR 2023).

Two kinds, built from the caption's own color words: ``swap`` exchanges two different colors ("a red crown and
blue wings" -> "a blue crown and red wings"); ``copy`` puts one part's color on another ("... red wings").
Why: docs/theory.md, section 1.
"""

from __future__ import annotations

import re

import numpy as np

#: Color words that may be swapped: the synthetic birds' eight and those common in CUB captions.
COLOR_WORDS: frozenset[str] = frozenset(
    [
        "red",
        "orange",
        "yellow",
        "green",
        "blue",
        "purple",
        "pink",
        "brown",
        "black",
        "white",
        "grey",
        "gray",
        "buff",
        "tan",
        "olive",
        "rufous",
        "cream",
        "golden",
        "crimson",
        "scarlet",
        "maroon",
        "chestnut",
        "rust",
        "teal",
    ]
)
_COLOR = re.compile(r"\b(" + "|".join(sorted(COLOR_WORDS)) + r")\b", re.IGNORECASE)
_ARTICLE = re.compile(r"\b(a|an) (?=(" + "|".join(sorted(COLOR_WORDS)) + r")\b)", re.IGNORECASE)


def _article(match: re.Match) -> str:
    """ "a"/"an" as the color word after it needs (its first letter's case kept)."""
    article = "an" if match.group(2)[0].lower() in "aeiou" else "a"
    return (article.capitalize() if match.group(1)[0].isupper() else article) + " "


NEGATIVE_KINDS = ("swap", "copy")


def _different_color_pairs(caption: str) -> list[tuple[re.Match, re.Match]]:
    matches = list(_COLOR.finditer(caption))
    return [
        (matches[i], matches[j])
        for i in range(len(matches))
        for j in range(i + 1, len(matches))
        if matches[i].group(0).lower() != matches[j].group(0).lower()
    ]


def _replace(caption: str, first: re.Match, first_by: str, second: re.Match, second_by: str) -> str:
    """``caption`` with the spans of ``first`` and ``second`` (``first`` before) replaced; "a"/"an" before
    color words made to fit (no tell-tale "an red breast")."""
    changed = (
        caption[: first.start()]
        + first_by
        + caption[first.end() : second.start()]
        + second_by
        + caption[second.end() :]
    )
    return _ARTICLE.sub(_article, changed)


def _listed_together(between: str) -> bool:
    """Whether the text between two color words makes them a list of one part's colors: nothing there but
    other colors, "and", "or" and punctuation ("black and white wings", "black, white or gray")."""
    return set(re.findall(r"[a-z]+", _COLOR.sub(" ", between).lower())) <= {"and", "or"}


def swap_color_words(caption: str, rng: np.random.Generator) -> str | None:
    """``caption`` with two of its color words (different ones, drawn by ``rng``) exchanged, or None when it
    has no such pair whose swap changes what it says: fewer than two different colors, or only colors
    listed together ("black and white wings", "black, white")."""
    pairs = [
        (first, second)
        for first, second in _different_color_pairs(caption)
        if not _listed_together(caption[first.end() : second.start()])
    ]
    if not pairs:
        return None
    first, second = pairs[int(rng.integers(len(pairs)))]
    return _replace(caption, first, second.group(0), second, first.group(0))


def copy_color_word(caption: str, rng: np.random.Generator) -> str | None:
    """``caption`` with one color word replaced by another, different color word of the caption (pair and
    direction drawn by ``rng``), or None when it names fewer than two different colors."""
    pairs = _different_color_pairs(caption)
    if not pairs:
        return None
    first, second = pairs[int(rng.integers(len(pairs)))]
    if rng.random() < 0.5:
        return _replace(caption, first, first.group(0), second, first.group(0))
    return _replace(caption, first, second.group(0), second, second.group(0))


def color_negative(kind: str, caption: str, rng: np.random.Generator) -> str | None:
    """The ``kind`` (one of :data:`NEGATIVE_KINDS`) negative of ``caption``, or None where it has none."""
    return {"swap": swap_color_words, "copy": copy_color_word}[kind](caption, rng)


def parse_negative_kinds(value: str) -> tuple[str, ...]:
    """``"swap,copy"`` -> ``("swap", "copy")``; ``""`` -> ``()``; a ValueError names any other kind."""
    kinds = tuple(kind.strip() for kind in value.split(",") if kind.strip())
    unknown = [kind for kind in kinds if kind not in NEGATIVE_KINDS]
    if unknown or len(set(kinds)) != len(kinds):
        raise ValueError(
            "color_negatives: expected a comma-separated subset of "
            f"{', '.join(NEGATIVE_KINDS)}, got {value!r}."
        )
    return kinds
