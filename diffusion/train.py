"""Training a DDPM (Ho et al. 2020) on MNIST: diffusers ``UNet2DModel`` + ``DDPMScheduler`` under accelerate.

``train(config)`` is the whole run, top to bottom: data, model, noise schedule, optimizer, resume, the loop
(forward diffusion in closed form, epsilon prediction, MSE), EMA, checkpoints, tensorboard, and at the end a
standard ``DDPMPipeline`` directory (``unet/`` + ``scheduler/``, safetensors) with a model card and a grid of
samples. ``diffusers.DDPMPipeline.from_pretrained(output_dir)`` loads it as is.

Exact resume: the sample order depends only on ``(seed, epoch)`` (accelerate's seedable sampler), the
noise and timesteps of each batch only on ``(seed, epoch, batch, process)``, and ``accelerator.save_state``
stores the model, optimizer, LR schedule, grad scaler and EMA; a run resumed from ``checkpoint-N`` therefore
computes the same losses, step for step, as one that was never interrupted. Checkpoints and the final
pipeline are written crash-safe and checkpoints are verified before loading
(``stackgan_hf.utils.training_utils``), so a run killed at any moment resumes with
``--resume_from_checkpoint latest``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from accelerate.logging import get_logger
from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration, set_seed
from diffusers import DDIMPipeline, DDIMScheduler, DDPMPipeline, DDPMScheduler, UNet2DModel
from diffusers.optimization import get_scheduler
from diffusers.training_utils import EMAModel, compute_snr
from diffusers.utils import make_image_grid
from tqdm.auto import tqdm

from stackgan_hf.utils import training_utils as train_utils
from stackgan_hf.utils.config import ConfigError, at_least, check_bounds, config_to_dict, option
from stackgan_hf.utils.hub import (
    check_model_path,
    model_card_template,
    require_hub_token,
    upload_output_dir,
    write_model_card,
)
from stackgan_hf.utils.run_dir import check_output_dir, remove_previous_runs, set_aside_previous_run
from stackgan_hf.utils.training_utils import TrainingDivergedError

from .data import MNIST_HUB_ID, load_mnist_for_training
from .pipeline import NUM_DIGITS, ClassConditionalDDPMPipeline, add_class_embedding, drop_labels

logger = get_logger(__name__, log_level="INFO")  # accelerate's: logs on the main process only


@dataclass
class DDPMTrainingConfig:
    """Every field is a ``--flag`` of ``scripts/train_ddpm_mnist.py`` (names as in diffusers' examples); its
    ``help`` is the flag's description in ``--help``."""

    # Data
    dataset: str = option(MNIST_HUB_ID, "The Hub dataset to train on.")
    dataset_dir: str | None = option(
        None, "A local copy of MNIST (parquet files) to read instead of downloading the dataset."
    )
    dataset_split: str = option("train", "The split to train on.")
    cache_dir: str | None = option(None, "The datasets cache folder; none: the datasets library's.")
    max_train_samples: int | None = at_least(1, None, "Train on the first this many images only.")
    resolution: Literal[28, 32] = option(
        32, "Image size: 32 pads MNIST with background, so the UNet can downsample 3 times."
    )
    dataloader_num_workers: int = at_least(0, 0, "DataLoader worker processes (0: load in the main process).")
    cpu_threads: int | None = at_least(
        1,
        None,
        "CPU runs: intra-op threads per process. None: the machine's cores shared by the local processes.",
    )
    pretrained_model_name_or_path: str | None = option(
        None,
        "Start from a trained DDPMPipeline (a folder or a Hub repo id; its UNet's architecture replaces the "
        "widths below) instead of random weights: fine-tuning, or a longer run from a released model. A run "
        "resumed from a checkpoint takes the checkpoint's weights.",
    )
    # Model (UNet2DModel)
    block_out_channels: tuple[int, ...] = at_least(
        1, (32, 64, 64), "The UNet's channels at each resolution, comma-separated."
    )
    layers_per_block: int = at_least(1, 2, "ResNet layers per UNet block.")
    down_block_types: tuple[str, ...] | None = option(
        None, "The UNet's down blocks, comma-separated; None: attention only at the lowest resolution."
    )
    up_block_types: tuple[str, ...] | None = option(
        None, "The UNet's up blocks, comma-separated; None: attention only at the lowest resolution."
    )
    norm_num_groups: int = at_least(1, 8, "GroupNorm groups; must divide every width of block_out_channels.")
    attention_head_dim: int = at_least(1, 8, "Width of an attention head.")
    # Noise schedule (the paper's: 1000 steps, linear betas 1e-4 -> 0.02) and target
    num_train_timesteps: int = at_least(1, 1000, "Diffusion steps T.")
    beta_schedule: Literal["linear", "scaled_linear", "squaredcos_cap_v2"] = option(
        "linear", "The noise schedule: linear (the paper), scaled_linear, or squaredcos_cap_v2 (cosine)."
    )
    beta_start: float = option(1e-4, "The first beta of the schedule, in (0, 1) and below beta_end.")
    beta_end: float = option(0.02, "The last beta of the schedule, in (0, 1).")
    prediction_type: Literal["epsilon", "sample", "v_prediction"] = option(
        "epsilon", "What the UNet predicts: the noise (the paper), the clean image, or v."
    )
    # Optimization
    train_batch_size: int = at_least(1, 128, "Images per process and micro-batch.")
    num_train_epochs: int = at_least(1, 10, "Epochs to train (max_train_steps overrides it).")
    max_train_steps: int | None = at_least(1, None, "Optimizer steps to train; overrides num_train_epochs.")
    gradient_accumulation_steps: int = at_least(
        1, 1, "Micro-batches whose gradients are summed before each optimizer step (accelerate's)."
    )
    learning_rate: float = option(1e-3, "Peak learning rate of AdamW (>= 0; 0 trains nothing).")
    lr_scheduler: Literal[
        "linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup"
    ] = option("cosine", "diffusers' learning-rate schedule after the warmup (constant has no warmup).")
    lr_warmup_steps: int = at_least(0, 200, "Steps of linear learning-rate warmup.")
    adam_beta1: float = option(0.9, "AdamW's beta1, in [0, 1).")
    adam_beta2: float = option(0.999, "AdamW's beta2, in [0, 1).")
    adam_weight_decay: float = option(0.0, "AdamW's weight decay (>= 0).")
    adam_epsilon: float = option(1e-8, "AdamW's epsilon (> 0).")
    max_grad_norm: float = option(1.0, "Clip the gradients' norm to this (> 0).")
    snr_gamma: float | None = option(
        None,
        "Min-SNR-gamma loss weighting (Hang et al. 2023): weight min(SNR_t, gamma) / SNR_t for epsilon "
        "prediction (the paper uses gamma = 5); None: the plain MSE of Ho et al.",
    )
    class_conditional: bool = option(
        False,
        "A class-conditional DDPM with classifier-free guidance (Ho & Salimans 2022; the paper's DDPM is "
        "unconditional): a class embedding for the ten digits and a null class, saved as a "
        "ClassConditionalDDPMPipeline (diffusion.pipeline).",
    )
    class_dropout_prob: float = option(
        0.1, "Class-conditional: the share of labels dropped to the null class in training, in [0, 1)."
    )
    guidance_scale: float = option(
        2.0, "Class-conditional: the guidance scale (>= 0) of the validation grids and the saved pipeline."
    )
    use_ema: bool = option(
        True, "Keep an exponential moving average of the UNet and save it as the pipeline."
    )
    ema_max_decay: float = option(0.9999, "The moving average's largest decay, in (0, 1].")
    ema_inv_gamma: float = option(1.0, "The EMA warmup's inverse gamma (> 0; diffusers' EMAModel).")
    ema_power: float = option(0.75, "The EMA warmup's power (> 0; diffusers' EMAModel).")
    mixed_precision: Literal["auto", "no", "fp16", "bf16"] = option(
        "auto", "auto: bf16 on a GPU that supports it (or what `accelerate config` chose), fp32 otherwise."
    )
    seed: int = option(
        0, "Seed of the weights, the data order, the noise and the timesteps (0 to 2**32 - 1)."
    )
    # Output, logging, checkpoints
    output_dir: str = option("outputs/ddpm_mnist", "Where the pipeline, model card, checkpoints and logs go.")
    overwrite_output_dir: bool = option(
        False,
        "Start a new run in an output_dir that holds another run (a saved pipeline, checkpoints): its "
        "checkpoints and logs are moved aside and removed once the new pipeline is saved.",
    )
    logging_dir: str = option("logs", "The trackers' folder, relative to output_dir.")
    report_to: str = option(
        "tensorboard",
        "Where to log: any of accelerate's trackers (tensorboard, wandb, comet_ml, mlflow, ...), several "
        "comma-separated, all (every installed one), or none. The tracker's package must be installed.",
    )
    checkpointing_steps: int = at_least(1, 500, "Save a checkpoint every this many steps (and at the end).")
    checkpoints_total_limit: int | None = at_least(
        1, None, "Keep only the newest this many checkpoints; None: all."
    )
    resume_from_checkpoint: str | None = option(None, '"latest" or a checkpoint folder to resume from.')
    sample_steps: int | None = at_least(
        1, None, "Log a grid of DDIM samples to tensorboard every this many steps; None: never."
    )
    num_validation_images: int = at_least(0, 16, "Images in that grid and in the final grid.")
    validation_inference_steps: int = at_least(
        1, 50, "DDIM steps for the sample grids, at most num_train_timesteps."
    )
    validation_eta: float = option(
        1.0, "DDIM eta (>= 0) of the sample grids (stochastic; eta=0 is grainy until the model is good)."
    )
    # Hub
    push_to_hub: bool = option(
        False, "Upload the final pipeline and its model card to the Hub (needs hub_model_id)."
    )
    hub_model_id: str | None = option(None, "The Hub repo to push to, e.g. your-name/ddpm-mnist.")
    hub_token: str | None = option(
        None,
        "Token to push with; by default the one of `hf auth login` or the HF_TOKEN variable, which are "
        "safer: a token on the command line shows in the process list and the shell's history. Never saved.",
        secret=True,
    )
    hub_private: bool = option(False, "Create the Hub repo private.")

    def __post_init__(self):
        check_bounds(self)
        _check_ranges(self)
        train_utils.report_to_trackers(self.report_to)  # an unknown or uninstalled tracker fails now


def _require(name: str, ok: bool, expected: str, value) -> None:
    if not ok:
        raise ConfigError(f"`{name}` must be {expected}, got {value!r}.")


def _check_ranges(config: DDPMTrainingConfig) -> None:
    """The bounds of single options that ``at_least`` cannot say (open intervals, shares, finite numbers);
    ``ConfigError`` naming the first option out of range. NaN fails every check."""
    positive = ("adam_epsilon", "max_grad_norm", "ema_inv_gamma", "ema_power")
    for name in positive:
        value = getattr(config, name)
        _require(name, math.isfinite(value) and value > 0, "a number > 0", value)
    # learning_rate 0 trains nothing; it is allowed as a check that a run keeps its starting weights.
    for name in ("learning_rate", "adam_weight_decay", "guidance_scale", "validation_eta"):
        value = getattr(config, name)
        _require(name, math.isfinite(value) and value >= 0, "a number >= 0", value)
    for name in ("beta_start", "beta_end"):
        value = getattr(config, name)
        _require(name, 0 < value < 1, "in (0, 1) (a variance per step)", value)
    for name in ("adam_beta1", "adam_beta2", "class_dropout_prob"):
        value = getattr(config, name)
        _require(name, 0 <= value < 1, "in [0, 1)", value)
    _require("ema_max_decay", 0 < config.ema_max_decay <= 1, "in (0, 1]", config.ema_max_decay)
    if config.snr_gamma is not None:
        _require(
            "snr_gamma",
            math.isfinite(config.snr_gamma) and config.snr_gamma > 0,
            "> 0 or none",
            config.snr_gamma,
        )
    _require("seed", 0 <= config.seed < 2**32, "in [0, 2**32)", config.seed)
    _require(
        "dataset_split",
        bool(config.dataset_split.strip()),
        "a split name such as train",
        config.dataset_split,
    )


def _defaults(config_cls: type) -> dict:
    return {item.name: item.default for item in fields(config_cls)}


def _check_unet_options(config: DDPMTrainingConfig) -> None:
    """The UNet's options fit each other: GroupNorm groups divide the widths, the resolution halves at each
    level, one block type per level, attention heads no wider than their blocks."""
    widths = list(config.block_out_channels)
    groups = config.norm_num_groups
    bad = [width for width in widths if width % groups]
    if bad:
        raise ConfigError(
            f"`norm_num_groups` {groups} must divide every width of `block_out_channels` {widths} "
            f"(GroupNorm splits the channels into equal groups); {bad} are not multiples of {groups}."
        )
    factor = 2 ** (len(widths) - 1)
    if config.resolution % factor:
        raise ConfigError(
            f"`resolution` {config.resolution} must be divisible by {factor}: the UNet halves the image "
            f"between each of its {len(widths)} levels (`block_out_channels` {widths}); use resolution 32 "
            "or fewer levels."
        )
    down, up = default_block_types(len(widths))
    for name, types in (
        ("down_block_types", config.down_block_types),
        ("up_block_types", config.up_block_types),
    ):
        if types is not None and len(types) != len(widths):
            raise ConfigError(
                f"`{name}` must name one block per level of `block_out_channels` ({len(widths)}), got "
                f"{len(types)}: {list(types)}."
            )
    down = config.down_block_types or down
    attention = [width for width, kind in zip(widths, down) if "Attn" in kind] + [widths[-1]]  # + mid block
    if config.attention_head_dim > min(attention):
        raise ConfigError(
            f"`attention_head_dim` {config.attention_head_dim} must be at most {min(attention)}, the width "
            "of the narrowest block with attention (it would get no head)."
        )


def check_training_config(config: DDPMTrainingConfig) -> None:
    """The checks of ``config`` that span several options, run by ``train`` before anything is read or built
    (a YAML file and the flags that complete it are checked together).

    Raises:
        ConfigError: naming the options that do not fit, or one set for a mode that does not use it.
    """
    if config.beta_schedule != "squaredcos_cap_v2" and not config.beta_start < config.beta_end:
        raise ConfigError(
            f"`beta_start` {config.beta_start} must be below `beta_end` {config.beta_end}: the noise added "
            "per step grows with t (the paper: 1e-4 to 0.02)."
        )
    if config.validation_inference_steps > config.num_train_timesteps:
        raise ConfigError(
            f"`validation_inference_steps` {config.validation_inference_steps} must be at most "
            f"`num_train_timesteps` {config.num_train_timesteps}."
        )
    if config.pretrained_model_name_or_path is None:
        _check_unet_options(config)
    _check_mode_options(config)


def _check_mode_options(config: DDPMTrainingConfig) -> None:
    """Refuses an option set away from its default in a mode that does not use it."""
    defaults = _defaults(type(config))

    def changed(*names: str) -> list[str]:
        return [f"`{name}`" for name in names if getattr(config, name) != defaults[name]]

    unused = []
    if not config.class_conditional:
        unused.append((changed("class_dropout_prob", "guidance_scale"), "class_conditional is false"))
    if not config.use_ema:
        unused.append((changed("ema_max_decay", "ema_inv_gamma", "ema_power"), "use_ema is false"))
    if config.beta_schedule == "squaredcos_cap_v2":
        unused.append((changed("beta_start", "beta_end"), "beta_schedule squaredcos_cap_v2 (the cosine)"))
    if not config.push_to_hub:
        unused.append((changed("hub_token", "hub_private"), "push_to_hub is false"))
    trackers = train_utils.report_to_trackers(config.report_to) or []
    if "tensorboard" not in trackers:
        unused.append((changed("sample_steps"), f"report_to {config.report_to!r} has no tensorboard"))
    for names, reason in unused:
        if names:
            verb = "does" if len(names) == 1 else "do"
            raise ConfigError(
                f"{', '.join(names)} {verb} not apply: {reason}. Leave it out or change the mode."
            )
    if config.class_conditional and config.class_dropout_prob == 0 and config.guidance_scale != 1:
        raise ConfigError(
            f"`guidance_scale` {config.guidance_scale} needs the unconditional model, which "
            "`class_dropout_prob` 0 never trains: set class_dropout_prob > 0 (e.g. 0.1) or guidance_scale 1."
        )
    if config.push_to_hub and not config.hub_model_id:
        raise ConfigError("--push_to_hub needs --hub_model_id (e.g. your-name/ddpm-mnist).")


def ignored_options(config: DDPMTrainingConfig) -> list[str]:
    """Warnings for options set away from their defaults that this run does not use (it still trains)."""
    defaults = _defaults(type(config))
    warnings = []
    architecture = (
        "block_out_channels",
        "layers_per_block",
        "down_block_types",
        "up_block_types",
        "norm_num_groups",
        "attention_head_dim",
    )
    if config.pretrained_model_name_or_path:
        names = [name for name in architecture if getattr(config, name) != defaults[name]]
        if names:
            warnings.append(
                f"{', '.join(names)} ignored: the UNet of pretrained_model_name_or_path "
                f"{config.pretrained_model_name_or_path} keeps its own architecture."
            )
    if config.max_train_steps and config.num_train_epochs != defaults["num_train_epochs"]:
        warnings.append("num_train_epochs ignored: max_train_steps sets the length of the run.")
    if config.lr_scheduler == "constant" and config.lr_warmup_steps:
        warnings.append(
            f"lr_warmup_steps {config.lr_warmup_steps} ignored: lr_scheduler constant has no warmup "
            "(use constant_with_warmup)."
        )
    if not config.num_validation_images and not config.sample_steps:
        names = [
            name
            for name in ("validation_inference_steps", "validation_eta")
            if getattr(config, name) != defaults[name]
        ]
        if names:
            warnings.append(f"{', '.join(names)} ignored: num_validation_images is 0 and sample_steps none.")
    return warnings


@dataclass
class DDPMTrainingResult:
    """What ``train`` did: the final step, the losses of the steps run in this call, the wall time."""

    output_dir: str
    global_step: int
    first_step: int
    losses: list[float] = field(default_factory=list)
    wall_time_s: float = 0.0


def default_block_types(num_blocks: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Plain ResNet blocks everywhere but at the lowest resolution, which gets self-attention."""
    down = ("DownBlock2D",) * (num_blocks - 1) + ("AttnDownBlock2D",)
    up = ("AttnUpBlock2D",) + ("UpBlock2D",) * (num_blocks - 1)
    return down, up


def build_unet(config: DDPMTrainingConfig) -> UNet2DModel:
    """A grayscale ``UNet2DModel`` for ``config.resolution`` (28 or 32) square images."""
    down, up = default_block_types(len(config.block_out_channels))
    down_block_types = config.down_block_types or down
    up_block_types = config.up_block_types or up
    downsamples = len(config.block_out_channels) - 1
    if config.resolution % (2**downsamples):
        raise ConfigError(
            f"resolution {config.resolution} is not divisible by 2**{downsamples} "
            f"({len(config.block_out_channels)} blocks); use resolution 32 or fewer blocks."
        )
    return UNet2DModel(
        sample_size=config.resolution,
        in_channels=1,
        out_channels=1,
        block_out_channels=tuple(config.block_out_channels),
        layers_per_block=config.layers_per_block,
        down_block_types=tuple(down_block_types),
        up_block_types=tuple(up_block_types),
        norm_num_groups=config.norm_num_groups,
        attention_head_dim=config.attention_head_dim,
        num_class_embeds=NUM_DIGITS + 1 if config.class_conditional else None,
    )


def load_pretrained_unet(config: DDPMTrainingConfig) -> UNet2DModel:
    """The fp32 UNet of the DDPMPipeline ``config.pretrained_model_name_or_path``, which must be a grayscale
    model of ``config.resolution``; ``ConfigError`` naming the field otherwise. With ``class_conditional``,
    an unconditional UNet gets a zero-initialized class embedding (``add_class_embedding``)."""
    from safetensors import SafetensorError

    path = check_model_path(config.pretrained_model_name_or_path)
    if Path(path).is_dir() and not (Path(path) / "unet" / "config.json").is_file():
        raise ConfigError(
            f"pretrained_model_name_or_path: {path} has no unet/config.json; expected a saved DDPMPipeline "
            "folder (model_index.json, unet/, scheduler/)."
        )
    try:
        unet = UNet2DModel.from_pretrained(path, subfolder="unet", torch_dtype=torch.float32)
    except (OSError, ValueError, RuntimeError, SafetensorError) as error:
        message = " ".join(str(error).split())
        raise ConfigError(
            f"pretrained_model_name_or_path: {path}: its UNet could not be loaded ({message})."
        ) from None
    found = (unet.config.sample_size, unet.config.in_channels, unet.config.out_channels)
    if found != (config.resolution, 1, 1):
        raise ConfigError(
            f"pretrained_model_name_or_path: {path} holds a UNet for {found[0]} px images with "
            f"{found[1]} -> {found[2]} channels; expected {config.resolution} px grayscale (1 -> 1)."
        )
    if config.class_conditional:
        return add_class_embedding(unet)
    if unet.config.num_class_embeds is not None:
        raise ConfigError(
            f"pretrained_model_name_or_path: {path} holds a class-conditional UNet; "
            "set class_conditional: true."
        )
    return unet


def build_noise_scheduler(config: DDPMTrainingConfig) -> DDPMScheduler:
    return DDPMScheduler(
        num_train_timesteps=config.num_train_timesteps,
        beta_schedule=config.beta_schedule,
        beta_start=config.beta_start,
        beta_end=config.beta_end,
        prediction_type=config.prediction_type,
    )


def batch_generator(seed: int, epoch: int, batch_index: int, process_index: int) -> torch.Generator:
    """The generator of one batch's noise and timesteps: a function of its position only, not of history."""
    return train_utils.seeded_generator(seed, epoch, batch_index, process_index)


def sample_grid(unet: UNet2DModel, noise_scheduler: DDPMScheduler, config: DDPMTrainingConfig, seed: int):
    """A PIL grid of ``num_validation_images`` DDIM samples (``validation_inference_steps`` steps); a
    class-conditional model draws the digits 0, 1, ..., 9, 0, ... with ``guidance_scale``."""
    scheduler = DDIMScheduler.from_config(noise_scheduler.config)
    kwargs = {
        "num_inference_steps": config.validation_inference_steps,
        "eta": config.validation_eta,
        "generator": torch.Generator(device=unet.device).manual_seed(seed),
        "output_type": "pil",
    }
    if config.class_conditional:
        pipeline = ClassConditionalDDPMPipeline(unet=unet, scheduler=scheduler)
        labels = [index % NUM_DIGITS for index in range(config.num_validation_images)]
        kwargs.update(class_labels=labels, guidance_scale=config.guidance_scale)
    else:
        pipeline = DDIMPipeline(unet=unet, scheduler=scheduler)
        kwargs.update(batch_size=config.num_validation_images)
    pipeline.set_progress_bar_config(disable=True)
    images = pipeline(**kwargs).images
    columns = math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    images += [images[0].point(lambda _: 0)] * (rows * columns - len(images))
    return make_image_grid(images, rows=rows, cols=columns)


def diffusion_loss(
    prediction: torch.Tensor,
    target: torch.Tensor,
    timesteps: torch.Tensor,
    noise_scheduler: DDPMScheduler,
    snr_gamma: float | None = None,
) -> torch.Tensor:
    """The MSE of Ho et al., or with ``snr_gamma`` each image's MSE weighted by min(SNR_t, gamma) / SNR_t
    (epsilon), min(SNR_t, gamma) (sample) or min(SNR_t, gamma) / (SNR_t + 1) (v), as diffusers' examples."""
    if snr_gamma is None:
        return F.mse_loss(prediction.float(), target.float())
    snr = compute_snr(noise_scheduler, timesteps)
    clipped = torch.clamp(snr, max=snr_gamma)
    prediction_type = noise_scheduler.config.prediction_type
    weights = {"epsilon": clipped / snr, "sample": clipped, "v_prediction": clipped / (snr + 1)}
    weights = weights[prediction_type]
    per_image = F.mse_loss(prediction.float(), target.float(), reduction="none").mean(dim=(1, 2, 3))
    return (per_image * weights).mean()


def describe_hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(device)}"
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    processor = platform.processor() or platform.machine()
    return f"CPU: {processor}, {len(cores)} cores, {torch.get_num_threads()} torch threads"


@dataclass
class _Run:
    """What the loop of one ``train`` call works on: accelerate's prepared objects and the step counts."""

    accelerator: Accelerator
    unet: UNet2DModel
    ema_unet: EMAModel | None
    noise_scheduler: DDPMScheduler
    optimizer: torch.optim.Optimizer
    lr_scheduler: object
    train_dataloader: torch.utils.data.DataLoader
    num_images: int
    steps_per_epoch: int
    max_train_steps: int
    num_epochs: int


def train(config: DDPMTrainingConfig) -> DDPMTrainingResult:
    """Trains the DDPM described by ``config``; see the module docstring.

    Before anything is read or built: the options are checked together (``check_training_config``), and a
    folder that holds another run is refused unless the run resumes it or ``overwrite_output_dir`` is set
    (``stackgan_hf.utils.run_dir.check_output_dir``). A NaN or infinite loss stops the run with
    ``TrainingDivergedError`` before that step's checkpoint; the final pipeline is saved only at the end.
    """
    check_training_config(config)
    if config.pretrained_model_name_or_path:
        check_model_path(config.pretrained_model_name_or_path)  # a missing model is named first
    check_output_dir(config.output_dir, config.resume_from_checkpoint, config.overwrite_output_dir)
    hub_token = _check_push_to_hub(config)  # fail now, not after hours of training
    run = _build(config)
    # Resume: every state from the newest complete, verified checkpoint ("latest") or the named one.
    first_step = train_utils.restore_checkpoint(
        run.accelerator, config.output_dir, config.resume_from_checkpoint
    )
    start = time.perf_counter()
    global_step, losses = _loop(config, run, first_step)
    wall_time = time.perf_counter() - start
    _finish(config, run, global_step, first_step, losses, wall_time, hub_token)
    run.accelerator.end_training()
    return DDPMTrainingResult(
        output_dir=str(config.output_dir),
        global_step=global_step,
        first_step=first_step,
        losses=losses,
        wall_time_s=wall_time,
    )


def _check_push_to_hub(config: DDPMTrainingConfig) -> str | None:
    if not config.push_to_hub:
        return None
    return require_hub_token(config.hub_token)


def _build(config: DDPMTrainingConfig) -> _Run:
    """The accelerator, the data, the UNet, its noise schedule, EMA, optimizer and LR schedule, prepared."""
    output_dir = Path(config.output_dir)
    accelerator = Accelerator(
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        mixed_precision=train_utils.resolve_mixed_precision(config.mixed_precision),
        log_with=train_utils.report_to_trackers(config.report_to),
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=config.seed),
        project_config=ProjectConfiguration(
            project_dir=str(output_dir), logging_dir=str(output_dir / config.logging_dir)
        ),
    )
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    for warning in ignored_options(config):
        logger.warning(warning)
    set_seed(config.seed)  # the initial weights
    train_utils.set_cpu_threads(accelerator, config.cpu_threads)
    unet = _build_unet(config)  # before the data: a bad architecture fails without reading it
    dataset, train_dataloader = _load_data(config)
    _prepare_output_dir(config, accelerator)  # only now: a bad option or bad data leaves no folder

    # Model, noise schedule, EMA, optimizer, LR schedule (linear warmup, then cosine decay by default).
    ema_unet = None
    if config.use_ema:
        ema_unet = EMAModel(
            unet.parameters(),
            decay=config.ema_max_decay,
            use_ema_warmup=True,
            inv_gamma=config.ema_inv_gamma,
            power=config.ema_power,
            model_cls=UNet2DModel,
            model_config=unet.config,
        )
    optimizer = torch.optim.AdamW(
        unet.parameters(),
        lr=config.learning_rate,
        betas=(config.adam_beta1, config.adam_beta2),
        weight_decay=config.adam_weight_decay,
        eps=config.adam_epsilon,
        **train_utils.adam_kwargs(accelerator.device),
    )
    unet, optimizer, train_dataloader = accelerator.prepare(unet, optimizer, train_dataloader)
    train_utils.register_pretrained_checkpoint_hooks(accelerator, lambda model: "unet")  # checkpoint-N/unet/
    # Counted on the prepared dataloader: with N processes, each sees 1/N of the batches.
    steps_per_epoch = math.ceil(len(train_dataloader) / config.gradient_accumulation_steps)
    max_train_steps = config.max_train_steps or config.num_train_epochs * steps_per_epoch
    lr_scheduler = get_scheduler(  # the prepared scheduler steps once per process at each optimizer step
        config.lr_scheduler,
        optimizer=optimizer,
        num_warmup_steps=config.lr_warmup_steps * accelerator.num_processes,
        num_training_steps=max_train_steps * accelerator.num_processes,
    )
    lr_scheduler = accelerator.prepare(lr_scheduler)
    if ema_unet is not None:
        ema_unet.to(accelerator.device)
        accelerator.register_for_checkpointing(ema_unet)  # saved and restored with save_state/load_state
    if accelerator.is_main_process and train_utils.report_to_trackers(config.report_to):
        accelerator.init_trackers(
            "ddpm_mnist", config=train_utils.tensorboard_hparams(_public_config(config))
        )
    return _Run(
        accelerator,
        unet,
        ema_unet,
        build_noise_scheduler(config),
        optimizer,
        lr_scheduler,
        train_dataloader,
        len(dataset),
        steps_per_epoch,
        max_train_steps,
        math.ceil(max_train_steps / steps_per_epoch),
    )


