"""The DDPM report: forward and reverse processes, samples, loss curve, parameter count (PNG + JSON).

``make_report(DDPMReportConfig(...))`` reads a trained ``DDPMPipeline`` (or class-conditional
``ClassConditionalDDPMPipeline``: sample i is digit ``i % 10``, drawn with ``guidance_scale``; or autoguided
``AutoGuidedDDPMPipeline``: its guide UNet with ``guidance_scale``) directory and writes to ``output_dir``:

- ``forward_process.png``: one test digit under the closed form q(x_t | x_0) = N(sqrt(abar_t) x_0,
  (1 - abar_t) I) at t = 0, 100, ..., 900, 999 (one noise draw shared by all t, so the panels differ only
  by the noise level);
- ``reverse_process.png``: one DDPM sample (all T ancestral steps) at the same t, with the model's
  prediction of x_0 under each;
- ``samples_5.png``, ``samples_grid_10x10.png``: generated digits (the first 5 and 100 of the samples);
- ``samples_1000.npy``: ``num_samples`` digits, uint8 ``(N, 28, 28)`` (and ``samples_1000_labels.npy``, the
  asked digits, for a class-conditional model);
- ``loss_curve.png``: the training loss of every step, from the tensorboard events under ``training_dir/logs``
  (all runs of a resumed training together) or else from ``training_summary.json`` (the last run only);
- ``metrics.json``: parameter count, training figures (steps, wall time, hardware, loss), sampler settings.
"""

from __future__ import annotations

import json
import math
import shlex
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from diffusers import DDPMScheduler, UNet2DModel
from matplotlib.figure import Figure  # no pyplot: the caller's matplotlib backend is left alone

from stackgan_hf.utils.config import ConfigError, at_least, check_bounds, option

from .data import MNIST_HUB_ID, images_to_tensor, load_mnist, tensor_to_uint8
from .pipeline import (
    AutoGuidedDDPMPipeline,
    ClassConditionalDDPMPipeline,
    autoguided_prediction,
    check_guidance_interval,
    digit_labels,
    guided_prediction,
)
from .sampling import (
    DigitPipeline,
    as_ddim,
    generate_digits,
    load_pipeline,
    resolve_clipped_model_output,
)

REPORT_TIMESTEPS = (0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 999)


@dataclass
class DDPMReportConfig:
    """Every field is a ``--flag`` of ``scripts/ddpm_figures.py``; its ``help`` is the flag's description in
    ``--help``."""

    pipeline_dir: str = option("outputs/ddpm_mnist", "The trained pipeline: a folder or a Hub repo id.")
    output_dir: str = option("results/ddpm_mnist", "Where the figures, samples and metrics.json go.")
    training_dir: str | None = option(
        None,
        "The training run's output folder (training_summary.json, logs/) when pipeline_dir is an exported "
        "copy; None: pipeline_dir.",
    )
    dataset: str = option(MNIST_HUB_ID, "The Hub dataset of the forward-process figure's digit.")
    dataset_dir: str | None = option(None, "A local copy of MNIST (parquet files) to read instead.")
    dataset_split: str = option("test", "The split of that digit.")
    test_index: int = at_least(0, 0, "The index of that digit in the split.")
    sampler: Literal["ddpm", "ddim"] = option("ddim", "The sampler of samples_N.npy and the grids.")
    num_inference_steps: int = at_least(1, 100, "Sampling steps, at most the model's training timesteps.")
    eta: float = option(0.0, "DDIM's noise scale (>= 0; sampler ddim only).")
    num_samples: int = at_least(1, 1000, "Digits to draw.")
    batch_size: int = at_least(1, 250, "Digits drawn at once.")
    seed: int = at_least(0, 0, "Seed of the samples and of the figures' noise.")
    ddim_comparison_steps: int | None = at_least(
        1,
        None,
        "Also sample the same seeds with DDIM and this many steps (samples_ddim{N}_{num_samples}.npy).",
    )
    hardware_note: str | None = option(None, "Free text for metrics.json (budget, sharing, ...).")
    guidance_scale: float = option(
        2.0, "Class-conditional and autoguided pipelines only: the guidance scale (>= 0; 1: no guidance)."
    )
    guidance_interval: tuple[float, float] | None = option(
        None, "Autoguided pipelines only: guide the timesteps low < t <= high alone, e.g. 80,580."
    )
    use_clipped_model_output: bool | None = option(
        None,
        "DDIM only: re-derive the noise from the clipped x_0 in each step; None: the pipeline's default (off "
        "for DDPMPipeline, on for the guided pipelines).",
    )

    def __post_init__(self):
        check_bounds(self)
        if not (math.isfinite(self.guidance_scale) and self.guidance_scale >= 0):
            raise ConfigError(f"`guidance_scale` must be a number >= 0, got {self.guidance_scale!r}.")
        if not (math.isfinite(self.eta) and self.eta >= 0):
            raise ConfigError(f"`eta` must be a number >= 0, got {self.eta!r}.")
        try:
            check_guidance_interval(self.guidance_interval)
        except ValueError as error:
            raise ConfigError(f"`guidance_interval`: {error}") from None


