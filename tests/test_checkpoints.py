"""Crash-safe checkpoints (``stackgan_hf.utils.training_utils``): a run killed at any moment resumes to the
same weights, bit for bit, and a bad checkpoint is detected, not loaded.

The kill tests run the real training scripts as subprocesses and SIGKILL them: between checkpoints, inside a
checkpoint save and inside the final ``save_pretrained`` (the last two held open by the test-only pauses
``STACKGAN_HF_TEST_PAUSE_IN_CHECKPOINT`` / ``..._IN_SAVE_PRETRAINED``). The unit tests use a tiny model in
this process.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from accelerate import Accelerator
from conftest import TINY_TRAINING
from mnist_fixture import synthetic_digits

from diffusion.data import write_mnist_parquet
from stackgan_hf import StackGANPipeline
from stackgan_hf.training.trainer import read_history
from stackgan_hf.utils.cli import run_script
from stackgan_hf.utils.training_utils import (
    CHECKPOINT_MARKER,
    TEST_PAUSE_IN_CHECKPOINT,
    TEST_PAUSE_IN_SAVE_PRETRAINED,
    CorruptCheckpointError,
    SaveFailedError,
    find_checkpoint,
    list_checkpoints,
    restore_checkpoint,
    save_checkpoint,
    save_pretrained_atomically,
    verify_checkpoint,
)

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

# Tiny Stage-I through the script (conftest.TINY_TRAINING): 32 synthetic birds, batch 4 = 8 steps per epoch,
# so 10 steps cross an epoch; a checkpoint every 2 steps, only the newest kept.
STACKGAN_ARGS = [f"--{key}={value}" for key, value in TINY_TRAINING.items()] + [
    "--stage", "1", "--dataset", "synthetic-birds", "--synthetic_num_images", "32",
    "--max_train_steps", "10", "--checkpointing_steps", "2", "--checkpoints_total_limit", "1",
    "--logging_steps", "1000", "--mixed_precision", "no", "--cpu_threads", "1",
]  # fmt: skip
# Tiny DDPM through the script (test_ddpm.TINY_UNET): 40 digits, batch 8 = 5 steps per epoch.
DDPM_ARGS = [
    "--block_out_channels", "8,16", "--layers_per_block", "1", "--norm_num_groups", "8",
    "--attention_head_dim", "4", "--train_batch_size", "8", "--max_train_steps", "8",
    "--learning_rate", "2e-3", "--lr_warmup_steps", "2", "--checkpointing_steps", "2",
    "--checkpoints_total_limit", "1", "--num_validation_images", "0", "--report_to", "none",
    "--mixed_precision", "no",
]  # fmt: skip


def _one_core() -> None:
    """Subprocesses on one core: one torch thread (tiny models are per-op overhead) and the same thread
    count in every run, so that the weights compare bit for bit."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def _start(script: str, args: list[str], log: Path, **pause) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKGAN_HF_TEST_")}
    env.update(PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]), HF_HUB_OFFLINE="1")
    env.update(PYTHONUNBUFFERED="1", **pause)
    with log.open("w") as handle:
        return subprocess.Popen(
            [sys.executable, str(REPO / "scripts" / script), *args],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO,
            preexec_fn=_one_core,
        )


