"""A restricted unpickler for the Python-2 pickles of StackGAN's CUB layout.

Unpickling runs whatever callables a file names, so the official ``filenames.pickle``,
``class_info.pickle`` and ``char-CNN-RNN-embeddings.pickle`` are read with an unpickler that resolves only
the handful of numpy names those files need. Any other global (``os.system``, ``builtins.eval``, ...) is
refused before anything is called: a refused file has run nothing.
"""

from __future__ import annotations

import importlib
import pickle
from pathlib import Path
from typing import Any

from ..utils.config import InputError

# (module, name) pairs that the official files use, under numpy 1 and numpy 2 spellings. Pickled numpy
# arrays name _reconstruct, ndarray and dtype; numpy scalars name scalar and dtype; Python-3 protocol-2
# pickles of bytes name _codecs.encode (which only encodes a string).
ALLOWED_GLOBALS = frozenset(
    {
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("_codecs", "encode"),
    }
)


class UnsafePickleError(pickle.UnpicklingError, InputError):
    """A pickle named a global outside :data:`ALLOWED_GLOBALS`."""


def _resolve(module: str, name: str) -> Any:
    if module.startswith("numpy.core"):
        try:  # numpy >= 2 moved numpy.core to numpy._core; importing the old name warns.
            return getattr(importlib.import_module(module.replace("numpy.core", "numpy._core", 1)), name)
        except ImportError:
            pass
    return getattr(importlib.import_module(module), name)


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only :data:`ALLOWED_GLOBALS`; ``source`` names the file in errors."""

    def __init__(self, file, source: str = "<pickle>", **kwargs):
        super().__init__(file, **kwargs)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            allowed = ", ".join(sorted(f"{m}.{n}" for m, n in ALLOWED_GLOBALS))
            raise UnsafePickleError(
                f"{self.source}: refused to load: the pickle names `{module}.{name}`, which could run code. "
                f"Only these names are allowed: {allowed}."
            )
        return _resolve(module, name)


def load_pickle(path: str | Path) -> Any:
    """Loads a Python 2 or 3 pickle with :class:`RestrictedUnpickler`; Python-2 strings decode as latin-1."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such pickle file.")
    with path.open("rb") as handle:
        try:
            return RestrictedUnpickler(handle, source=str(path), encoding="latin1").load()
        except UnsafePickleError:
            raise
        except Exception as error:  # truncated or not a pickle at all
            raise pickle.UnpicklingError(f"{path}: not a readable pickle ({error}).") from error