def check_report_config(config: DDPMReportConfig, pipeline: DigitPipeline) -> None:
    """The options that depend on the loaded ``pipeline`` or on each other; ``ConfigError`` naming them."""
    defaults = {item.name: item.default for item in fields(DDPMReportConfig)}
    guided = isinstance(pipeline, ClassConditionalDDPMPipeline | AutoGuidedDDPMPipeline)
    kind = type(pipeline).__name__
    if not guided and config.guidance_scale != defaults["guidance_scale"]:
        raise ConfigError(
            f"`guidance_scale` does not apply: {config.pipeline_dir} holds a {kind}, which has no guidance."
        )
    if config.guidance_interval is not None and not isinstance(pipeline, AutoGuidedDDPMPipeline):
        raise ConfigError(
            f"`guidance_interval` is for an AutoGuidedDDPMPipeline; {config.pipeline_dir} holds a {kind}."
        )
    uses_ddim = config.sampler == "ddim" or config.ddim_comparison_steps
    if not uses_ddim and config.use_clipped_model_output is not None:
        raise ConfigError(
            "`use_clipped_model_output` does not apply: sampler ddpm and no ddim_comparison_steps."
        )
    if config.sampler == "ddpm" and config.eta != defaults["eta"]:
        raise ConfigError("`eta` does not apply: it is DDIM's; the sampler is ddpm.")
    steps = pipeline.scheduler.config.num_train_timesteps
    for name in ("num_inference_steps", "ddim_comparison_steps"):
        value = getattr(config, name)
        if value is not None and value > steps:
            raise ConfigError(f"`{name}` {value} must be at most the model's {steps} training timesteps.")
    if config.training_dir is not None and not Path(config.training_dir).is_dir():
        raise ConfigError(
            f"`training_dir` {config.training_dir}: no such folder (a training run's output_dir)."
        )


def count_parameters(model: UNet2DModel) -> dict[str, int]:
    """Total parameters (``ModelMixin.num_parameters``) and a breakdown by top-level block
    (``down_blocks.0``, ``mid_block``, ...)."""
    blocks = {}
    for name, child in model.named_children():
        children = enumerate(child) if isinstance(child, torch.nn.ModuleList) else [(None, child)]
        for index, block in children:
            blocks[name if index is None else f"{name}.{index}"] = block
    counts = {name: sum(p.numel() for p in block.parameters()) for name, block in blocks.items()}
    return {"total": model.num_parameters(), **{name: count for name, count in counts.items() if count}}