def _load_data(config: DDPMTrainingConfig) -> tuple[torch.utils.data.Dataset, torch.utils.data.DataLoader]:
    """The [-1, 1] images and their loader, in an order that depends only on (seed, epoch)."""
    dataset = load_mnist_for_training(
        config.dataset,
        config.dataset_dir,
        split=config.dataset_split,
        pad_to_32=config.resolution == 32,
        max_samples=config.max_train_samples,
        cache_dir=config.cache_dir,
    )
    if len(dataset) < config.train_batch_size:
        raise ConfigError(
            f"`train_batch_size` {config.train_batch_size} is larger than the {len(dataset)} images of "
            f"{config.dataset_dir or config.dataset} ({config.dataset_split!r}"
            + (f", max_train_samples {config.max_train_samples})." if config.max_train_samples else ").")
        )
    train_dataloader = torch.utils.data.DataLoader(
        dataset,
        batch_size=config.train_batch_size,
        shuffle=True,  # accelerate's SeedableRandomSampler: the order of epoch e depends on (seed, e) only
        drop_last=True,
        num_workers=config.dataloader_num_workers,
    )
    return dataset, train_dataloader


def _prepare_output_dir(config: DDPMTrainingConfig, accelerator: Accelerator) -> None:
    """Creates ``output_dir``; with ``overwrite_output_dir`` moves the earlier run's checkpoints and logs
    aside (removed once this run's pipeline is saved)."""
    output_dir = Path(config.output_dir)
    if accelerator.is_main_process:
        output_dir.mkdir(parents=True, exist_ok=True)
        if config.overwrite_output_dir:
            aside = set_aside_previous_run(output_dir, config.logging_dir)
            if aside is not None:
                logger.warning(
                    "--overwrite_output_dir: the earlier run's checkpoints and logs are in %s until this run "
                    "saves its pipeline, which replaces the earlier one.",
                    aside,
                )
    accelerator.wait_for_everyone()


