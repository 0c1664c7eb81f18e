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
    """Turns captions into ``[B, embedding_dim]`` vectors offline, with no training.

    Each word and run of adjacent words owns a row of a fixed random table if in ``vocabulary``, else is
    hashed (CRC-32) into shared rows; the embedding is the rows' sum / sqrt(count), about unit variance per
    dimension. It knows no meaning: an offline baseline. Design: docs/theory.md, "The bag-of-words encoder".

    Args:
        vocabulary: words (and runs of words joined by one space) with their own rows, e.g. from
            :meth:`build_vocabulary` over the training captions.
        embedding_dim: ``D``, the output width.
        num_hash_buckets: shared rows for out-of-vocabulary words and word runs.
        use_word_pairs: also embed runs of adjacent words (n-grams, 2 <= n <= ``max_ngram``).
        max_ngram: the longest run embedded; 3 adds triples such as ``"crown is red"``.
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
        """A vocabulary for the encoder.

        Args:
            captions: the training captions.
            min_count: the fewest occurrences an entry needs.
            max_size: keep at most this many entries.
            max_ngram: with 2 or more, also runs of 2 to ``max_ngram`` adjacent words (``"red crown"``).

        Returns:
            The entries, most frequent first (ties alphabetical).
        """
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
        """Embeds prompts.

        Args:
            prompts: a caption or a list of ``B`` captions, each with at least one word (letters or digits).

        Returns:
            ``[B, embedding_dim]`` float embeddings.
        """
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