def _wait_for(process: subprocess.Popen, log: Path, ready, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            raise AssertionError(f"exited ({process.returncode}) before {what}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)


def _paused(log: Path):
    return lambda: "pausing" in log.read_text()


def _sigkill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL


def _finish(process: subprocess.Popen, log: Path) -> str:
    assert process.wait(timeout=300) == 0, log.read_text()[-3000:]
    return log.read_text()


def _same_bytes(first: Path, second: Path, *files: str) -> None:
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_stackgan_killed_anywhere_resumes_to_the_same_weights_bit_for_bit(tmp_path):
    reference = _start("train_stackgan.py", [*STACKGAN_ARGS, "--output_dir", str(tmp_path / "ref")],
                       tmp_path / "ref.log")  # fmt: skip
    run = tmp_path / "run"
    args = [*STACKGAN_ARGS, "--output_dir", str(run)]
    resume = [*args, "--resume_from_checkpoint", "latest"]

    # 1. Killed mid-training: somewhere after step 3 (checkpoint-2 complete), before checkpoint-8.
    process = _start("train_stackgan.py", args, tmp_path / "1.log", **{TEST_PAUSE_IN_CHECKPOINT: "60@8"})
    history = run / "stage1_history.jsonl"
    ready = lambda: history.is_file() and len(history.read_text().splitlines()) >= 3  # noqa: E731
    _wait_for(process, tmp_path / "1.log", ready, "step 3")
    _sigkill(process)
    assert not (run / "model_index.json").exists()
    assert find_checkpoint(run, "latest") is not None

    # 2. Resumed, then killed inside the save of checkpoint-8: checkpoint-6 is still there, complete, although
    #    the limit is 1; the new one is only a temporary folder.
    process = _start("train_stackgan.py", resume, tmp_path / "2.log", **{TEST_PAUSE_IN_CHECKPOINT: "60@8"})
    _wait_for(process, tmp_path / "2.log", _paused(tmp_path / "2.log"), "the pause in checkpoint-8")
    assert (run / ".tmp-checkpoint-8").is_dir() and not (
        run / ".tmp-checkpoint-8" / CHECKPOINT_MARKER
    ).exists()
    assert [path.name for path in list_checkpoints(run)] == ["checkpoint-6"]
    verify_checkpoint(run / "checkpoint-6")
    _sigkill(process)

    # 3. Resumed (the unfinished checkpoint-8 is skipped), then killed inside the final save_pretrained.
    log = tmp_path / "3.log"
    pause = {TEST_PAUSE_IN_SAVE_PRETRAINED: "60@model_index.json"}  # the pipeline's save, not the D's
    process = _start("train_stackgan.py", resume, log, **pause)
    _wait_for(process, log, _paused(log), "the pause in the pipeline's save")
    _sigkill(process)
    text = log.read_text()
    assert "Skipping" in text and ".tmp-checkpoint-8: an unfinished checkpoint" in text, text[-3000:]
    assert f"Resuming from {run / 'checkpoint-6'}" in text
    assert not (run / "model_index.json").exists()  # not loadable: from_pretrained cannot half-load it
    with pytest.raises(FileNotFoundError, match="has no model_index.json: not a saved pipeline"):
        StackGANPipeline.from_pretrained(run)

    # 4. Resumed from checkpoint-10: nothing left to train, the pipeline is saved.
    text = _finish(_start("train_stackgan.py", resume, tmp_path / "4.log"), tmp_path / "4.log")
    assert f"Resuming from {run / 'checkpoint-10'}" in text
    _finish(reference, tmp_path / "ref.log")
    ref = tmp_path / "ref"
    _same_bytes(
        run,
        ref,
        "stage1_generator/diffusion_pytorch_model.safetensors",
        "discriminator/diffusion_pytorch_model.safetensors",
        "model_index.json",
    )
    assert read_history(run / "stage1_history.jsonl") == read_history(ref / "stage1_history.jsonl")
    assert [path.name for path in list_checkpoints(run)] == ["checkpoint-10"]
    assert not list(run.glob(".tmp-*")) and not list((run / "discriminator").glob(".tmp-*"))
    assert StackGANPipeline.from_pretrained(run).stage1_generator is not None


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("mnist")
    images, labels = synthetic_digits(40)
    write_mnist_parquet(directory, images, labels, split="train")
    return directory


def test_ddpm_killed_inside_a_checkpoint_resumes_to_the_same_weights(tmp_path, mnist_dir):
    def args(name):
        return [*DDPM_ARGS, "--dataset_dir", str(mnist_dir), "--output_dir", str(tmp_path / name)]

    common = ["--cache_dir", str(tmp_path / "cache")]
    reference = _start("train_ddpm_mnist.py", args("ref") + ["--cache_dir", str(tmp_path / "cache-ref")],
                       tmp_path / "ref.log")  # fmt: skip
    log = tmp_path / "1.log"
    process = _start("train_ddpm_mnist.py", args("run") + common, log, **{TEST_PAUSE_IN_CHECKPOINT: "60@4"})
    _wait_for(process, log, _paused(log), "the pause in checkpoint-4")
    run = tmp_path / "run"
    assert [path.name for path in list_checkpoints(run)] == ["checkpoint-2"]
    _sigkill(process)
    resume = args("run") + common + ["--resume_from_checkpoint", "latest"]
    text = _finish(_start("train_ddpm_mnist.py", resume, tmp_path / "2.log"), tmp_path / "2.log")
    assert f"Resuming from {run / 'checkpoint-2'}" in text
    _finish(reference, tmp_path / "ref.log")
    _same_bytes(run, tmp_path / "ref", "unet/diffusion_pytorch_model.safetensors", "model_index.json")
    assert [path.name for path in list_checkpoints(run)] == ["checkpoint-8"]


def test_the_script_refuses_a_named_corrupt_checkpoint_with_one_line(tmp_path):
    run = tmp_path / "run"
    accelerator, _ = _tiny_state()
    checkpoint = save_checkpoint(accelerator, run, 4, None)
    (checkpoint / "optimizer.bin").write_bytes((checkpoint / "optimizer.bin").read_bytes()[:100])
    args = [*STACKGAN_ARGS, "--output_dir", str(run), "--resume_from_checkpoint", str(checkpoint)]
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "train_stackgan.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])),
        preexec_fn=_one_core,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and f"{checkpoint / 'optimizer.bin'} is truncated (100 bytes" in last


# -- units: a tiny model in this process ------------------------------------------------------------------


def _tiny_state(seed: int = 0):
    """An accelerator with a prepared Linear model and Adam optimiser that has taken one step."""
    accelerator = Accelerator(cpu=True)
    torch.manual_seed(seed)
    model = torch.nn.Linear(4, 3)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    model, optimizer = accelerator.prepare(model, optimizer)
    model(torch.ones(2, 4)).sum().backward()
    optimizer.step()
    return accelerator, model


def test_a_truncated_or_altered_file_is_refused_with_the_file_named(tmp_path):
    accelerator, _ = _tiny_state()
    checkpoint = save_checkpoint(accelerator, tmp_path, 1, None)
    assert verify_checkpoint(checkpoint) is True
    marker = json.loads((checkpoint / CHECKPOINT_MARKER).read_text())
    assert marker["step"] == 1 and {"model.safetensors", "optimizer.bin"} <= set(marker["files"])

    weights = checkpoint / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[:-8])
    with pytest.raises(CorruptCheckpointError, match=r"model\.safetensors is truncated") as error:
        find_checkpoint(tmp_path, str(checkpoint))
    assert str(weights) in str(error.value) and "\n" not in str(error.value)
    weights.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, one bit flipped
    with pytest.raises(CorruptCheckpointError, match=r"model\.safetensors is corrupt: its SHA-256"):
        find_checkpoint(tmp_path, str(checkpoint))
    (checkpoint / "optimizer.bin").unlink()
    weights.write_bytes(data)
    with pytest.raises(CorruptCheckpointError, match=r"optimizer\.bin is missing"):
        restore_checkpoint(accelerator, tmp_path, str(checkpoint))


def test_latest_falls_back_to_the_newest_complete_checkpoint(tmp_path, caplog):
    accelerator, model = _tiny_state()
    expected = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    save_checkpoint(accelerator, tmp_path, 2, None)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(1.0)
    newest = save_checkpoint(accelerator, tmp_path, 4, None)
    (newest / "optimizer.bin").write_bytes(b"")  # the observed failure: a 0-byte optimizer file
    with caplog.at_level(logging.WARNING, logger="stackgan_hf.utils.training_utils"):
        assert restore_checkpoint(accelerator, tmp_path, "latest") == 2
    assert "optimizer.bin is truncated (0 bytes" in caplog.text
    assert f"Falling back to {tmp_path / 'checkpoint-2'}" in caplog.text
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, expected[name]), name
    with pytest.raises(CorruptCheckpointError, match="optimizer.bin is truncated"):
        restore_checkpoint(accelerator, tmp_path, str(newest))  # named: refused, not skipped


def test_unfinished_folders_are_skipped_by_latest_and_temporary_ones_removed(tmp_path, caplog):
    accelerator, _ = _tiny_state()
    save_checkpoint(accelerator, tmp_path, 2, None)
    unmarked = tmp_path / "checkpoint-3"  # a folder whose save never finished (or an older version's)
    shutil.copytree(tmp_path / "checkpoint-2", unmarked)
    (unmarked / CHECKPOINT_MARKER).unlink()
    shutil.copytree(unmarked, tmp_path / ".tmp-checkpoint-4")
    with caplog.at_level(logging.WARNING, logger="stackgan_hf.utils.training_utils"):
        assert restore_checkpoint(accelerator, tmp_path, "latest") == 2
    assert f"Skipping {unmarked}: no {CHECKPOINT_MARKER}" in caplog.text
    assert ".tmp-checkpoint-4: an unfinished checkpoint" in caplog.text
    assert not (tmp_path / ".tmp-checkpoint-4").exists()
    # Named explicitly, an unmarked checkpoint loads after a structural check of its files (older runs) ...
    assert restore_checkpoint(accelerator, tmp_path, str(unmarked)) == 3
    # ... which still refuses the 0-byte file of a save that was cut short.
    (unmarked / "optimizer.bin").write_bytes(b"")
    with pytest.raises(CorruptCheckpointError, match=r"checkpoint-3/optimizer\.bin is empty"):
        restore_checkpoint(accelerator, tmp_path, str(unmarked))
    # Checkpoint folders but none usable: refused, naming them, rather than a new run over them.
    shutil.rmtree(tmp_path / "checkpoint-2")
    with pytest.raises(CorruptCheckpointError, match=r"no usable checkpoint .*\(found checkpoint-3, each"):
        restore_checkpoint(accelerator, tmp_path, "latest")
    # No checkpoint folder at all: a new run.
    shutil.rmtree(unmarked)
    assert restore_checkpoint(accelerator, tmp_path, "latest") == 0