def _build_unet(config: DDPMTrainingConfig) -> UNet2DModel:
    """The pretrained UNet or a new one; diffusers' refusal of the options is a ``ConfigError``."""
    if config.pretrained_model_name_or_path:
        return load_pretrained_unet(config)
    try:
        return build_unet(config)
    except (ValueError, ZeroDivisionError) as error:
        raise ConfigError(
            f"diffusers' UNet2DModel refused the options (down_block_types {config.down_block_types}, "
            f"up_block_types {config.up_block_types}, block_out_channels {config.block_out_channels}): "
            f"{error}"
        ) from None


def _public_config(config: DDPMTrainingConfig) -> dict:
    return config_to_dict(config)  # without hub_token, a secret field


def _loop(config: DDPMTrainingConfig, run: _Run, global_step: int) -> tuple[int, list[float]]:
    """From ``global_step`` to ``run.max_train_steps``, skipping the batches of the current epoch that a
    resumed run had already consumed; returns the final step and this call's losses."""
    accelerator = run.accelerator
    first_epoch = global_step // run.steps_per_epoch
    if global_step >= run.max_train_steps:  # killed while saving the final pipeline: only the save is left
        first_epoch = run.num_epochs
    batches_to_skip = (global_step % run.steps_per_epoch) * config.gradient_accumulation_steps
    total_batch_size = config.train_batch_size * accelerator.num_processes
    total_batch_size *= config.gradient_accumulation_steps
    logger.info(
        "Training: %d images, %d epochs, %d steps, batch %d (total), from step %d",
        run.num_images,
        run.num_epochs,
        run.max_train_steps,
        total_batch_size,
        global_step,
    )
    progress_bar = tqdm(
        total=run.max_train_steps,
        initial=global_step,
        desc="Steps",
        disable=not accelerator.is_local_main_process,
    )
    losses: list[float] = []
    for epoch in range(first_epoch, run.num_epochs):
        run.unet.train()
        skip = batches_to_skip if epoch == first_epoch else 0
        dataloader = run.train_dataloader
        if skip:
            dataloader = accelerator.skip_first_batches(dataloader, skip)
        dataloader.set_epoch(epoch)  # the order of this epoch; also right after a resume
        step_loss = 0.0
        for batch_index, batch in enumerate(dataloader, start=skip):
            generator = batch_generator(config.seed, epoch, batch_index, accelerator.process_index)
            loss_share, grad_norm = _training_step(config, run, batch, generator)
            step_loss += loss_share
            if not accelerator.sync_gradients:
                continue
            # One optimizer step done.
            _check_finite(config, run, global_step + 1, step_loss, grad_norm)
            if run.ema_unet is not None:
                run.ema_unet.step(run.unet.parameters())
            global_step += 1
            losses.append(step_loss)
            logs = {"loss": step_loss, "lr": run.lr_scheduler.get_last_lr()[0], "epoch": epoch}
            if run.ema_unet is not None:
                logs["ema_decay"] = run.ema_unet.cur_decay_value
            accelerator.log(logs, step=global_step)
            progress_bar.update(1)
            progress_bar.set_postfix(loss=f"{step_loss:.4f}", lr=f"{logs['lr']:.2e}")
            step_loss = 0.0
            if global_step % config.checkpointing_steps == 0:
                limit = config.checkpoints_total_limit
                path = train_utils.save_checkpoint(accelerator, config.output_dir, global_step, limit)
                logger.info("Saved state to %s", path)
            if config.sample_steps and global_step % config.sample_steps == 0 and accelerator.is_main_process:
                _log_sample_grid(config, run, global_step)
            if global_step >= run.max_train_steps:
                break
        if global_step >= run.max_train_steps:
            break
    progress_bar.close()
    return global_step, losses


