"""Shared pieces of the benchmarks: hardware description, timing, the fast-path switches, JSON output."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stackgan_hf.utils.training_utils import cpu_has_native_bf16  # noqa: E402


def hardware(device: str) -> dict:
    info = {
        "device": device,
        "torch": torch.__version__,
        "cpu": _cpu_name(),
        "cpu_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name()
    return info


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def fast_autocast_dtype(device: str) -> torch.dtype | None:
    """The fast path's autocast, as the trainers' ``mixed_precision: auto`` picks it: bf16 on GPUs that have
    it and on CPUs with native bf16; else none."""
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_has_native_bf16() else None


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def time_per_call(function: Callable[[], object], device: str, steps: int, warmup: int) -> float:
    """Seconds per call of ``function`` after ``warmup`` calls."""
    for _ in range(warmup):
        function()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        function()
    synchronize(device)
    return (time.perf_counter() - start) / steps


def emit(record: dict) -> None:
    """One JSON line on stdout (and appended to --output when the caller gives one)."""
    line = json.dumps(record)
    print(line, flush=True)
    output = record.get("output")
    if output:
        with open(output, "a") as handle:
            handle.write(line + "\n")
