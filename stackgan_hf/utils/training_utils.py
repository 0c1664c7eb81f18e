"""Pieces both trainers (StackGAN and the DDPM) share: crash-safe checkpoints and final saves, position-seeded
random generators and the fast-path switches.

Checkpoints and final pipelines are written to a temporary folder, marked complete (sizes and SHA-256) and
renamed into place last, so a kill at any moment leaves a complete one. Design: docs/theory.md, "Crash-safe
checkpoints".
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import pickle
import shutil
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError

logger = logging.getLogger(__name__)

CHECKPOINT_PREFIX = "checkpoint-"
# Written last into a checkpoint folder, before it is renamed into place: the step and every file's size and
# SHA-256. A ``checkpoint-<step>`` folder without it is a save that never finished (or one written by a
# version of this code from before checkpoints were verified).
CHECKPOINT_MARKER = "checkpoint_complete.json"
# Folders of a run being written (a checkpoint, a final ``save_pretrained``): never loaded, removed when
# found later (they are what a killed save leaves).
TEMP_PREFIX = ".tmp-"
# Test-only hooks (tests/test_checkpoints.py), never set otherwise: ``SECONDS`` or ``SECONDS@STEP`` makes
# ``save_checkpoint`` print a line and sleep after the checkpoint's files are written but before its marker
# (only in the save of checkpoint STEP when given); ``SECONDS`` or ``SECONDS@INDEX_FILE`` makes
# ``save_pretrained_atomically`` do the same after the index file was removed and the first component moved
# (only in the save whose index file is INDEX_FILE, e.g. model_index.json, when given). Tests SIGKILL the run
# during the pause.
# How a failed write (a full disk) surfaces: OSError from Python, RuntimeError from torch.save ("unexpected
# pos ..."), SafetensorError ("No space left on device") from safetensors.
WRITE_ERRORS = (OSError, RuntimeError, SafetensorError)
TEST_PAUSE_IN_CHECKPOINT = "STACKGAN_HF_TEST_PAUSE_IN_CHECKPOINT"
TEST_PAUSE_IN_SAVE_PRETRAINED = "STACKGAN_HF_TEST_PAUSE_IN_SAVE_PRETRAINED"


class CorruptCheckpointError(ValueError):
    """A checkpoint whose files are missing, truncated or altered: refused with the file named, not loaded."""


class IncompleteCheckpointError(CorruptCheckpointError):
    """A ``checkpoint-<step>`` folder without ``checkpoint_complete.json``: its save never finished."""


class TrainingDivergedError(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


class SaveFailedError(OSError):
    """Writing a checkpoint or the final pipeline failed (e.g. the disk is full). The folder being written is
    removed; what was complete before (earlier checkpoints, an earlier pipeline) is kept."""


@torch.no_grad()
def recalibrate_batch_norm(module: torch.nn.Module, forward_passes: list[Callable[[], object]]) -> None:
    """Re-estimates the running statistics of ``module``'s BatchNorm layers as the plain average over
    ``forward_passes`` (each calls ``module`` once, in training mode): for weights that were never trained as
    they are, such as an exponential moving average, whose layers see other statistics than the live
    model's running estimates. Nothing to do without BatchNorm layers or passes."""
    layers = [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not layers or not forward_passes:
        return
    momenta = [layer.momentum for layer in layers]
    was_training = module.training
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # a cumulative average over the passes
    module.train()
    for forward in forward_passes:
        forward()
    for layer, momentum in zip(layers, momenta):
        layer.momentum = momentum
    module.train(was_training)


def seeded_generator(*keys: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A ``torch.Generator`` seeded by ``keys`` alone (e.g. seed, step, process): the random numbers a step
    draws depend on its position, never on history, so a resumed run draws what an uninterrupted one did."""
    high, low = np.random.SeedSequence([int(key) for key in keys]).generate_state(2, np.uint32)
    return torch.Generator(device=device).manual_seed((int(high) << 32 | int(low)) & (2**63 - 1))


def cpu_has_native_bf16() -> bool:
    """Whether oneDNN runs bf16 natively on this CPU (AVX512-BF16 or AMX); elsewhere bf16 is emulated."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_mixed_precision(value: str) -> str:
    """``"auto"`` becomes what ``accelerate config``/``launch`` chose, else bf16 on a CUDA GPU that has it
    or on a CPU with native bf16 units (2.5x the fp32 Stage-I step at the birds widths, benchmarks/), else
    ``"no"`` (fp32: CPUs without bf16 units emulate it slowly). Other values pass through."""
    if value != "auto":
        return value
    launched = os.environ.get("ACCELERATE_MIXED_PRECISION", "no")
    if launched != "no":
        return launched
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "no"
    return "bf16" if cpu_has_native_bf16() else "no"


def set_cpu_threads(accelerator, threads: int | None = None) -> int | None:
    """On CPU, sets ``threads`` intra-op threads per process (default: the available cores divided by the
    local processes, overriding ``accelerate launch``'s ``OMP_NUM_THREADS=1``) and flushes subnormal floats to
    zero, which slow CPU kernels down. Returns the thread count set (None on accelerators)."""
    if accelerator.device.type != "cpu":
        return None
    torch.set_flush_denormal(True)
    if threads is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        local_processes = int(os.environ.get("LOCAL_WORLD_SIZE", accelerator.num_processes))
        threads = max(1, cores // max(1, local_processes))
    torch.set_num_threads(threads)
    return threads


def adam_kwargs(device: torch.device) -> dict:
    """Fused Adam kernels where they exist (CUDA); the default (foreach) implementation elsewhere."""
    return {"fused": True} if torch.device(device).type == "cuda" else {}


# pip packages of accelerate's trackers whose names differ from the tracker's
TRACKER_PACKAGES = {"comet_ml": "comet-ml"}


def report_to_trackers(report_to: str) -> list[str] | None:
    """``report_to`` as accelerate's ``log_with``: None for ``"none"``, else the list of tracker names (one,
    several comma-separated, or ``"all"``: every installed one). Raises ``ConfigError`` (one line, exit code
    2 in the scripts) for a name accelerate does not know, or one whose package is not installed, which
    accelerate would otherwise drop silently."""
    from .config import ConfigError

    names = [name.strip() for name in str(report_to).split(",") if name.strip()]
    if names == ["none"] or not names:
        return None
    from accelerate.tracking import get_available_trackers
    from accelerate.utils import LoggerType

    known = [str(kind.value) for kind in LoggerType]
    available = {str(LoggerType(kind).value) for kind in get_available_trackers()}
    for name in names:
        if name not in known:
            raise ConfigError(
                f"`report_to`: {name!r} is not a tracker of accelerate's; choose from "
                f"{', '.join(known)} (several comma-separated) or none."
            )
        if name != "all" and name not in available:
            package = TRACKER_PACKAGES.get(name, name)
            raise ConfigError(
                f"`report_to`: {name} is not installed (pip install {package}), or use --report_to none."
            )
    return names


def tensorboard_hparams(config_values: dict, **extra) -> dict:
    """Config values as tensorboard hparams, which take scalars only: anything else becomes its string."""
    values = {**extra, **config_values}
    return {
        key: value if isinstance(value, (int, float, str, bool)) else str(value)
        for key, value in values.items()
    }


# -- checkpoints ------------------------------------------------------------------------------------------


def checkpoint_step(path: str | Path) -> int:
    """The step of a ``checkpoint-<step>`` folder."""
    return int(Path(path).name.rsplit("-", 1)[-1])


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """The ``checkpoint-<step>`` folders of a run, oldest first, complete or not (``verify_checkpoint``)."""
    found = [
        path
        for path in Path(run_dir).glob(f"{CHECKPOINT_PREFIX}*")
        if path.is_dir() and path.name[len(CHECKPOINT_PREFIX) :].isdigit()
    ]
    return sorted(found, key=checkpoint_step)


def _temp_folders(run_dir: Path) -> list[Path]:
    """What killed saves left in ``run_dir``: ``.tmp-checkpoint-*`` folders (never loaded)."""
    return sorted(path for path in run_dir.glob(f"{TEMP_PREFIX}{CHECKPOINT_PREFIX}*") if path.is_dir())


def remove_stale_temp_folders(run_dir: str | Path, warn: Callable[..., None] | None = None) -> list[Path]:
    """Removes the temporary folders of saves that were interrupted; returns them. Main process only."""
    stale = _temp_folders(Path(run_dir))
    for path in stale:
        if warn is not None:
            warn("Removing %s: an unfinished checkpoint left by an interrupted save.", path)
        shutil.rmtree(path, ignore_errors=True)
    return stale


def _sha256(path: Path, sync: bool = False) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks; ``sync`` also flushes it to disk (``fsync``)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
        if sync:
            os.fsync(handle.fileno())
    return digest.hexdigest()


def _fsync_folder(path: Path) -> None:
    """Makes a rename or a new file in ``path`` durable (POSIX); a no-op where folders cannot be opened."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def write_checkpoint_marker(folder: str | Path, step: int) -> Path:
    """Writes ``folder/checkpoint_complete.json``: the step and the size and SHA-256 of every file in
    ``folder`` (flushed to disk first), so that a later load can tell a complete checkpoint from one that was
    truncated, cut short or altered."""
    folder = Path(folder)
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != CHECKPOINT_MARKER):
        files[path.relative_to(folder).as_posix()] = {
            "size": path.stat().st_size,
            "sha256": _sha256(path, sync=True),
        }
    marker = folder / CHECKPOINT_MARKER
    with marker.open("w") as handle:
        json.dump({"format": 1, "step": int(step), "files": files}, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    _fsync_folder(folder)
    return marker


def _check_file_structure(path: Path) -> None:
    """For checkpoints without a marker (written before checkpoints were verified): refuses empty files, a
    safetensors file whose header does not cover the file, and a ``torch.save`` archive (``.bin``/``.pkl``)
    that is not a zip archive or fails its CRC check. Catches truncation, not every alteration."""
    if path.stat().st_size == 0:
        raise CorruptCheckpointError(f"{path} is empty (0 bytes): the checkpoint is corrupt.")
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as handle:
                handle.keys()
        except Exception as error:  # SafetensorError: a header that does not match the file
            raise CorruptCheckpointError(f"{path} is not a readable safetensors file ({error}).") from None
    elif path.suffix in (".bin", ".pkl", ".pt"):
        if not zipfile.is_zipfile(path):
            raise CorruptCheckpointError(f"{path} is truncated or not a torch.save archive.")
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
        if bad is not None:
            raise CorruptCheckpointError(f"{path} is corrupt: its member {bad} fails the CRC check.")


def verify_checkpoint(path: str | Path, allow_unmarked: bool = False) -> bool:
    """Checks a ``checkpoint-<step>`` folder against its ``checkpoint_complete.json``: every recorded file
    present, with its size and SHA-256. Raises ``CorruptCheckpointError`` naming the first bad file.

    Without a marker: ``IncompleteCheckpointError``, or with ``allow_unmarked`` a structural check of each
    file (``_check_file_structure``). Returns whether the checkpoint was fully verified (had a marker)."""
    path = Path(path)
    marker = path / CHECKPOINT_MARKER
    if not marker.is_file():
        if not allow_unmarked:
            raise IncompleteCheckpointError(
                f"{path}: no {CHECKPOINT_MARKER}, its save did not finish (or it predates verified "
                "checkpoints)"
            )
        files = sorted(p for p in path.rglob("*") if p.is_file())
        if not files:
            raise IncompleteCheckpointError(f"{path} is empty: its save did not finish.")
        for file in files:
            _check_file_structure(file)
        return False
    try:
        record = json.loads(marker.read_text())
        step, files = int(record["step"]), dict(record["files"])
    except (ValueError, KeyError, TypeError) as error:
        raise CorruptCheckpointError(
            f"{marker} is unreadable ({error}): the checkpoint is corrupt."
        ) from None
    if step != checkpoint_step(path):
        raise CorruptCheckpointError(f"{marker} records step {step}, not {checkpoint_step(path)}.")
    for name, expected in files.items():
        file = path / name
        if not file.is_file():
            raise CorruptCheckpointError(f"{file} is missing: the checkpoint is incomplete.")
        size, want = file.stat().st_size, int(expected["size"])
        if size != want:
            state = "truncated" if size < want else "too long"
            raise CorruptCheckpointError(f"{file} is {state} ({size:,} bytes, {want:,} written).")
        if _sha256(file) != expected["sha256"]:
            raise CorruptCheckpointError(
                f"{file} is corrupt: its SHA-256 differs from the one recorded when it was written."
            )
    return True


def find_checkpoint(
    run_dir: str | Path, resume_from_checkpoint: str, warn: Callable[..., None] | None = logger.warning
) -> Path | None:
    """The checkpoint to resume from, verified (``verify_checkpoint``).

    ``"latest"``: the newest complete checkpoint of ``run_dir`` that passes the check, skipping others with a
    warning through ``warn`` (None when there is none). Else that folder, which must exist and pass the check
    (a marker-less one gets the structural check): ``CorruptCheckpointError`` otherwise.
    """
    warn = warn or (lambda *args, **kwargs: None)
    run_dir = Path(run_dir)
    if resume_from_checkpoint == "latest":
        for temp in _temp_folders(run_dir):
            warn("Skipping %s: an unfinished checkpoint left by an interrupted save.", temp)
        skipped = []
        for candidate in reversed(list_checkpoints(run_dir)):
            try:
                verify_checkpoint(candidate)
            except IncompleteCheckpointError as error:
                warn("Skipping %s; to load it anyway, name it in --resume_from_checkpoint.", error)
            except CorruptCheckpointError as error:
                warn("Skipping %s: %s", candidate, error)
            else:
                if skipped:
                    warn("Falling back to %s, the newest complete checkpoint.", candidate)
                return candidate
            skipped.append(candidate)
        return None
    path = Path(resume_from_checkpoint)
    if not path.is_dir():
        raise FileNotFoundError(
            f"--resume_from_checkpoint {path}: no such checkpoint folder (checkpoint-<step>)."
        )
    if not verify_checkpoint(path, allow_unmarked=True):
        warn(
            "%s has no %s (an older checkpoint?): its files were checked for truncation only.",
            path,
            CHECKPOINT_MARKER,
        )
    return path


def restore_checkpoint(accelerator, run_dir: str | Path, resume_from_checkpoint: str | None) -> int:
    """Finds (:func:`find_checkpoint`), verifies and loads the checkpoint to resume from with
    ``accelerator.load_state``; returns its step, 0 for a new run. Raises ``CorruptCheckpointError`` for a
    named checkpoint that fails the check, or for ``latest`` when no existing folder is usable. Removes
    interrupted saves' temporary folders."""
    if not resume_from_checkpoint:
        return 0
    run_dir = Path(run_dir)
    warn = logger.warning if accelerator.is_main_process else None
    path = find_checkpoint(run_dir, resume_from_checkpoint, warn=warn)
    if accelerator.is_main_process:
        remove_stale_temp_folders(run_dir)
    if path is None:
        unusable = list_checkpoints(run_dir)
        if unusable:  # starting over would overwrite the run those checkpoints belong to
            names = ", ".join(folder.name for folder in unusable)
            raise CorruptCheckpointError(
                f"--resume_from_checkpoint latest: no usable checkpoint in {run_dir} (found {names}, each "
                "incomplete or corrupt). Name one to load it anyway, or pass --overwrite_output_dir to start "
                "afresh."
            )
        if accelerator.is_main_process:
            logger.warning("No checkpoint in %s yet: starting a new run.", run_dir)
        return 0
    accelerator.print(f"Resuming from {path}")
    try:
        accelerator.load_state(str(path))
    except (EOFError, OSError, RuntimeError, ValueError, KeyError, pickle.UnpicklingError) as error:
        # Verified files that fail to load: a checkpoint of another model or config, or an unmarked one.
        raise CorruptCheckpointError(f"{path} could not be loaded: {_one_line(error)}") from error
    return checkpoint_step(path)


def _test_pause(variable: str, label: str, key: str) -> None:
    """The test-only pause of ``TEST_PAUSE_IN_CHECKPOINT`` / ``TEST_PAUSE_IN_SAVE_PRETRAINED``."""
    value = os.environ.get(variable)
    if not value:
        return
    seconds, _, only = value.partition("@")
    if only and only != key:
        return
    print(f"{variable}: pausing {seconds} s in {label}", flush=True)
    time.sleep(float(seconds))


def save_checkpoint(accelerator, run_dir: str | Path, step: int, total_limit: int | None) -> Path:
    """``accelerator.save_state`` to ``run_dir/checkpoint-<step>``, crash-safe; called on every process.

    Writes ``.tmp-checkpoint-<step>``, adds ``checkpoint_complete.json``, renames it into place, then keeps at
    most ``total_limit`` checkpoints. A failed write (disk full) removes the temporary folder and raises
    ``SaveFailedError``.
    """
    run_dir = Path(run_dir)
    final = run_dir / f"{CHECKPOINT_PREFIX}{step}"
    temp = run_dir / f"{TEMP_PREFIX}{final.name}"
    if accelerator.is_main_process:
        remove_stale_temp_folders(run_dir)
    accelerator.wait_for_everyone()
    try:
        accelerator.save_state(str(temp))
        _test_pause(TEST_PAUSE_IN_CHECKPOINT, temp.name, str(step))
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            write_checkpoint_marker(temp, step)
            if final.exists():  # a resumed run saving a step again: move the old one aside, then drop it
                replaced = run_dir / f"{TEMP_PREFIX}{final.name}-replaced"
                os.replace(final, replaced)
                os.replace(temp, final)
                shutil.rmtree(replaced, ignore_errors=True)
            else:
                os.replace(temp, final)
            _fsync_folder(run_dir)
    except WRITE_ERRORS as error:
        if accelerator.is_main_process:
            shutil.rmtree(temp, ignore_errors=True)
        previous = [path for path in list_checkpoints(run_dir) if path != final]
        kept = f"the last complete checkpoint, {previous[-1]}, is kept" if previous else "no checkpoint yet"
        raise SaveFailedError(
            f"Could not write checkpoint-{step} in {run_dir} ({_describe(error, run_dir)}); {kept}."
        ) from error
    if accelerator.is_main_process and total_limit is not None:
        older = [path for path in list_checkpoints(run_dir) if path != final]
        for old in older[: max(0, len(older) - max(total_limit - 1, 0))]:
            shutil.rmtree(old)
    accelerator.wait_for_everyone()
    return final


def _one_line(error: BaseException, limit: int = 300) -> str:
    """An exception's message on one line, at most ``limit`` characters."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(error: BaseException, folder: Path) -> str:
    """One line for a failed write, with the space left on ``folder``'s disk: torch reports a full disk as
    "unexpected pos 531904 vs 531792", safetensors and Python as "No space left on device"."""
    text = _one_line(error, limit=200)
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return text
    if getattr(error, "errno", None) == errno.ENOSPC or "No space left" in text:
        text = f"disk full: {text}"
    elif "unexpected pos" in text:  # torch.save's archive writer after a short write
        text = f"disk full? {text}"
    return f"{text}; {free / 2**20:.1f} MiB free on that disk"


def save_pretrained_atomically(save: Callable[[str], object], target: str | Path, index_file: str) -> Path:
    """Runs ``save(folder)`` (a ``save_pretrained``) on ``target`` so that a kill or a failed write never
    leaves a folder that ``from_pretrained`` half-loads.

    Saves into ``target/.tmp-save_pretrained``, removes ``target/index_file``, moves the components in and
    ``index_file`` last; other files in ``target`` stay. A failed write removes the temporary folder and
    raises ``SaveFailedError``.
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    temp = target / f"{TEMP_PREFIX}save_pretrained"
    shutil.rmtree(temp, ignore_errors=True)  # left by a killed save
    try:
        save(str(temp))
        if not (temp / index_file).is_file():
            raise FileNotFoundError(f"the save wrote no {index_file}")
        for path in temp.rglob("*"):
            if path.is_file():
                _fsync_file(path)
        (target / index_file).unlink(missing_ok=True)
        entries = sorted(entry for entry in temp.iterdir() if entry.name != index_file)
        for number, entry in enumerate(entries):
            destination = target / entry.name
            if destination.is_dir() and not destination.is_symlink():
                shutil.rmtree(destination)
            os.replace(entry, destination)
            if number == 0:
                _test_pause(TEST_PAUSE_IN_SAVE_PRETRAINED, f"saving {target}", index_file)
        os.replace(temp / index_file, target / index_file)
        temp.rmdir()
        _fsync_folder(target)
    except WRITE_ERRORS as error:
        shutil.rmtree(temp, ignore_errors=True)
        raise SaveFailedError(
            f"Could not save to {target} ({_describe(error, target)}); the checkpoints are kept: free "
            "space and rerun with --resume_from_checkpoint latest."
        ) from error
    return target


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def register_pretrained_checkpoint_hooks(accelerator, subfolder: Callable[[torch.nn.Module], str]) -> None:
    """Makes checkpoints hold each prepared model as a ``save_pretrained`` folder,
    ``checkpoint-N/<subfolder>/`` (``subfolder(model)`` names it), as diffusers' training examples do, so that
    ``Model.from_pretrained(checkpoint / subfolder)`` opens it. Optimizers, schedules, EMA and RNG states stay
    in accelerate's files; older checkpoints without these folders load the accelerate way."""

    def save_models(models, weights, output_dir):
        for model in models:
            unwrapped = accelerator.unwrap_model(model, keep_fp32_wrapper=False)
            if accelerator.is_main_process:
                unwrapped.save_pretrained(Path(output_dir) / subfolder(unwrapped))
        del weights[: len(models)]  # accelerate no longer writes model.safetensors / model_<i>.safetensors

    def load_models(models, input_dir):
        unwrapped = [accelerator.unwrap_model(model, keep_fp32_wrapper=False) for model in models]
        folders = [Path(input_dir) / subfolder(model) for model in unwrapped]
        if not all((folder / "config.json").is_file() for folder in folders):
            return  # an older checkpoint: accelerate loads model.safetensors itself
        for model, folder in zip(unwrapped, folders):
            model.load_state_dict(type(model).from_pretrained(folder).state_dict())
        models.clear()

    accelerator.register_save_state_pre_hook(save_models)
    accelerator.register_load_state_pre_hook(load_models)
