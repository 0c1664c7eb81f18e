"""An offline text encoder: a fixed, hashed bag of words and word pairs."""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

_WORD = re.compile(r"[a-z0-9]+")


def tokenize_caption(caption: str) -> list[str]:
    """Lower-cases a caption and splits it into alphanumeric words: ``"A red-winged bird."`` ->
    ``["a", "red", "winged", "bird"]``."""
    return _WORD.findall(caption.lower())


class HashedBagOfWordsEncoder(ModelMixin, ConfigMixin):
    """Turns captions into ``[B, embedding_dim]`` vectors with no download and no training.

    A caption's features are its words and its runs of adjacent words (pairs such as ``"red crown"`` and
    ``"wings are"``; with ``max_ngram=3`` also triples). Every entry of ``vocabulary`` (a word, or a run
    written as its words joined by one space) owns one row of a fixed random table (``N(0, 1)``, drawn from
    ``seed``); any other feature is hashed (CRC-32, stable across runs and machines) into
    ``num_hash_buckets`` shared rows, where two features may collide: over the quickstart's captions, 42 of
    the 2,048 buckets hold two of its 477 word pairs, ``"red winged"`` with ``"red crowned"`` among them.
    :meth:`build_vocabulary` with ``max_ngram`` gives every run seen in the training captions its own row.
    A caption's embedding is the sum of its features' rows divided by the square root of their count, so
    whatever the caption's length each dimension has about unit variance (norm about
    ``sqrt(embedding_dim)``), the scale of pretrained sentence embeddings that conditioning augmentation's
    initialization expects. The table is stored with the model
    (``save_pretrained``), so a saved pipeline encodes exactly as it did in training.

    What it cannot do: it knows no meaning (``"crimson"`` and ``"red"`` are unrelated, as are unseen
    synonyms), it sees word order only through its n-grams (``"a red bird with a blue crown"`` and ``"a
    blue bird with a red crown"`` differ only in those), hashed features collide, negation and
    counting are invisible, and it has no length limit, so nothing is truncated. It is a baseline for
    offline work and tests; use CLIP or a sentence encoder for real text understanding.

    Args:
        vocabulary: words (and runs of words) with their own rows, e.g. from :meth:`build_vocabulary` over
            the training captions.
        embedding_dim: ``D``, the output width.
        num_hash_buckets: shared rows for out-of-vocabulary words and word pairs.
        use_word_pairs: also embed runs of adjacent words (n-grams, 2 <= n <= ``max_ngram``).
        max_ngram: the longest run embedded; 3 adds triples such as ``"crown is red"``, which tie a color
            to its part where no adjacent pair does.
        seed: seed of the random table.

    Shapes: ``list[str]`` of length ``B`` -> ``[B, embedding_dim]`` float32.
    """

    @register_to_config
    def __init__(
        self,
        vocabulary: Sequence[str] = (),
        embedding_dim: int = 256,
        num_hash_buckets: int = 2048,
        use_word_pairs: bool = True,
        max_ngram: int = 2,
        seed: int = 0,
    ):
        super().__init__()
        if max_ngram < 2:
            raise ValueError(f"max_ngram must be at least 2 (word pairs), got {max_ngram}.")
        if embedding_dim < 1 or num_hash_buckets < 1:
            raise ValueError(
                "embedding_dim and num_hash_buckets must be positive, "
                f"got {embedding_dim} and {num_hash_buckets}."
            )
        self.word_to_row = {word: row for row, word in enumerate(vocabulary)}
        if len(self.word_to_row) != len(vocabulary):
            raise ValueError("vocabulary has repeated words.")
        rng = torch.Generator().manual_seed(seed)
        table = torch.randn(len(vocabulary) + num_hash_buckets, embedding_dim, generator=rng)
        # A parameter, not a buffer, so that ModelMixin's device/dtype helpers see it. It is never trained.
        self.table = nn.Parameter(table, requires_grad=False)

    @staticmethod
    def build_vocabulary(
        captions: Iterable[str], min_count: int = 1, max_size: int | None = None, max_ngram: int = 1
    ) -> list[str]:
        """Words, and with ``max_ngram`` >= 2 runs of 2 to ``max_ngram`` adjacent words (``"red crown"``),
        seen at least ``min_count`` times, most frequent first (ties alphabetical)."""
        counts: Counter = Counter()
        for caption in captions:
            words = tokenize_caption(caption)
            for n in range(1, max_ngram + 1):
                counts.update(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
        entries = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return entries[:max_size] if max_size is not None else entries

    def _hashed_row(self, feature: str) -> int:
        return len(self.word_to_row) + zlib.crc32(feature.encode("utf-8")) % self.config.num_hash_buckets

    def _row(self, feature: str) -> int:
        row = self.word_to_row.get(feature)
        return row if row is not None else self._hashed_row(feature)

    def feature_rows(self, caption: str) -> list[int]:
        """Table rows of one caption's features: its words, then its runs of 2 to ``max_ngram`` words."""
        words = tokenize_caption(caption)
        rows = [self._row(word) for word in words]
        if self.config.use_word_pairs:
            for n in range(2, self.config.max_ngram + 1):
                rows += [self._row(" ".join(words[i : i + n])) for i in range(len(words) - n + 1)]
        return rows

    def forward(self, prompts: str | Sequence[str]) -> torch.Tensor:
        if isinstance(prompts, str):
            prompts = [prompts]
        rows, offsets = [], []
        for prompt in prompts:
            feature_rows = self.feature_rows(prompt)
            if not feature_rows:
                raise ValueError(f"Prompt {prompt!r} has no words the encoder can read (letters or digits).")
            offsets.append(len(rows))
            rows.extend(feature_rows)
        index = torch.tensor(rows, dtype=torch.long, device=self.table.device)
        starts = torch.tensor(offsets, dtype=torch.long, device=self.table.device)
        summed = nn.functional.embedding_bag(index, self.table, starts, mode="sum")
        counts = torch.diff(starts, append=torch.tensor([len(rows)], device=starts.device))
        return summed / counts.to(summed.dtype).sqrt()[:, None]