def _check_finite(
    config: DDPMTrainingConfig, run: _Run, step: int, loss: float, grad_norm: float | None
) -> None:
    """``TrainingDivergedError`` when the step's loss, or its gradients' norm before clipping (not under fp16,
    whose loss scaler skips such steps by design), is NaN or infinite: nothing of this step is saved."""
    grad_ok = grad_norm is None or run.accelerator.scaler is not None or math.isfinite(grad_norm)
    if math.isfinite(loss) and grad_ok:
        return
    checkpoints = train_utils.list_checkpoints(config.output_dir)
    kept = (
        f"the last good checkpoint is {checkpoints[-1]}" if checkpoints else "no checkpoint was written yet"
    )
    raise TrainingDivergedError(
        f"The DDPM diverged at step {step}: a NaN or infinite loss ({loss:.4g}) or gradient norm "
        f"({'n/a' if grad_norm is None else f'{grad_norm:.4g}'}); {kept}, and no pipeline was saved. Lower "
        f"--learning_rate (now {config.learning_rate:g}) or try --mixed_precision no."
    )


def _training_step(
    config: DDPMTrainingConfig, run: _Run, batch: dict[str, torch.Tensor], generator: torch.Generator
) -> tuple[float, float | None]:
    """Forward diffusion in closed form, x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, then one
    (accumulated) step on the prediction loss; returns this micro-batch's share of the step's loss and, at the
    step's last micro-batch, the gradients' norm before clipping."""
    accelerator, noise_scheduler = run.accelerator, run.noise_scheduler
    clean_images = batch["pixel_values"]
    noise = torch.randn(clean_images.shape, generator=generator).to(clean_images.device)
    timesteps = torch.randint(
        0, noise_scheduler.config.num_train_timesteps, (clean_images.shape[0],), generator=generator
    ).to(clean_images.device)
    noisy_images = noise_scheduler.add_noise(clean_images, noise, timesteps)
    class_labels = None
    if config.class_conditional:
        class_labels = drop_labels(batch["class_labels"], config.class_dropout_prob, generator)
    with accelerator.accumulate(run.unet):
        prediction = run.unet(noisy_images, timesteps, class_labels=class_labels).sample
        if config.prediction_type == "epsilon":
            target = noise
        elif config.prediction_type == "sample":
            target = clean_images
        else:
            target = noise_scheduler.get_velocity(clean_images, noise, timesteps)
        loss = diffusion_loss(prediction, target, timesteps, noise_scheduler, config.snr_gamma)
        accelerator.backward(loss)
        grad_norm = None
        if accelerator.sync_gradients:
            grad_norm = accelerator.clip_grad_norm_(run.unet.parameters(), config.max_grad_norm)
            grad_norm = None if grad_norm is None else float(grad_norm)
        run.optimizer.step()
        run.lr_scheduler.step()
        run.optimizer.zero_grad()
    share = accelerator.reduce(loss.detach(), reduction="mean").item() / config.gradient_accumulation_steps
    return share, grad_norm