def test_the_total_limit_removes_old_checkpoints_only_after_the_new_one_is_complete(tmp_path, monkeypatch):
    import stackgan_hf.utils.training_utils as training_utils

    accelerator, _ = _tiny_state()
    save_checkpoint(accelerator, tmp_path, 1, 1)
    save_checkpoint(accelerator, tmp_path, 2, 1)
    assert [path.name for path in list_checkpoints(tmp_path)] == ["checkpoint-2"]

    def disk_full(folder, step):
        assert (tmp_path / "checkpoint-2").is_dir()  # the old one is still there while the new is written
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(training_utils, "write_checkpoint_marker", disk_full)
    with pytest.raises(
        SaveFailedError, match=r"checkpoint-3 .*No space left on device.*checkpoint-2, is kept"
    ):
        save_checkpoint(accelerator, tmp_path, 3, 1)
    assert [path.name for path in list_checkpoints(tmp_path)] == ["checkpoint-2"]
    assert not list(tmp_path.glob(".tmp-*"))
    verify_checkpoint(tmp_path / "checkpoint-2")


def test_save_pretrained_atomically_keeps_the_old_folder_until_the_new_one_is_written(tmp_path):
    target = tmp_path / "run"
    (target / "checkpoint-1").mkdir(parents=True)

    def save(version):
        def write(folder):
            Path(folder, "unet").mkdir(parents=True)
            Path(folder, "unet", "weights").write_text(version)
            Path(folder, "model_index.json").write_text(json.dumps({"version": version}))

        return write

    save_pretrained_atomically(save("one"), target, "model_index.json")
    save_pretrained_atomically(save("two"), target, "model_index.json")
    assert json.loads((target / "model_index.json").read_text()) == {"version": "two"}
    assert (target / "unet" / "weights").read_text() == "two" and (target / "checkpoint-1").is_dir()

    def fails(folder):
        Path(folder).mkdir(parents=True)
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(SaveFailedError, match="No space left on device.*resume_from_checkpoint latest"):
        save_pretrained_atomically(fails, target, "model_index.json")
    assert (target / "unet" / "weights").read_text() == "two" and (target / "model_index.json").is_file()
    assert not list(target.glob(".tmp-*"))


def test_run_script_turns_user_errors_into_one_line_and_exit_code_2(capsys):
    def main():
        raise CorruptCheckpointError("run/checkpoint-4/optimizer.bin is truncated (0 bytes, 9 written).")

    with pytest.raises(SystemExit) as exit_info:
        run_script(main, (CorruptCheckpointError,))
    assert exit_info.value.code == 2
    assert (
        capsys.readouterr().err
        == "error: run/checkpoint-4/optimizer.bin is truncated (0 bytes, 9 written).\n"
    )
    with pytest.raises(KeyError):  # anything else is a bug: its traceback stays
        run_script(lambda: {}["x"], (CorruptCheckpointError,))
