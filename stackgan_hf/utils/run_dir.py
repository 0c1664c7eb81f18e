"""A training run's output folder: never start over another run's files by accident.

``check_output_dir`` runs before anything is built or read. A folder that holds another run (a saved model or
checkpoints) is refused unless the run resumes it or ``overwrite_output_dir`` is set;
``--resume_from_checkpoint latest`` in a folder whose checkpoints are all unusable is refused, naming each,
instead of starting over. With ``overwrite_output_dir`` the earlier run's checkpoints and logs are moved aside
(``set_aside_previous_run``) and removed only once the new run has saved its model
(``remove_previous_runs``); its saved model stays until the new one replaces it. The StackGAN trainer checks
its folder itself (a history counts as a run) but sets the earlier run aside with these helpers.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .config import ConfigError
from .training_utils import (
    CorruptCheckpointError,
    IncompleteCheckpointError,
    list_checkpoints,
    verify_checkpoint,
)

# What a finished run leaves at the top of its folder: a pipeline's index or a model's config.
SAVED_MODEL_FILES = ("model_index.json", "config.json")
PREVIOUS_RUN_PREFIX = ".previous-run-"


def _saved_model(output_dir: Path) -> Path | None:
    return next((output_dir / name for name in SAVED_MODEL_FILES if (output_dir / name).is_file()), None)


def describe_run(output_dir: str | os.PathLike) -> list[str]:
    """What of another run ``output_dir`` holds: its saved model and its checkpoints (empty: nothing)."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return []
    found = []
    saved = _saved_model(output_dir)
    if saved is not None:
        found.append(f"a saved model ({saved.name})")
    checkpoints = [path.name for path in list_checkpoints(output_dir)]
    if checkpoints:
        found.append(f"{len(checkpoints)} checkpoint(s): {', '.join(checkpoints)}")
    return found


def _unusable_checkpoints(output_dir: Path) -> tuple[bool, list[str]]:
    """Whether ``output_dir`` has a checkpoint that ``latest`` would load, and why each other one fails."""
    reasons = []
    for candidate in reversed(list_checkpoints(output_dir)):
        try:
            verify_checkpoint(candidate)
        except (IncompleteCheckpointError, CorruptCheckpointError) as error:
            reasons.append(str(error).rstrip("."))
        else:
            return True, reasons
    return False, reasons


def check_output_dir(
    output_dir: str | os.PathLike, resume_from_checkpoint: str | None, overwrite_output_dir: bool
) -> None:
    """Refuses to start a run that would lose an earlier run's work in ``output_dir``; reads files only.

    Raises:
        ConfigError: ``output_dir`` is a file, or holds another run and the new one neither resumes it nor
            has ``overwrite_output_dir``, or both ``resume_from_checkpoint`` and ``overwrite_output_dir`` are
            set, or ``latest`` finds a saved model and no checkpoint.
        CorruptCheckpointError: ``resume_from_checkpoint`` is ``latest`` and every checkpoint is unusable.
        FileNotFoundError: ``resume_from_checkpoint`` names a folder that does not exist.
    """
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise ConfigError(f"`output_dir` {output_dir} is a file; expected a folder (new or a run's).")
    if resume_from_checkpoint and overwrite_output_dir:
        raise ConfigError(
            "`overwrite_output_dir` starts a new run and `resume_from_checkpoint` continues one: pass one "
            "of them."
        )
    named = resume_from_checkpoint not in (None, "", "latest")
    if named and not Path(resume_from_checkpoint).is_dir():
        raise FileNotFoundError(
            f"--resume_from_checkpoint {resume_from_checkpoint}: no such checkpoint folder "
            "(checkpoint-<step>)."
        )
    found = describe_run(output_dir)
    if not found or overwrite_output_dir:
        return
    if not resume_from_checkpoint:
        raise ConfigError(
            f"`output_dir` {output_dir} already holds another run ({'; '.join(found)}): pass "
            "--resume_from_checkpoint latest to continue it, --overwrite_output_dir true to replace it, or "
            "another --output_dir."
        )
    if resume_from_checkpoint != "latest":
        return  # a named checkpoint: verified when it is loaded
    usable, reasons = _unusable_checkpoints(output_dir)
    if reasons and not usable:
        raise CorruptCheckpointError(
            f"--resume_from_checkpoint latest: no checkpoint in {output_dir} can be loaded ("
            + "; ".join(reasons)
            + "). Name one in --resume_from_checkpoint to try it anyway, or pass --overwrite_output_dir true "
            "to start over."
        )
    if not reasons and not usable:
        raise ConfigError(
            f"--resume_from_checkpoint latest: {output_dir} holds a saved model but no checkpoint to resume "
            "from: pass --overwrite_output_dir true to train again from scratch, or another --output_dir."
        )


def set_aside_previous_run(
    output_dir: str | os.PathLike, logging_dir: str | None = None, also: tuple[str, ...] = ()
) -> Path | None:
    """Moves the earlier run's checkpoints, its ``logging_dir`` and the files or folders matching the glob
    patterns ``also`` to ``output_dir/.previous-run-N``; returns that folder, None when there was nothing to
    move. Nothing is deleted."""
    output_dir = Path(output_dir)
    moving = [*list_checkpoints(output_dir), *sorted(output_dir.glob(".tmp-checkpoint-*"))]
    moving += [path for pattern in also for path in sorted(output_dir.glob(pattern))]
    moving = list(dict.fromkeys(moving))  # a path that two patterns match moves once
    logs = output_dir / logging_dir if logging_dir else None
    if logs is not None and logs.is_dir() and logs.resolve().parent == output_dir.resolve():
        moving.append(logs)  # the trackers' folder when it lies in the run's folder
    if not moving:
        return None
    number = 1
    while (output_dir / f"{PREVIOUS_RUN_PREFIX}{number}").exists():
        number += 1
    aside = output_dir / f"{PREVIOUS_RUN_PREFIX}{number}"
    aside.mkdir()
    for path in moving:
        os.replace(path, aside / path.name)
    return aside


def remove_previous_runs(output_dir: str | os.PathLike) -> list[Path]:
    """Removes the ``.previous-run-N`` folders, once the new run's model is saved; returns them."""
    removed = sorted(Path(output_dir).glob(f"{PREVIOUS_RUN_PREFIX}*"))
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed
