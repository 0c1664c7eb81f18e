"""Hard negative captions that differ from the true one only in which part has which colour.

A discriminator trained with in-batch negatives (the contrastive option) learns to reject captions of other
images, almost all of which name other colours; it seldom meets a caption with the same colours on other
parts, so nothing teaches it, or the generator it trains, which colour belongs where. NegCLIP (Yuksekgonul
et al., "When and why vision-language models behave like bags-of-words", ICLR 2023) adds, per caption, a
negative made by swapping two of its words. Here the swap is of two different colour words, so the negative
names the same colours on other parts: "a red crown and blue wings" -> "a blue crown and red wings".
"""

from __future__ import annotations

import re

import numpy as np

#: Colour words that may be swapped: the synthetic birds' eight and those common in CUB captions.
COLOUR_WORDS: frozenset[str] = frozenset(
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
_COLOUR = re.compile(r"\b(" + "|".join(sorted(COLOUR_WORDS)) + r")\b", re.IGNORECASE)
_ARTICLE = re.compile(r"\b(a|an) (?=(" + "|".join(sorted(COLOUR_WORDS)) + r")\b)", re.IGNORECASE)


def _article(match: re.Match) -> str:
    """ "a"/"an" as the colour word after it needs (its first letter's case kept)."""
    article = "an" if match.group(2)[0].lower() in "aeiou" else "a"
    return (article.capitalize() if match.group(1)[0].isupper() else article) + " "


def swap_colour_words(caption: str, rng: np.random.Generator) -> str | None:
    """``caption`` with two of its colour words (different ones, drawn by ``rng``) exchanged, or None when it
    names fewer than two different colours (no swap changes what it says). "a"/"an" before the colours
    follow the swap."""
    matches = list(_COLOUR.finditer(caption))
    pairs = [
        (i, j)
        for i in range(len(matches))
        for j in range(i + 1, len(matches))
        if matches[i].group(0).lower() != matches[j].group(0).lower()
    ]
    if not pairs:
        return None
    first, second = (matches[k] for k in pairs[int(rng.integers(len(pairs)))])
    swapped = (
        caption[: first.start()]
        + second.group(0)
        + caption[first.end() : second.start()]
        + first.group(0)
        + caption[second.end() :]
    )
    return _ARTICLE.sub(_article, swapped)  # "an red breast" -> "a red breast": no tell-tale grammar
