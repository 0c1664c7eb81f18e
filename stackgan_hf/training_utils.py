"""Pieces both trainers (StackGAN and the DDPM) share: checkpoints, position-seeded random generators and
the fast-path switches."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import torch

CHECKPOINT_PREFIX = "checkpoint-"


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
    """On CPU, uses ``threads`` intra-op threads per process (default: the cores available to this
    process divided by the local processes). ``accelerate launch`` exports ``OMP_NUM_THREADS=1`` for CPU
    runs, which halves a 2-core machine's speed. Returns the thread count set (None on accelerators)."""
    if accelerator.device.type != "cpu":
        return None
    if threads is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        local_processes = int(os.environ.get("LOCAL_WORLD_SIZE", accelerator.num_processes))
        threads = max(1, cores // max(1, local_processes))
    torch.set_num_threads(threads)
    return threads


def adam_kwargs(device: torch.device) -> dict:
    """Fused Adam kernels where they exist (CUDA); the default (foreach) implementation elsewhere."""
    return {"fused": True} if torch.device(device).type == "cuda" else {}


def tensorboard_hparams(config_values: dict, **extra) -> dict:
    """Config values as tensorboard hparams, which take scalars only: anything else becomes its string."""
    values = {**extra, **config_values}
    return {
        key: value if isinstance(value, (int, float, str, bool)) else str(value)
        for key, value in values.items()
    }


def checkpoint_step(path: str | Path) -> int:
    """The step of a ``checkpoint-<step>`` folder."""
    return int(Path(path).name.rsplit("-", 1)[-1])


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """The ``checkpoint-<step>`` folders of a run, oldest first."""
    found = [
        path
        for path in Path(run_dir).glob(f"{CHECKPOINT_PREFIX}*")
        if path.is_dir() and path.name[len(CHECKPOINT_PREFIX) :].isdigit()
    ]
    return sorted(found, key=checkpoint_step)


def find_checkpoint(run_dir: str | Path, resume_from_checkpoint: str) -> Path | None:
    """``"latest"``: the newest checkpoint of ``run_dir`` (None when there is none); else that folder,
    which must exist."""
    if resume_from_checkpoint == "latest":
        found = list_checkpoints(run_dir)
        return found[-1] if found else None
    path = Path(resume_from_checkpoint)
    if not path.is_dir():
        raise FileNotFoundError(
            f"--resume_from_checkpoint {path}: no such checkpoint folder (checkpoint-<step>)."
        )
    return path


def save_checkpoint(accelerator, run_dir: str | Path, step: int, total_limit: int | None) -> Path:
    """``accelerator.save_state`` to ``run_dir/checkpoint-<step>``, first removing the oldest checkpoints so
    that at most ``total_limit`` remain."""
    if accelerator.is_main_process and total_limit is not None:
        existing = list_checkpoints(run_dir)
        for old in existing[: max(0, len(existing) - total_limit + 1)]:
            shutil.rmtree(old)
    accelerator.wait_for_everyone()
    path = Path(run_dir) / f"{CHECKPOINT_PREFIX}{step}"
    accelerator.save_state(str(path))
    return path