def _log_sample_grid(config: DDPMTrainingConfig, run: _Run, global_step: int) -> None:
    """A DDIM grid of the EMA weights (if any) to tensorboard; the training weights are put back."""
    model = run.accelerator.unwrap_model(run.unet)
    if run.ema_unet is not None:
        run.ema_unet.store(model.parameters())
        run.ema_unet.copy_to(model.parameters())
    grid = sample_grid(model.eval(), run.noise_scheduler, config, seed=config.seed)
    if run.ema_unet is not None:
        run.ema_unet.restore(model.parameters())
    model.train()
    for tracker in run.accelerator.trackers:
        if tracker.name == "tensorboard":
            tracker.writer.add_image("samples", np.asarray(grid), global_step, dataformats="HWC")


def _finish(
    config: DDPMTrainingConfig,
    run: _Run,
    global_step: int,
    first_step: int,
    losses: list[float],
    wall_time: float,
    hub_token: str | None,
) -> None:
    """The final pipeline: EMA weights (if any) in a plain DDPMPipeline directory, a sample grid, the
    training summary, a model card, and the upload when asked."""
    accelerator = run.accelerator
    accelerator.wait_for_everyone()
    if not accelerator.is_main_process:
        return
    output_dir = Path(config.output_dir)
    unet = accelerator.unwrap_model(run.unet)
    if run.ema_unet is not None:
        run.ema_unet.copy_to(unet.parameters())
    unet.eval()
    pipeline_class = ClassConditionalDDPMPipeline if config.class_conditional else DDPMPipeline
    pipeline = pipeline_class(unet=unet, scheduler=run.noise_scheduler)
    train_utils.save_pretrained_atomically(pipeline.save_pretrained, output_dir, "model_index.json")
    for previous in remove_previous_runs(output_dir):  # --overwrite_output_dir: replaced now
        logger.info("Removed %s, the earlier run's checkpoints and logs.", previous)
    if config.num_validation_images > 0:
        sample_grid(unet, run.noise_scheduler, config, seed=config.seed).save(output_dir / "samples.png")
    summary = {
        "global_step": global_step,
        "steps_this_run": global_step - first_step,
        "wall_time_s_this_run": round(wall_time, 1),
        "steps_per_s": round((global_step - first_step) / wall_time, 4) if wall_time > 0 else None,
        "final_loss_mean_last_100": float(np.mean(losses[-100:])) if losses else None,
        "hardware": describe_hardware(accelerator.device),
        "num_processes": accelerator.num_processes,
        "mixed_precision": accelerator.mixed_precision,
        "parameters": unet.num_parameters(),
        "block_out_channels": list(unet.config.block_out_channels),
        "layers_per_block": unet.config.layers_per_block,
        "torch": torch.__version__,
        "command": shlex.join(["python", *sys.argv]),
        "config": _public_config(config),
        "losses_this_run": losses,
    }
    (output_dir / "training_summary.json").write_text(json.dumps(summary, indent=1))
    write_ddpm_model_card(output_dir, config, summary)
    if config.push_to_hub:
        url = upload_output_dir(output_dir, config.hub_model_id, token=hub_token, private=config.hub_private)
        logger.info("Pushed %s to %s", output_dir, url)


