"""What the command-line scripts share: which errors are the user's to fix, and how they are reported.

A script's ``main`` runs under :func:`run_script`: bad input or a fault the user can act on (a config key, a
missing folder, a corrupt checkpoint, a full disk) becomes one ``error: ...`` line and exit code 2, as
argparse reports a bad flag; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from .config import ConfigError
from .data import CubFormatError, UnsafePickleError
from .hub import HubTokenError
from .training import TrainingDivergedError
from .training.utils import CorruptCheckpointError, SaveFailedError

USER_ERRORS: tuple[type[BaseException], ...] = (
    ConfigError,
    CorruptCheckpointError,
    CubFormatError,
    FileNotFoundError,
    HubTokenError,
    SaveFailedError,
    TrainingDivergedError,
    UnsafePickleError,
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
