"""DDPM on MNIST (``diffusion``): the forward process, training, exact resume, saving, sampling, report.

Everything runs on CPU with a tiny UNet (8/16 channels) on a few synthetic 28x28 images written as parquet
in the ``ylecun/mnist`` schema; nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import reset_accelerate_state
from diffusers import DDIMPipeline, DDIMScheduler, DDPMPipeline, DDPMScheduler, UNet2DModel
from huggingface_hub import ModelCard
from mnist_fixture import synthetic_digits

import stackgan_hf.utils.hub
from diffusion.data import MnistDataError, write_mnist_parquet
from diffusion.pipeline import (
    NULL_CLASS,
    AutoGuidedDDPMPipeline,
    ClassConditionalDDPMPipeline,
    add_class_embedding,
    autoguided_prediction,
    digit_labels,
    drop_labels,
    guided_prediction,
)
from diffusion.sampling import as_ddim, generate_digits, load_pipeline
from diffusion.train import DDPMTrainingConfig, build_noise_scheduler, build_unet, diffusion_loss, train
from diffusion.visualize import (
    REPORT_TIMESTEPS,
    DDPMReportConfig,
    count_parameters,
    forward_process,
    logged_losses,
    make_report,
)
from stackgan_hf.utils.config import ConfigError, parse_config
from stackgan_hf.utils.hub import HubTokenError

REPO = Path(__file__).resolve().parents[1]
TINY_UNET = dict(block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=8, attention_head_dim=4)


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("mnist")
    images, labels = synthetic_digits(40)
    write_mnist_parquet(directory, images, labels, split="train")
    write_mnist_parquet(directory, images[:4], labels[:4], split="test")
    return directory


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models are all per-op overhead: a second thread only adds barriers that stall on shared cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def tiny_config(mnist_dir: Path, output_dir: Path, **overrides) -> DDPMTrainingConfig:
    values = dict(
        dataset_dir=str(mnist_dir),
        cache_dir=str(output_dir.parent / "hf_cache"),
        output_dir=str(output_dir),
        train_batch_size=8,
        max_train_steps=8,
        learning_rate=2e-3,
        lr_warmup_steps=2,
        checkpointing_steps=3,
        num_validation_images=0,
        validation_inference_steps=2,
        report_to="none",
        mixed_precision="no",  # exact comparisons; the bf16 test asks for bf16
        **TINY_UNET,
    )
    values.update(overrides)
    return DDPMTrainingConfig(**values)


# -- the forward process ----------------------------------------------------------------------------------


def test_noise_schedule_is_the_papers():
    scheduler = build_noise_scheduler(DDPMTrainingConfig())
    assert scheduler.config.num_train_timesteps == 1000
    assert scheduler.config.prediction_type == "epsilon"
    assert torch.allclose(scheduler.betas, torch.linspace(1e-4, 0.02, 1000))


def test_closed_form_forward_process_matches_t_single_steps():
    """q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I) vs. x_0 pushed through q(x_s | x_{s-1}) one by one.

    diffusers' timestep t has abar_t = prod_{s<=t} (1 - beta_s), i.e. t + 1 single steps. With n = 20,000
    draws per pixel, the sample mean has standard error sqrt(var / n) and the sample variance about
    var * sqrt(2 / n); both estimates, iterative and closed form, must lie within 5 standard errors of the
    theory for every pixel and every checked t (a 5-sigma miss has probability ~6e-7 per check).
    """
    scheduler = build_noise_scheduler(DDPMTrainingConfig())
    betas = scheduler.betas.double()
    abar = torch.cumprod(1 - betas, 0)
    assert torch.allclose(abar.float(), scheduler.alphas_cumprod)
    generator = torch.Generator().manual_seed(0)
    n = 20_000
    x0 = torch.tensor([-1.0, -0.5, 0.0, 0.3, 1.0], dtype=torch.float64)
    checked = (0, 9, 99, 499, 999)

    iterative = {}
    x = x0.expand(n, -1).clone()
    for step in range(1000):
        x = torch.sqrt(1 - betas[step]) * x + torch.sqrt(betas[step]) * torch.randn(
            x.shape, generator=generator, dtype=torch.float64
        )
        if step in checked:
            iterative[step] = x.clone()

    for t in checked:
        noise = torch.randn((n, x0.numel()), generator=generator, dtype=torch.float64)
        closed = scheduler.add_noise(x0.expand(n, -1), noise, torch.full((n,), t))
        mean, var = torch.sqrt(abar[t]) * x0, (1 - abar[t]).expand_as(x0)
        for samples in (iterative[t], closed):
            mean_error = (samples.mean(0) - mean).abs() / torch.sqrt(var / n)
            var_error = (samples.var(0) - var).abs() / (var * np.sqrt(2 / (n - 1)))
            assert mean_error.max() < 5, (t, mean_error)
            assert var_error.max() < 5, (t, var_error)


def test_forward_process_figure_helper_uses_the_closed_form():
    scheduler = build_noise_scheduler(DDPMTrainingConfig())
    clean = torch.full((1, 1, 4, 4), 0.5)
    noisy = forward_process(clean, scheduler, REPORT_TIMESTEPS, torch.Generator().manual_seed(0))
    assert noisy.shape == (len(REPORT_TIMESTEPS), 1, 4, 4)
    noise = torch.randn((1, 1, 4, 4), generator=torch.Generator().manual_seed(0))
    abar = scheduler.alphas_cumprod[999]
    assert torch.allclose(noisy[-1], abar.sqrt() * clean[0] + (1 - abar).sqrt() * noise[0], atol=1e-6)


# -- training --------------------------------------------------------------------------------------------


def test_min_snr_loss_weights_each_image_by_min_snr_gamma_over_snr():
    scheduler = build_noise_scheduler(DDPMTrainingConfig())
    generator = torch.Generator().manual_seed(0)
    prediction, target = (
        torch.randn(3, 1, 4, 4, generator=generator),
        torch.randn(3, 1, 4, 4, generator=generator),
    )
    timesteps = torch.tensor([0, 500, 999])
    assert torch.equal(
        diffusion_loss(prediction, target, timesteps, scheduler), F.mse_loss(prediction, target)
    )
    abar = scheduler.alphas_cumprod[timesteps]
    snr = abar / (1 - abar)  # the signal-to-noise ratio of x_t
    per_image = ((prediction - target) ** 2).mean(dim=(1, 2, 3))
    expected = (per_image * torch.clamp(snr, max=5.0) / snr).mean()
    assert torch.allclose(diffusion_loss(prediction, target, timesteps, scheduler, snr_gamma=5.0), expected)
    assert snr[0] > 5 > snr[2]  # t=0 is down-weighted, t=999 keeps weight 1


def test_build_unet_sizes():
    unet = build_unet(DDPMTrainingConfig(**TINY_UNET))
    assert (unet.config.sample_size, unet.config.in_channels, unet.config.out_channels) == (32, 1, 1)
    assert unet.config.down_block_types == ("DownBlock2D", "AttnDownBlock2D")
    assert unet(torch.zeros(2, 1, 32, 32), torch.tensor([0, 999])).sample.shape == (2, 1, 32, 32)
    unet28 = build_unet(DDPMTrainingConfig(resolution=28, **TINY_UNET))
    assert unet28(torch.zeros(1, 1, 28, 28), 5).sample.shape == (1, 1, 28, 28)
    with pytest.raises(ValueError, match="not divisible"):
        build_unet(DDPMTrainingConfig(resolution=28, block_out_channels=(8, 8, 8, 8)))


def test_tiny_training_run_lowers_the_loss(mnist_dir, tmp_path):
    result = train(tiny_config(mnist_dir, tmp_path / "run", max_train_steps=40, checkpointing_steps=100))
    assert result.global_step == 40 and len(result.losses) == 40
    assert np.mean(result.losses[-8:]) < 0.6 * np.mean(result.losses[:8]), result.losses


def test_resumed_run_gives_the_same_losses_step_for_step(mnist_dir, tmp_path):
    # 40 images, batch 8: 5 steps per epoch; checkpoint-3 is mid-epoch and steps 6-8 are in epoch 1.
    full = train(tiny_config(mnist_dir, tmp_path / "full"))
    assert len(full.losses) == 8
    assert sorted(path.name for path in (tmp_path / "full").glob("checkpoint-*")) == [
        "checkpoint-3",
        "checkpoint-6",
    ]
    # The UNet of a checkpoint is a save_pretrained folder that diffusers opens as it is.
    checkpoint_unet = UNet2DModel.from_pretrained(tmp_path / "full" / "checkpoint-6" / "unet")
    assert tuple(checkpoint_unet.config.block_out_channels) == (8, 16)

    # A run "stopped" after checkpoint-3: its output directory holds only that checkpoint.
    stopped = tmp_path / "stopped"
    shutil.copytree(tmp_path / "full" / "checkpoint-3", stopped / "checkpoint-3")
    resumed = train(tiny_config(mnist_dir, stopped, resume_from_checkpoint="latest"))
    assert resumed.first_step == 3 and resumed.global_step == 8
    assert resumed.losses == pytest.approx(full.losses[3:], rel=1e-6, abs=1e-8)

    full_unet = UNet2DModel.from_pretrained(tmp_path / "full" / "unet")
    resumed_unet = UNet2DModel.from_pretrained(stopped / "unet")
    for (name, expected), actual in zip(full_unet.state_dict().items(), resumed_unet.state_dict().values()):
        assert torch.allclose(expected, actual, atol=1e-6), name  # EMA weights restored too


def test_checkpoints_total_limit_and_missing_checkpoint(mnist_dir, tmp_path):
    train(
        tiny_config(
            mnist_dir, tmp_path / "run", max_train_steps=6, checkpointing_steps=2, checkpoints_total_limit=2
        )
    )
    assert sorted(path.name for path in (tmp_path / "run").glob("checkpoint-*")) == [
        "checkpoint-4",
        "checkpoint-6",
    ]
    with pytest.raises(FileNotFoundError, match="no-such-checkpoint"):
        train(
            tiny_config(
                mnist_dir, tmp_path / "other", resume_from_checkpoint=str(tmp_path / "no-such-checkpoint")
            )
        )


def test_bf16_mixed_precision_runs_on_cpu(mnist_dir, tmp_path):
    result = train(tiny_config(mnist_dir, tmp_path / "bf16", max_train_steps=2, mixed_precision="bf16"))
    assert all(np.isfinite(result.losses))


def test_bad_dataset_path_is_a_clear_error(tmp_path):
    missing = tmp_path / "no-such-mnist"
    with pytest.raises(MnistDataError, match="does not exist") as error:
        train(tiny_config(missing, tmp_path / "run"))
    assert str(missing) in str(error.value)


def test_push_to_hub_without_token_fails_before_training(tmp_path, monkeypatch):
    monkeypatch.setattr(stackgan_hf.utils.hub, "get_token", lambda: None)
    config = tiny_config(tmp_path / "not-read", tmp_path / "run", push_to_hub=True, hub_model_id="me/ddpm")
    with pytest.raises(HubTokenError, match="HF_TOKEN"):
        train(config)  # not MnistDataError: the data is never touched
    assert not (tmp_path / "run").exists()


def test_yaml_configs_parse():
    for name in ("mnist.yaml", "mnist_cpu.yaml"):
        config = parse_config(
            DDPMTrainingConfig, ["--config", str(REPO / "configs" / "ddpm" / name), "--max_train_steps", "5"]
        )
        assert config.max_train_steps == 5 and config.num_train_timesteps == 1000
        assert isinstance(config.block_out_channels, tuple) and config.prediction_type == "epsilon"


# -- the trained pipeline: saving, loading, sampling, report ----------------------------------------------


@pytest.fixture(scope="module")
def trained_dir(mnist_dir, tmp_path_factory) -> Path:
    """A tiny pipeline trained through the command-line script (YAML + flags, tensorboard on)."""
    output_dir = tmp_path_factory.mktemp("trained")
    config_file = output_dir / "tiny.yaml"
    config_file.write_text(
        "block_out_channels: [8, 16]\nlayers_per_block: 1\nnorm_num_groups: 8\nattention_head_dim: 4\n"
        "train_batch_size: 8\nlearning_rate: 2.0e-3\nlr_warmup_steps: 2\ncheckpointing_steps: 100\n"
        "num_validation_images: 4\nvalidation_inference_steps: 2\nsample_steps: 2\nsnr_gamma: 5.0\n"
    )
    spec = importlib.util.spec_from_file_location(
        "train_ddpm_mnist", REPO / "scripts" / "train_ddpm_mnist.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main(
        ["--config", str(config_file), "--dataset_dir", str(mnist_dir), "--output_dir", str(output_dir)]
        + ["--max_train_steps", "4", "--cache_dir", str(output_dir / "hf_cache")]
    )
    reset_accelerate_state()
    return output_dir


def test_output_is_a_plain_ddpm_pipeline_directory(trained_dir):
    model_index = json.loads((trained_dir / "model_index.json").read_text())
    assert model_index["_class_name"] == "DDPMPipeline"
    assert model_index["unet"] == ["diffusers", "UNet2DModel"]
    assert model_index["scheduler"] == ["diffusers", "DDPMScheduler"]
    assert (trained_dir / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    assert (trained_dir / "samples.png").is_file()
    events = list((trained_dir / "logs").rglob("events.out.tfevents.*"))  # tensorboard
    assert any(b"samples" in path.read_bytes() for path in events)  # the sample grid of step 2

    pipeline = DDPMPipeline.from_pretrained(trained_dir)  # plain diffusers, nothing of ours imported
    assert isinstance(pipeline.scheduler, DDPMScheduler)
    images = pipeline(batch_size=2, num_inference_steps=3, output_type="np").images
    assert images.shape == (2, 32, 32, 1) and 0 <= images.min() <= images.max() <= 1

    card = ModelCard.load(trained_dir / "README.md")
    assert card.data.library_name == "diffusers"
    assert card.data.pipeline_tag == "unconditional-image-generation"
    assert card.data.datasets == ["ylecun/mnist"] and "ddpm" in card.data.tags
    assert (
        "epsilon prediction, MSE weighted by min(SNR, 5) / SNR" in card.text
    )  # the loss it was trained with
    assert "then cosine schedule" in card.text
    summary = json.loads((trained_dir / "training_summary.json").read_text())
    assert summary["global_step"] == 4 and len(summary["losses_this_run"]) == 4


def test_training_can_start_from_a_trained_pipeline(trained_dir, mnist_dir, tmp_path):
    """--pretrained_model_name_or_path: the UNet (architecture and weights) of a saved DDPMPipeline; with a
    learning rate of 0 the run's final weights are exactly the pretrained ones."""
    config = tiny_config(
        mnist_dir,
        tmp_path / "tuned",
        pretrained_model_name_or_path=str(trained_dir),
        block_out_channels=(16, 32),  # ignored: the pretrained UNet's widths (8, 16) are kept
        learning_rate=0.0,
        max_train_steps=3,
        checkpointing_steps=100,
    )
    train(config)
    reset_accelerate_state()
    tuned = UNet2DModel.from_pretrained(tmp_path / "tuned", subfolder="unet")
    pretrained = UNet2DModel.from_pretrained(trained_dir, subfolder="unet")
    assert tuned.config.block_out_channels == pretrained.config.block_out_channels == [8, 16]
    for (name, a), (_, b) in zip(tuned.state_dict().items(), pretrained.state_dict().items()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    card = (tmp_path / "tuned" / "README.md").read_text()
    assert f"| initialized from | `{trained_dir}`" in card and "[8, 16]" in card

    with pytest.raises(ValueError, match="pretrained_model_name_or_path: .* 32 px .* expected 28 px"):
        train(replace(config, resolution=28, output_dir=str(tmp_path / "wrong")))
    with pytest.raises(FileNotFoundError, match="no-such-pipeline"):
        train(replace(config, pretrained_model_name_or_path=str(tmp_path / "no-such-pipeline")))


def test_save_load_round_trip(trained_dir, tmp_path):
    pipeline = DDPMPipeline.from_pretrained(trained_dir)
    pipeline.save_pretrained(tmp_path / "copy")
    reloaded = DDPMPipeline.from_pretrained(tmp_path / "copy")
    for (name, expected), actual in zip(
        pipeline.unet.state_dict().items(), reloaded.unet.state_dict().values()
    ):
        assert torch.equal(expected, actual), name
    assert reloaded.scheduler.config.num_train_timesteps == 1000
    first = pipeline(
        batch_size=1, num_inference_steps=2, generator=torch.Generator().manual_seed(1), output_type="np"
    )
    second = reloaded(
        batch_size=1, num_inference_steps=2, generator=torch.Generator().manual_seed(1), output_type="np"
    )
    assert np.array_equal(first.images, second.images)


@pytest.mark.parametrize("sampler, steps", [("ddpm", 4), ("ddim", 3)])
def test_sampling_shapes_and_determinism(trained_dir, sampler, steps):
    pipeline = load_pipeline(trained_dir, sampler=sampler)
    assert isinstance(pipeline, DDIMPipeline if sampler == "ddim" else DDPMPipeline)
    digits = generate_digits(pipeline, num_images=5, num_inference_steps=steps, batch_size=2, seed=0)
    assert digits.shape == (5, 28, 28) and digits.dtype == np.uint8
    again = generate_digits(pipeline, num_images=5, num_inference_steps=steps, batch_size=2, seed=0)
    other = generate_digits(pipeline, num_images=5, num_inference_steps=steps, batch_size=2, seed=1)
    assert np.array_equal(digits, again) and not np.array_equal(digits, other)


def test_channels_last_sampling_matches_the_plain_path(trained_dir):
    pipeline = load_pipeline(trained_dir, sampler="ddim")
    weight = pipeline.unet.down_blocks[0].resnets[0].conv1.weight  # 8 input channels (conv_in's 1 is both)
    plain = generate_digits(pipeline, num_images=3, num_inference_steps=3, batch_size=3, seed=0, fast=False)
    assert weight.is_contiguous() and not weight.is_contiguous(memory_format=torch.channels_last)
    fast = generate_digits(pipeline, num_images=3, num_inference_steps=3, batch_size=3, seed=0, fast=True)
    assert weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
    assert np.abs(fast.astype(int) - plain.astype(int)).max() <= 1  # float rounding only


def test_ddim_shares_the_checkpoints_noise_schedule(trained_dir):
    ddpm = DDPMPipeline.from_pretrained(trained_dir)
    ddim = as_ddim(ddpm)
    assert ddim.unet is ddpm.unet
    assert torch.allclose(ddim.scheduler.alphas_cumprod, ddpm.scheduler.alphas_cumprod)
    ddim.scheduler.set_timesteps(10)
    assert len(ddim.scheduler.timesteps) == 10


def test_report_writes_figures_samples_and_metrics(trained_dir, mnist_dir, tmp_path):
    config = DDPMReportConfig(
        pipeline_dir=str(trained_dir),
        output_dir=str(tmp_path / "report"),
        dataset_dir=str(mnist_dir),
        num_samples=6,
        batch_size=3,
        num_inference_steps=2,
        ddim_comparison_steps=3,
    )
    metrics = make_report(config)
    report = tmp_path / "report"
    for name in ("forward_process", "reverse_process", "samples_5", "samples_grid_10x10", "loss_curve"):
        assert (report / f"{name}.png").is_file(), name
    samples = np.load(report / "samples_6.npy")
    assert samples.shape == (6, 28, 28) and samples.dtype == np.uint8
    unet = UNet2DModel.from_pretrained(trained_dir / "unet")
    assert metrics["parameters"]["total"] == sum(p.numel() for p in unet.parameters())
    assert metrics["parameters"] == count_parameters(unet)
    saved = json.loads((report / "metrics.json").read_text())
    assert saved["training"]["steps"] == 4 and saved["sampling"]["sampler"] == "ddim"
    assert saved["forward_process"]["timesteps"] == list(REPORT_TIMESTEPS)
    # The DDIM comparison: the same seeds through the same UNet with another sampler and step count.
    ddim = np.load(report / "samples_ddim3_6.npy")
    assert ddim.shape == (6, 28, 28) and not np.array_equal(ddim, samples)
    expected = generate_digits(as_ddim(load_pipeline(trained_dir)), 6, 3, batch_size=3, seed=0)
    assert np.array_equal(ddim, expected)
    assert saved["sampling"]["ddim_comparison"]["num_inference_steps"] == 3
    assert saved["training"]["loss_curve"] == "steps 1-4, tensorboard events of every run"


def test_logged_losses_join_the_runs_of_a_resumed_training(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    for run, (first, last, value) in enumerate(
        [(1, 5, 1.0), (4, 6, 2.0)]
    ):  # resumed from step 3's checkpoint
        writer = SummaryWriter(tmp_path / "logs" / "ddpm_mnist" / f"run{run}")
        for step in range(first, last + 1):
            writer.add_scalar("loss", value, step)
            writer.add_scalar("lr", 0.1, step)
        writer.close()
        time.sleep(0.01)  # the second run's events are later
    steps, losses = logged_losses(tmp_path)
    assert steps.tolist() == [1, 2, 3, 4, 5, 6] and losses.tolist() == [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
    assert logged_losses(tmp_path / "nothing") is None


def test_training_config_fields_round_trip_through_replace(tmp_path):
    config = tiny_config(tmp_path, tmp_path / "run")
    assert replace(config, seed=3).seed == 3 and config.dataset == "ylecun/mnist"


# -- the class-conditional option (classifier-free guidance) ----------------------------------------------


def test_added_class_embedding_starts_as_the_unconditional_model(trained_dir):
    """Zero-initialised class embedding: the same prediction for every label, the null class included."""
    unet = UNet2DModel.from_pretrained(trained_dir, subfolder="unet").eval()
    conditional = add_class_embedding(unet).eval()
    assert conditional.config.num_class_embeds == NULL_CLASS + 1 and unet.config.num_class_embeds is None
    sample = torch.randn(3, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    timesteps = torch.tensor([3, 400, 999])
    with torch.no_grad():
        expected = unet(sample, timesteps).sample
        for labels in ([0, 5, 9], [NULL_CLASS] * 3):
            actual = conditional(sample, timesteps, class_labels=torch.tensor(labels)).sample
            torch.testing.assert_close(actual, expected, rtol=0, atol=0)
    assert add_class_embedding(conditional) is conditional
    with pytest.raises(ValueError, match="5 class embeddings; expected 11"):
        add_class_embedding(UNet2DModel.from_config({**conditional.config, "num_class_embeds": 5}))


def test_label_dropout_and_guidance_formula():
    labels = torch.arange(10).repeat(100)
    generator = torch.Generator().manual_seed(0)
    assert torch.equal(drop_labels(labels, 0.0, generator), labels)
    dropped = drop_labels(labels, 0.3, generator)
    kept = dropped != NULL_CLASS
    assert torch.equal(dropped[kept], labels[kept]) and 0.25 < 1 - kept.float().mean() < 0.35

    class Linear(torch.nn.Module):  # eps(x, t, c) = x * (c + 1): guidance is linear in the two outputs
        config = SimpleNamespace(sample_size=4, in_channels=1)

        def forward(self, sample, t, class_labels):
            return SimpleNamespace(sample=sample * (class_labels[:, None, None, None] + 1.0))

    sample, labels = torch.ones(2, 1, 4, 4), torch.tensor([2, 7])
    conditional = sample * torch.tensor([3.0, 8.0])[:, None, None, None]
    unconditional = sample * (NULL_CLASS + 1.0)
    guided = guided_prediction(Linear(), sample, torch.tensor(5), labels, guidance_scale=3.0)
    torch.testing.assert_close(guided, unconditional + 3.0 * (conditional - unconditional))
    torch.testing.assert_close(guided_prediction(Linear(), sample, torch.tensor(5), labels, 1.0), conditional)
    assert digit_labels(8, 5).tolist() == [8, 9, 0, 1, 2]


@pytest.fixture(scope="module")
def conditional_dir(trained_dir, mnist_dir, tmp_path_factory) -> Path:
    """The tiny unconditional pipeline fine-tuned with class_conditional (a few steps)."""
    output_dir = tmp_path_factory.mktemp("conditional")
    config = tiny_config(
        mnist_dir,
        output_dir,
        pretrained_model_name_or_path=str(trained_dir),
        class_conditional=True,
        class_dropout_prob=0.5,
        max_train_steps=3,
        checkpointing_steps=100,
        num_validation_images=4,
    )
    result = train(config)
    reset_accelerate_state()
    assert len(result.losses) == 3 and all(np.isfinite(result.losses))
    return output_dir


def test_class_conditional_training_saves_a_guided_pipeline(
    conditional_dir, trained_dir, mnist_dir, tmp_path
):
    model_index = json.loads((conditional_dir / "model_index.json").read_text())
    assert model_index["_class_name"] == ["pipeline", "ClassConditionalDDPMPipeline"]
    assert model_index["unet"] == ["diffusers", "UNet2DModel"]
    unet = UNet2DModel.from_pretrained(conditional_dir, subfolder="unet")
    assert unet.config.num_class_embeds == 11 and unet.class_embedding.weight.abs().sum() > 0  # it learned
    card = ModelCard.load(conditional_dir / "README.md")
    assert card.data.pipeline_tag == "image-generation" and "classifier-free-guidance" in card.data.tags
    assert "ClassConditionalDDPMPipeline.from_pretrained" in card.text
    assert "pipe = DDPMPipeline" not in card.text and "unconditionally" not in card.text

    for sampler, pipeline_class in (("ddpm", DDPMScheduler), ("ddim", DDIMScheduler)):
        pipeline = load_pipeline(conditional_dir, sampler)
        assert isinstance(pipeline, ClassConditionalDDPMPipeline)
        assert isinstance(pipeline.scheduler, pipeline_class)
        digits = generate_digits(pipeline, num_images=5, num_inference_steps=3, batch_size=2, seed=0)
        again = generate_digits(pipeline, num_images=5, num_inference_steps=3, batch_size=2, seed=0)
        unguided = generate_digits(pipeline, 5, 3, batch_size=2, seed=0, guidance_scale=1.0)
        assert digits.shape == (5, 28, 28) and np.array_equal(digits, again)
        assert not np.array_equal(digits, unguided)
    with pytest.raises(ValueError, match="class_labels must be digits 0-9"):
        pipeline(class_labels=[3, 10], num_inference_steps=2)
    with pytest.raises(ValueError, match="num_class_embeds = 11"):
        ClassConditionalDDPMPipeline(
            unet=UNet2DModel.from_pretrained(trained_dir, subfolder="unet"), scheduler=None
        )
    # A conditional UNet asked to train unconditionally is a clear error, not a crash at the first step.
    config = tiny_config(mnist_dir, tmp_path / "x", pretrained_model_name_or_path=str(conditional_dir))
    with pytest.raises(ValueError, match="class-conditional UNet; set class_conditional: true"):
        train(config)
    reset_accelerate_state()


def test_report_of_a_class_conditional_pipeline(conditional_dir, mnist_dir, tmp_path):
    config = DDPMReportConfig(
        pipeline_dir=str(conditional_dir),
        output_dir=str(tmp_path / "report"),
        dataset_dir=str(mnist_dir),
        sampler="ddpm",
        num_samples=12,
        batch_size=12,
        num_inference_steps=2,
        ddim_comparison_steps=2,
        guidance_scale=3.0,
    )
    metrics = make_report(config)
    report = tmp_path / "report"
    assert np.load(report / "samples_12_labels.npy").tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert metrics["sampling"]["guidance_scale"] == 3.0 and metrics["sampling"]["class_conditional"]
    assert (
        metrics["sampling"]["ddim_comparison"]["use_clipped_model_output"] is True
    )  # the pipeline's default
    expected = generate_digits(
        load_pipeline(conditional_dir), 12, 2, batch_size=12, seed=0, guidance_scale=3.0
    )
    assert np.array_equal(np.load(report / "samples_12.npy"), expected)
    assert (report / "reverse_process.png").is_file() and (report / "samples_ddim2_12.npy").is_file()


def test_conditional_ddim_can_rederive_the_noise_from_the_clipped_x0(conditional_dir):
    """``use_clipped_model_output`` reaches the DDIM step (Glide's rule, on by default here) and
    ``generate_digits`` leaves the pipeline's default alone unless asked."""
    pipeline = load_pipeline(conditional_dir, "ddim")
    labels = torch.tensor([1, 7])

    def manual(clipped: bool) -> torch.Tensor:
        generator = torch.Generator().manual_seed(0)
        size = pipeline.unet.config.sample_size
        image = torch.randn(2, 1, size, size, generator=generator)
        pipeline.scheduler.set_timesteps(4)
        with torch.no_grad():
            for t in pipeline.scheduler.timesteps:
                eps = guided_prediction(pipeline.unet, image, t, labels, 3.0)
                image = pipeline.scheduler.step(eps, t, image, use_clipped_model_output=clipped).prev_sample
        return (image / 2 + 0.5).clamp(0, 1)

    def piped(**kwargs) -> torch.Tensor:
        generator = torch.Generator().manual_seed(0)
        return pipeline(labels, 3.0, 4, generator, output_type="pt", **kwargs).images

    torch.testing.assert_close(piped(), manual(True))
    torch.testing.assert_close(piped(use_clipped_model_output=False), manual(False))
    assert not torch.allclose(manual(True), manual(False))
    default = generate_digits(pipeline, 2, 4, batch_size=2, seed=0)
    assert np.array_equal(default, generate_digits(pipeline, 2, 4, 2, seed=0, use_clipped_model_output=True))
    assert not np.array_equal(
        default, generate_digits(pipeline, 2, 4, 2, seed=0, use_clipped_model_output=False)
    )


# -- autoguidance (a weaker UNet guides the unconditional model) ---------------------------------------------


def test_autoguidance_formula_and_its_one_pass_without_guidance():
    class Scaled(torch.nn.Module):  # eps(x, t) = factor * x
        def __init__(self, factor: float):
            super().__init__()
            self.factor, self.calls = factor, 0

        def forward(self, sample, t):
            self.calls += 1
            return SimpleNamespace(sample=sample * self.factor)

    main, guide, sample = Scaled(2.0), Scaled(5.0), torch.ones(2, 1, 4, 4)
    guided = autoguided_prediction(main, guide, sample, torch.tensor(3), guidance_scale=2.5)
    torch.testing.assert_close(guided, sample * (5.0 + 2.5 * (2.0 - 5.0)))
    torch.testing.assert_close(autoguided_prediction(main, guide, sample, torch.tensor(3), 1.0), sample * 2.0)
    assert (main.calls, guide.calls) == (2, 1)  # guidance 1: the guide is not run
    # A guidance interval (low, high]: guided inside, the main model alone (one pass) outside.
    for t, inside in ((100, False), (101, True), (580, True), (581, False)):
        output = autoguided_prediction(
            main, guide, sample, torch.tensor(t), 2.5, guidance_interval=(100, 580)
        )
        torch.testing.assert_close(output, sample * (5.0 + 2.5 * (2.0 - 5.0) if inside else 2.0))
    assert (main.calls, guide.calls) == (6, 3)


@pytest.fixture(scope="module")
def autoguided_dir(trained_dir, tmp_path_factory) -> Path:
    """The tiny trained pipeline guided by a narrower, untrained UNet of the same shape, saved."""
    main = DDPMPipeline.from_pretrained(trained_dir)
    torch.manual_seed(0)
    config = {key: value for key, value in main.unet.config.items() if not key.startswith("_")}
    guide_unet = UNet2DModel.from_config({**config, "block_out_channels": (8, 8)})
    guide = DDPMPipeline(unet=guide_unet, scheduler=DDPMScheduler.from_config(main.scheduler.config))
    output_dir = tmp_path_factory.mktemp("autoguided")
    AutoGuidedDDPMPipeline.from_pipelines(main, guide).save_pretrained(output_dir)
    return output_dir


def test_autoguided_pipeline_saves_loads_and_samples(autoguided_dir, trained_dir):
    model_index = json.loads((autoguided_dir / "model_index.json").read_text())
    assert model_index["_class_name"] == ["pipeline", "AutoGuidedDDPMPipeline"]
    assert model_index["guide_unet"] == ["diffusers", "UNet2DModel"]
    for sampler, scheduler_class, plain_class in (
        ("ddpm", DDPMScheduler, DDPMPipeline),
        ("ddim", DDIMScheduler, DDIMPipeline),
    ):
        pipeline = load_pipeline(autoguided_dir, sampler)
        assert isinstance(pipeline, AutoGuidedDDPMPipeline) and isinstance(
            pipeline.scheduler, scheduler_class
        )
        assert pipeline.guide_unet.config.block_out_channels == [8, 8]
        guided = generate_digits(pipeline, 3, 3, batch_size=2, seed=0, guidance_scale=2.0)
        assert guided.shape == (3, 28, 28)
        assert np.array_equal(
            guided, generate_digits(pipeline, 3, 3, batch_size=2, seed=0, guidance_scale=2.0)
        )
        # Guidance 1 is the main model alone: the very samples of the plain diffusers pipeline.
        plain = load_pipeline(trained_dir, sampler)
        assert isinstance(plain, plain_class)
        alone = generate_digits(pipeline, 3, 3, 2, seed=0, guidance_scale=1.0, use_clipped_model_output=False)
        assert np.array_equal(alone, generate_digits(plain, 3, 3, 2, seed=0, use_clipped_model_output=False))
        assert not np.array_equal(alone, guided)


def test_guidance_interval_guides_only_its_timesteps(autoguided_dir, trained_dir, tmp_path):
    pipeline = load_pipeline(autoguided_dir, "ddim")  # 3 steps of 1000: timesteps 666, 333, 0
    draw = partial(generate_digits, pipeline, 2, 3, batch_size=2, seed=0, guidance_scale=3.0)
    everywhere, alone = draw(), draw(guidance_scale=1.0)
    assert np.array_equal(draw(guidance_interval=(-1, 999)), everywhere)
    assert np.array_equal(draw(guidance_interval=(700, 999)), alone)  # no step inside
    partly = draw(guidance_interval=(300, 400))  # only t = 333 guided
    assert not np.array_equal(partly, everywhere) and not np.array_equal(partly, alone)
    with pytest.raises(ValueError, match="guidance_interval is for an AutoGuidedDDPMPipeline"):
        generate_digits(load_pipeline(trained_dir), 1, 2, guidance_interval=(0, 500))
    with pytest.raises(ValueError, match="low < high"):
        draw(guidance_interval=(500, 100))
    for pipeline_dir, interval, message in (
        (trained_dir, (0, 500), "holds a DDPMPipeline"),
        (autoguided_dir, (500, 100), "low < high"),
    ):
        with pytest.raises(ConfigError, match=message):
            make_report(
                DDPMReportConfig(str(pipeline_dir), str(tmp_path / "report"), guidance_interval=interval)
            )
    assert not (tmp_path / "report").exists()  # refused before writing anything


def test_autoguidance_refuses_a_guide_of_another_schedule_shape_or_kind(trained_dir):
    main = DDPMPipeline.from_pretrained(trained_dir)
    config = {key: value for key, value in main.unet.config.items() if not key.startswith("_")}
    other_schedule = DDPMScheduler.from_config({**main.scheduler.config, "beta_end": 0.01})
    with pytest.raises(ValueError, match="another noise schedule: beta_end 0.02 vs 0.01"):
        AutoGuidedDDPMPipeline.from_pipelines(main, DDPMPipeline(unet=main.unet, scheduler=other_schedule))
    with pytest.raises(ValueError, match="sample_size 32 vs 16"):
        AutoGuidedDDPMPipeline(
            main.unet, UNet2DModel.from_config({**config, "sample_size": 16}), main.scheduler
        )
    with pytest.raises(ValueError, match="guide_unet has class embeddings"):
        AutoGuidedDDPMPipeline(main.unet, add_class_embedding(main.unet), main.scheduler)


def test_report_of_an_autoguided_pipeline(autoguided_dir, mnist_dir, tmp_path):
    config = DDPMReportConfig(
        pipeline_dir=str(autoguided_dir),
        output_dir=str(tmp_path / "report"),
        dataset_dir=str(mnist_dir),
        sampler="ddpm",
        num_samples=4,
        batch_size=4,
        num_inference_steps=2,
        ddim_comparison_steps=2,
        guidance_scale=1.5,
        guidance_interval=(0, 500),
    )
    metrics = make_report(config)
    assert metrics["sampling"]["autoguidance"] and metrics["sampling"]["guidance_scale"] == 1.5
    assert list(metrics["sampling"]["guidance_interval"]) == [0, 500]
    assert metrics["guide_parameters"]["total"] < metrics["parameters"]["total"]
    assert metrics["sampling"]["ddim_comparison"]["use_clipped_model_output"] is True
    expected = generate_digits(
        load_pipeline(autoguided_dir),
        4,
        2,
        batch_size=4,
        seed=0,
        guidance_scale=1.5,
        guidance_interval=(0, 500),
    )
    assert np.array_equal(np.load(tmp_path / "report" / "samples_4.npy"), expected)
    assert (tmp_path / "report" / "reverse_process.png").is_file()