def forward_process(
    clean_image: torch.Tensor,
    scheduler: DDPMScheduler,
    timesteps: tuple[int, ...] = REPORT_TIMESTEPS,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """x_t ~ q(x_t | x_0) in closed form for each t: ``[1, C, H, W]`` -> ``[len(timesteps), C, H, W]``."""
    noise = torch.randn(clean_image.shape, generator=generator).expand(len(timesteps), *clean_image.shape[1:])
    clean = clean_image.expand(len(timesteps), *clean_image.shape[1:])
    return scheduler.add_noise(clean, noise, torch.tensor(timesteps))


def interval_text(guidance_interval: tuple[float, float]) -> str:
    low, high = guidance_interval
    return f"{low:g} < t <= {high:g}"


@torch.no_grad()
def reverse_process(
    unet: UNet2DModel,
    scheduler: DDPMScheduler,
    timesteps: tuple[int, ...] = REPORT_TIMESTEPS,
    generator: torch.Generator | None = None,
    class_label: int | None = None,
    guidance_scale: float = 1.0,
    guide_unet: UNet2DModel | None = None,
    guidance_interval: tuple[float, float] | None = None,
) -> tuple[dict[int, torch.Tensor], dict[int, torch.Tensor], torch.Tensor]:
    """One ancestral DDPM sample over all T steps (of digit ``class_label`` with ``guidance_scale`` for a
    class-conditional UNet; guided by ``guide_unet`` with ``guidance_scale`` at the timesteps of
    ``guidance_interval`` when it is given).

    Returns ``x_t`` (the UNet's input at step t) and the predicted x_0 at each requested t, ``[1, C, H, W]``
    each, and the final sample.
    """
    scheduler = DDPMScheduler.from_config(scheduler.config)
    scheduler.set_timesteps(scheduler.config.num_train_timesteps)
    size = unet.config.sample_size
    sample = torch.randn((1, unet.config.in_channels, size, size), generator=generator)
    noisy, predicted_clean = {}, {}
    for t in scheduler.timesteps:
        if class_label is not None:
            model_output = guided_prediction(unet, sample, t, torch.tensor([class_label]), guidance_scale)
        elif guide_unet is not None:
            model_output = autoguided_prediction(
                unet, guide_unet, sample, t, guidance_scale, guidance_interval
            )
        else:
            model_output = unet(sample, t).sample
        step = scheduler.step(model_output, t, sample, generator=generator)
        if int(t) in timesteps:
            noisy[int(t)] = sample.clone()
            predicted_clean[int(t)] = step.pred_original_sample.clone()
        sample = step.prev_sample
    return noisy, predicted_clean, sample


def _show(axis, image: np.ndarray, title: str | None = None) -> None:
    axis.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    axis.set_xticks([])
    axis.set_yticks([])
    if title:
        axis.set_title(title, fontsize=8)


def plot_rows(
    rows: list[np.ndarray], titles: list[str], row_labels: list[str], path: Path, suptitle: str
) -> None:
    """Rows of uint8 ``[N, H, W]`` images with a title per column."""
    columns = len(titles)
    figure = Figure(figsize=(1.25 * columns, 1.45 * len(rows) + 0.4))
    axes = figure.subplots(len(rows), columns, squeeze=False)
    for row_index, (images, label) in enumerate(zip(rows, row_labels)):
        for column, image in enumerate(images):
            _show(axes[row_index, column], image, titles[column] if row_index == 0 else None)
        axes[row_index, 0].set_ylabel(label, fontsize=8)
    figure.suptitle(suptitle, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def save_grid(images: np.ndarray, path: Path, rows: int, columns: int, scale: int = 3, gap: int = 2) -> None:
    """uint8 ``[rows*columns, H, W]`` -> one PNG mosaic (nearest-neighbor upscaled, gray gaps)."""
    from PIL import Image

    height, width = images.shape[1:]
    mosaic = np.full((rows * (height + gap) + gap, columns * (width + gap) + gap), 128, dtype=np.uint8)
    for index, image in enumerate(images[: rows * columns]):
        top = gap + (index // columns) * (height + gap)
        left = gap + (index % columns) * (width + gap)
        mosaic[top : top + height, left : left + width] = image
    picture = Image.fromarray(mosaic)
    picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST).save(path)


def logged_losses(run_dir: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """``(steps, losses)``: the ``loss`` scalar of the tensorboard events under ``run_dir/logs``, all the runs
    of a resumed training together; where two runs logged the same step (a resume from a checkpoint older
    than the last logged step), the later run's value is kept. None when no events log a loss."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = []
    for path in (run_dir / "logs").rglob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(path), size_guidance={"scalars": 0})
        accumulator.Reload()
        if "loss" in accumulator.Tags()["scalars"]:
            events += accumulator.Scalars("loss")
    by_step = {event.step: event.value for event in sorted(events, key=lambda event: event.wall_time)}
    if not by_step:
        return None
    steps = np.array(sorted(by_step))
    return steps, np.array([by_step[step] for step in steps])


def plot_loss_curve(
    losses: list[float], path: Path, window: int = 50, steps: np.ndarray | None = None
) -> None:
    steps = np.arange(1, len(losses) + 1) if steps is None else steps
    figure = Figure(figsize=(6, 3.5))
    axis = figure.subplots()
    axis.plot(steps, losses, linewidth=0.5, alpha=0.4, label="per step")
    if len(losses) >= window:
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        axis.plot(steps[window - 1 :], smooth, linewidth=1.5, label=f"mean of {window} steps")
    axis.set_yscale("log")
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("MSE (epsilon)")
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def write_samples(
    pipeline: DigitPipeline, config: DDPMReportConfig, output_dir: Path
) -> tuple[np.ndarray, dict]:
    """``samples_{N}.npy`` with the configured sampler, its 5-sample strip and 10x10 grid, and with
    ``ddim_comparison_steps`` the same seeds through DDIM; returns the samples and their timings."""
    sampler = as_ddim(pipeline) if config.sampler == "ddim" else pipeline
    start = time.perf_counter()
    conditional = isinstance(pipeline, ClassConditionalDDPMPipeline)
    guidance = {"guidance_scale": config.guidance_scale}
    if isinstance(pipeline, AutoGuidedDDPMPipeline):
        guidance["guidance_interval"] = config.guidance_interval
    clipped = {"use_clipped_model_output": config.use_clipped_model_output}
    samples = generate_digits(
        sampler,
        config.num_samples,
        config.num_inference_steps,
        config.batch_size,
        config.seed,
        config.eta,
        **guidance,
        **clipped,
    )
    sampling = {
        "samples_file": f"samples_{config.num_samples}.npy",
        "num_samples": config.num_samples,
        "sampler": config.sampler,
        "num_inference_steps": config.num_inference_steps,
        "eta": config.eta if config.sampler == "ddim" else None,
        "use_clipped_model_output": resolve_clipped_model_output(sampler, config.use_clipped_model_output)
        if config.sampler == "ddim"
        else None,
        "seed": config.seed,
        "wall_time_s": round(time.perf_counter() - start, 1),
    }
    np.save(output_dir / sampling["samples_file"], samples)
    if conditional:
        labels_file = f"samples_{config.num_samples}_labels.npy"
        np.save(output_dir / labels_file, digit_labels(0, config.num_samples).numpy().astype(np.uint8))
        sampling.update(class_conditional=True, labels_file=labels_file, **guidance)
    if isinstance(pipeline, AutoGuidedDDPMPipeline):
        sampling.update(autoguidance=True, **guidance)
    plot_rows(
        [samples[:5]],
        [f"#{index}" for index in range(5)],
        [""],
        output_dir / "samples_5.png",
        f"Generated digits ({config.sampler.upper()}, {config.num_inference_steps} steps"
        + (f", eta={config.eta:g})" if config.sampler == "ddim" else ")"),
    )
    save_grid(samples[:100], output_dir / "samples_grid_10x10.png", rows=10, columns=10)
    if config.ddim_comparison_steps:
        steps = config.ddim_comparison_steps
        start = time.perf_counter()
        ddim_pipeline = as_ddim(pipeline)
        ddim = generate_digits(
            ddim_pipeline,
            config.num_samples,
            steps,
            config.batch_size,
            config.seed,
            **guidance,
            **clipped,
        )
        name = f"samples_ddim{steps}_{config.num_samples}.npy"
        np.save(output_dir / name, ddim)
        save_grid(ddim[:100], output_dir / f"samples_ddim{steps}_grid_10x10.png", rows=10, columns=10)
        sampling["ddim_comparison"] = {
            "samples_file": name,
            "num_inference_steps": steps,
            "eta": 0.0,
            "use_clipped_model_output": resolve_clipped_model_output(
                ddim_pipeline, config.use_clipped_model_output
            ),
            "seed": config.seed,
            "wall_time_s": round(time.perf_counter() - start, 1),
        }
    return samples, sampling


def _read_summary(path: Path) -> dict:
    try:
        summary = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"{path}: unreadable ({error}); expected the training run's JSON summary."
        ) from None
    if not isinstance(summary, dict):
        raise ConfigError(f"{path}: expected a JSON object (the training run's summary).")
    return summary


def make_report(config: DDPMReportConfig) -> dict:
    """Writes the figures, ``samples_1000.npy`` and ``metrics.json`` (see the module docstring)."""
    pipeline = load_pipeline(config.pipeline_dir, "ddpm")
    check_report_config(config, pipeline)
    guide_unet = pipeline.guide_unet.eval() if isinstance(pipeline, AutoGuidedDDPMPipeline) else None
    test_set = load_mnist(config.dataset, config.dataset_dir, split=config.dataset_split)
    if config.test_index >= len(test_set):
        raise ConfigError(
            f"`test_index` {config.test_index} is past the end of {config.dataset_dir or config.dataset}'s "
            f"{config.dataset_split!r} split ({len(test_set)} images)."
        )
    output_dir = Path(config.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    unet, scheduler = pipeline.unet.eval(), pipeline.scheduler
    _forward_process_figure(config, test_set, scheduler, unet.config.sample_size == 32, output_dir)
    reverse_time = _reverse_process_figure(config, pipeline, guide_unet, output_dir)
    samples, sampling = write_samples(pipeline, config, output_dir)  # and DDIM with the same seeds
    num_steps = scheduler.config.num_train_timesteps
    metrics = {
        "parameters": count_parameters(unet),
        **({"guide_parameters": count_parameters(guide_unet)} if guide_unet is not None else {}),
        "unet": {key: value for key, value in unet.config.items() if not key.startswith("_")},
        "training": _training_metrics(config, output_dir),
        "sampling": {
            **sampling,
            "reverse_process_figure": f"DDPM, {num_steps} steps, {reverse_time:.1f} s",
            "mean_pixel_samples": float(samples.mean()),
            "mean_pixel_real": float(np.mean([np.asarray(image) for image in test_set[:1000]["image"]])),
        },
        "forward_process": {
            "image": f"{config.dataset_dir or config.dataset} {config.dataset_split}[{config.test_index}]",
            "timesteps": list(REPORT_TIMESTEPS),
            "alphas_cumprod": [round(float(scheduler.alphas_cumprod[t]), 6) for t in REPORT_TIMESTEPS],
        },
        "figures_command": shlex.join(["python", *sys.argv]),
    }
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    return metrics


def _forward_process_figure(config: DDPMReportConfig, test_set, scheduler, pad_to_32: bool, output_dir: Path):
    """``forward_process.png``: one test digit noised in closed form at the report's timesteps."""
    alphas_cumprod = scheduler.alphas_cumprod
    titles = [f"t={t}\n$\\bar\\alpha$={alphas_cumprod[t]:.3f}" for t in REPORT_TIMESTEPS]
    example = test_set[config.test_index]
    clean = images_to_tensor([example["image"]], pad_to_32=pad_to_32)
    noisy = forward_process(clean, scheduler, REPORT_TIMESTEPS, torch.Generator().manual_seed(config.seed))
    plot_rows(
        [tensor_to_uint8(noisy)],
        titles,
        ["x_t"],
        output_dir / "forward_process.png",
        f"Forward process q(x_t | x_0), closed form: {config.dataset_split} image #{config.test_index} "
        f"(label {example['label']})",
    )


def _reverse_process_figure(config: DDPMReportConfig, pipeline, guide_unet, output_dir: Path) -> float:
    """``reverse_process.png``: one sample's x_t and predicted x_0 over all T ancestral steps; returns the
    sampling time in seconds."""
    conditional = isinstance(pipeline, ClassConditionalDDPMPipeline)
    unet, scheduler = pipeline.unet, pipeline.scheduler
    start = time.perf_counter()
    noisy_by_t, clean_by_t, final = reverse_process(
        unet,
        scheduler,
        REPORT_TIMESTEPS,
        torch.Generator().manual_seed(config.seed),
        class_label=0 if conditional else None,
        guidance_scale=config.guidance_scale,
        guide_unet=guide_unet,
        guidance_interval=config.guidance_interval,
    )
    reverse_time = time.perf_counter() - start
    order = sorted(REPORT_TIMESTEPS, reverse=True)
    steps = scheduler.config.num_train_timesteps
    title = f"Reverse process, DDPM ancestral sampling ({steps} steps), seed {config.seed}"
    if conditional:
        title += f", digit 0, guidance {config.guidance_scale:g}"
    if guide_unet is not None:
        title += f", autoguidance {config.guidance_scale:g}"
        if config.guidance_interval:
            title += f" at {interval_text(config.guidance_interval)}"
    plot_rows(
        [
            tensor_to_uint8(torch.cat([noisy_by_t[t] for t in order] + [final])),
            tensor_to_uint8(torch.cat([clean_by_t[t] for t in order] + [final])),
        ],
        [f"t={t}" for t in order] + ["output"],
        ["x_t", "predicted x_0"],
        output_dir / "reverse_process.png",
        title,
    )
    return reverse_time


def _training_metrics(config: DDPMReportConfig, output_dir: Path) -> dict:
    """The training run's summary, and its loss curve (``loss_curve.png``) from the TensorBoard events."""
    training_dir = Path(config.training_dir or config.pipeline_dir)
    summary_path = training_dir / "training_summary.json"
    training = _read_summary(summary_path) if summary_path.is_file() else {}
    losses = training.pop("losses_this_run", [])
    loss_steps = np.arange(1, len(losses) + 1)
    history = logged_losses(training_dir) if training_dir.is_dir() else None
    if history is not None:
        loss_steps, losses = history[0], history[1].tolist()
    if losses:
        plot_loss_curve(losses, output_dir / "loss_curve.png", steps=loss_steps)
    source = "tensorboard events of every run" if history is not None else "training_summary.json"
    return {
        "steps": training.get("global_step"),
        "wall_time_s": training.get("wall_time_s_this_run"),
        "steps_per_s": training.get("steps_per_s"),
        "hardware": training.get("hardware"),
        "hardware_note": config.hardware_note,
        "mixed_precision": training.get("mixed_precision"),
        "loss_first_step": losses[0] if losses else None,
        "loss_mean_first_100": float(np.mean(losses[:100])) if losses else None,
        "loss_mean_last_100": training.get("final_loss_mean_last_100"),
        "loss_every_100_steps": [float(np.mean(losses[i : i + 100])) for i in range(0, len(losses), 100)],
        "loss_curve": f"steps {loss_steps[0]}-{loss_steps[-1]}, {source}" if losses else None,
        "command": training.get("command"),
        "config": training.get("config"),
    }
