"""What the command-line scripts share: which errors are the user's to fix, and how they are reported.

Under :func:`run_script` a fault the user can act on (:data:`USER_ERRORS`: a config key, a missing folder, a
corrupt checkpoint, a full disk) becomes one ``error: ...`` line and exit code 2; anything else keeps its
traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from .config import InputError
from .hub import HubTokenError
from .training_utils import CorruptCheckpointError, SaveFailedError, TrainingDivergedError

USER_ERRORS: tuple[type[BaseException], ...] = (
    CorruptCheckpointError,
    FileNotFoundError,
    HubTokenError,
    InputError,
    SaveFailedError,
    TrainingDivergedError,
)


def run_script(main: Callable[[], object], errors: tuple[type[BaseException], ...] = USER_ERRORS) -> None:
    """Runs a script's ``main``: an error of ``errors`` becomes one ``error: ...`` line on stderr and exit
    code 2; any other exception keeps its traceback (a bug)."""
    try:
        main()
    except errors as error:
        from tqdm import tqdm

        for bar in list(getattr(tqdm, "_instances", ())):  # end the progress bar's line first
            bar.close()
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


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
