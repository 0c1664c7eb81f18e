"""argparse types for the scripts' numeric options: a bad value is argparse's one ``error:`` line naming
the option (``argument --num_images: expected an integer of at least 1, got 0``) and exit code 2."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def bounded_int(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: an integer from ``low`` to ``high`` (no upper bound when None)."""

    def parse(text: str) -> int:
        value = int(text)
        if value < low or (high is not None and value > high):
            expected = f"of at least {low}" if high is None else f"from {low} to {high}"
            raise argparse.ArgumentTypeError(f"expected an integer {expected}, got {value}")
        return value

    parse.__name__ = "integer"  # argparse's message for a non-number: "invalid integer value: 'x'"
    return parse


positive_int = bounded_int(1)
non_negative_int = bounded_int(0)
