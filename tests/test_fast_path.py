"""The fast path (channels-last, bf16 autocast, CPU threads) stays numerically the plain path; the
color-consistency term; mixed-precision resolution."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from accelerate.state import AcceleratorState
from test_train_stackgan import _config, tiny_dataset  # noqa: F401  (the module-scoped fixture)

from stackgan_hf.training import train
from stackgan_hf.training.losses import color_consistency_loss
from stackgan_hf.training.trainer import read_history
from stackgan_hf.utils.training_utils import (
    adam_kwargs,
    cpu_has_native_bf16,
    resolve_mixed_precision,
    set_cpu_threads,
)


def _losses(run_dir, stage=1):
    history = read_history(run_dir / f"stage{stage}_history.jsonl")
    return torch.tensor([[r["d_loss"], r["g_loss"], r["kl"]] for r in history])


def test_bf16_autocast_stays_within_mixed_precision_tolerance(tmp_path, tiny_dataset):  # noqa: F811
    plain = train(_config(tmp_path / "fp32", tiny_dataset, max_train_steps=2, mixed_precision="no"))
    AcceleratorState._reset_state(True)  # accelerate fixes the precision once per process
    bf16 = train(_config(tmp_path / "bf16", tiny_dataset, max_train_steps=2, mixed_precision="bf16"))
    # bf16 keeps 8 bits of mantissa: losses agree to a few percent, not to float32 precision.
    torch.testing.assert_close(_losses(bf16), _losses(plain), rtol=0.05, atol=0.05)


def test_color_consistency_is_zero_for_equal_statistics_and_pulls_towards_them():
    generator = torch.Generator().manual_seed(0)
    low = torch.rand(2, 3, 8, 8, generator=generator) * 2 - 1
    # Nearest upsampling keeps each image's color mean and covariance exactly.
    high = low.repeat_interleave(4, -1).repeat_interleave(4, -2)
    assert color_consistency_loss(high, low).item() == pytest.approx(0.0, abs=1e-7)
    shifted = (high + 0.3).requires_grad_(True)
    loss = color_consistency_loss(shifted, low)
    assert loss.item() == pytest.approx(0.09, rel=1e-4)  # MSE of the means; the covariances are equal
    loss.backward()
    assert (shifted.grad > 0).all()  # descent lowers the shifted image's colors back


def test_stage2_trains_with_the_color_consistency_term(tmp_path, tiny_dataset):  # noqa: F811
    config = _config(
        tmp_path, tiny_dataset, stage="both", max_train_steps=2, color_consistency_coefficient=50.0
    )
    output = train(config)
    assert torch.isfinite(_losses(output, stage=2)).all()


def test_auto_mixed_precision_and_fused_adam(monkeypatch):
    monkeypatch.delenv("ACCELERATE_MIXED_PRECISION", raising=False)
    if torch.cuda.is_available():
        expected = "bf16" if torch.cuda.is_bf16_supported() else "no"
    else:
        expected = "bf16" if cpu_has_native_bf16() else "no"
    assert resolve_mixed_precision("auto") == expected
    assert resolve_mixed_precision("fp16") == "fp16"
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "fp16")  # what `accelerate launch` chose wins
    assert resolve_mixed_precision("auto") == "fp16"
    assert adam_kwargs(torch.device("cpu")) == {} and adam_kwargs(torch.device("cuda")) == {"fused": True}


def test_cpu_threads_share_the_cores_between_local_processes(monkeypatch):
    before = torch.get_num_threads()
    try:
        cpu = SimpleNamespace(device=torch.device("cpu"), num_processes=2)
        monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
        monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(8)), raising=False)
        assert set_cpu_threads(cpu) == 4 and torch.get_num_threads() == 4
        assert set_cpu_threads(cpu, threads=3) == 3
        assert set_cpu_threads(SimpleNamespace(device=torch.device("cuda"), num_processes=1)) is None
    finally:
        torch.set_num_threads(before)


def test_preresized_images_give_the_views_crops_pixel_for_pixel():
    from stackgan_hf.data import StackGANTrainingView, preresize_images
    from stackgan_hf.data.synthetic_birds import generate_synthetic_birds

    stored = generate_synthetic_birds(6, image_size=304, seed=2, split="train")  # as prepare_cub stores them
    small = preresize_images(stored, 64)
    assert small[0]["image"].size == (76, 76) and preresize_images(small, 64) is small
    rows = list(range(6))
    plain = StackGANTrainingView(stored, crop_size=64, seed=1)(stored[rows])
    fast = StackGANTrainingView(small, crop_size=64, seed=1)(small[rows])
    for key in ("pixel_values", "mismatched_pixel_values"):
        torch.testing.assert_close(torch.stack(fast[key]), torch.stack(plain[key]), rtol=0, atol=0)
    assert fast["caption"] == plain["caption"]


def test_ema_generator_restores_the_views_epoch_when_embedding_fails():
    """`_ema_generator` embeds epoch 0's captions; an error there must leave the training view at its own
    epoch, not at 0."""
    from stackgan_hf.training import trainer

    class View:
        epoch = 5

        def set_epoch(self, epoch):
            self.epoch = epoch

        def __len__(self):
            return 4

        def __getitem__(self, rows):
            return {"caption": ["a bird"] * len(rows)}

    def embed(batch):
        raise RuntimeError("embedding failed")

    view = View()
    generator = torch.nn.Linear(2, 2)
    run = SimpleNamespace(
        ema_copy=None,
        ema=SimpleNamespace(optimization_step=1, copy_to=lambda parameters: None),
        accelerator=SimpleNamespace(unwrap_model=lambda model, keep_fp32_wrapper=False: model),
        generator=generator,
        loader=SimpleNamespace(dataset=view),
        view=view,
        embed=embed,
    )
    with pytest.raises(RuntimeError, match="embedding failed"):
        trainer._ema_generator(SimpleNamespace(seed=0, train_batch_size=2), run)
    assert view.epoch == 5


def test_copying_the_generator_keeps_the_trained_ones_mixed_precision_forward():
    from accelerate import Accelerator
    from conftest import TINY_G1

    from stackgan_hf import StackGANStage1Generator
    from stackgan_hf.training.trainer import _generator_copy

    AcceleratorState._reset_state(True)
    accelerator = Accelerator(cpu=True, mixed_precision="bf16")
    generator = accelerator.prepare(StackGANStage1Generator(text_embedding_dim=8, **TINY_G1))
    assert hasattr(generator, "_original_forward")  # accelerate's autocast + fp32-output forward
    copy = _generator_copy(SimpleNamespace(accelerator=accelerator, generator=generator))
    assert hasattr(generator, "_original_forward"), "the trained generator lost its mixed-precision forward"
    assert not hasattr(copy, "_original_forward") and copy is not generator
    for live, copied in zip(generator.parameters(), copy.parameters()):
        assert torch.equal(live, copied) and live.data_ptr() != copied.data_ptr()