def write_ddpm_model_card(output_dir: Path, config: DDPMTrainingConfig, summary: dict) -> Path:
    """``output_dir/README.md`` from ``model_cards/ddpm_mnist.md``."""
    dataset = config.dataset if config.dataset_dir is None else f"{config.dataset} (local parquet copy)"
    return write_model_card(
        output_dir,
        model_card_template("ddpm_mnist"),
        library_name="diffusers",
        pipeline_tag="image-generation" if config.class_conditional else "unconditional-image-generation",
        datasets=[config.dataset],
        tags=["ddpm", "diffusion", "mnist", "pytorch"]
        + (
            ["class-conditional", "classifier-free-guidance"]
            if config.class_conditional
            else ["unconditional-image-generation"]
        ),
        license="apache-2.0",
        model_id=config.hub_model_id or output_dir.name,
        model_path=config.hub_model_id or str(output_dir),  # what the card's snippet loads
        dataset_name=dataset,
        resolution=config.resolution,
        parameters=f"{summary['parameters']:,}",
        block_out_channels=summary["block_out_channels"],
        layers_per_block=summary["layers_per_block"],
        initialized_from=config.pretrained_model_name_or_path,
        num_train_timesteps=config.num_train_timesteps,
        beta_start=config.beta_start,
        beta_end=config.beta_end,
        beta_schedule=config.beta_schedule,
        prediction_type=config.prediction_type,
        loss="MSE"
        if config.snr_gamma is None
        else f"MSE weighted by min(SNR, {config.snr_gamma:g}) / SNR (min-SNR, Hang et al. 2023)",
        lr_scheduler=config.lr_scheduler,
        global_step=summary["global_step"],
        train_batch_size=config.train_batch_size,
        learning_rate=config.learning_rate,
        lr_warmup_steps=config.lr_warmup_steps,
        use_ema=config.use_ema,
        mixed_precision=summary["mixed_precision"],
        hardware=summary["hardware"],
        final_loss=f"{summary['final_loss_mean_last_100']:.4f}"
        if summary["final_loss_mean_last_100"]
        else "n/a",
        has_samples=config.num_validation_images > 0,
        class_conditional=config.class_conditional,
        class_dropout_prob=config.class_dropout_prob,
        guidance_scale=config.guidance_scale,
    )
