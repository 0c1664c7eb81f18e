"""The StackGAN training configuration: every value is a YAML key and a ``--flag`` of the same name."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from ..utils.config import ConfigError, at_least, check_bounds, option
from .augment import parse_policy
from .negatives import parse_negative_kinds


@dataclass
class StackGANTrainingConfig:
    """Every field is a YAML key and a ``--flag`` of ``scripts/train_stackgan.py``; its ``help`` is the
    flag's description in ``--help``. StackGAN-v1's fields come first, the options beyond it last."""

    # Where and what
    output_dir: str = option(
        "outputs/stackgan",
        "Where the pipeline, model card, checkpoints, samples and logs go (--stage both: Stage-I in its "
        "stage1/ subfolder).",
    )
    overwrite_output_dir: bool = option(
        False, "Start afresh in an output_dir that holds another run (its files are replaced)."
    )
    stage: Literal["1", "2", "both"] = option(
        "both", "The stage(s) to train: 1, 2 (over --stage1_model), or both (Stage-I, then Stage-II over it)."
    )
    stage1_model: str | None = option(
        None, "Stage-II: a Stage-I pipeline folder (or Hub id), loaded and frozen."
    )
    seed: int = at_least(0, 0, "Seed of the weights, the data order, the noise and the augmentations.")

    # Data
    dataset: str = option(
        "synthetic-birds",
        "A prepare_cub.py folder, a Hub dataset id, or synthetic-birds (generated offline).",
    )
    image_column: str = option("image", "The dataset's image column.")
    caption_column: str = option("captions", "The dataset's column of caption lists.")
    synthetic_num_images: int = at_least(1, 2048, "synthetic-birds: the number of images to draw.")
    embedding_mode: Literal["one", "mean_of_4"] = option(
        "one",
        "Precomputed embeddings: the embedding of the one chosen caption, or the mean of 4 random ones "
        "(StackGAN-TF).",
    )
    dataloader_num_workers: int = at_least(0, 0, "DataLoader worker processes (0: load in the main process).")
    text_encoder: str = option(
        "bag-of-words",
        "bag-of-words (offline, built from the training captions), precomputed (the dataset's `embeddings` "
        "column, e.g. char-CNN-RNN), or a transformers model id / local path (e.g. a "
        "scripts/train_text_encoder.py folder).",
    )

    # Networks (the official birds values by default)
    condition_dim: int = at_least(1, 128, "Width of the conditioning-augmentation code.")
    generator_channels: int = at_least(2, 128, "Generator width (Ng).")
    discriminator_channels: int = at_least(1, 64, "Discriminator width (Nd).")
    num_residual_blocks: int = at_least(0, 4, "Residual blocks of the Stage-II generator.")

    # Optimization (StackGAN: Adam 2e-4, betas (0.5, 0.999), halved every lr_decay_epochs, KL weight 2)
    train_batch_size: int = at_least(
        1,
        64,
        "Images per process and micro-batch; an update's batch is this x gradient_accumulation_steps x "
        "processes.",
    )
    gradient_accumulation_steps: int = at_least(
        1,
        1,
        "Micro-batches per update, for a batch that does not fit in memory: equal to one batch of "
        "train_batch_size x this, up to float rounding, where rows do not interact (BatchNorm, the "
        "contrastive loss and mismatched_pairs captions see one micro-batch at a time).",
    )
    num_train_epochs: int = at_least(1, 600, "Epochs to train (max_train_steps overrides it).")
    max_train_steps: int | None = at_least(1, None, "Updates to train; overrides num_train_epochs when set.")
    generator_lr: float = option(2e-4, "The generator's Adam learning rate.")
    discriminator_lr: float = option(2e-4, "The discriminator's Adam learning rate.")
    adam_betas: tuple[float, float] = option((0.5, 0.999), "Adam's betas, e.g. 0.5,0.999.")
    lr_decay_epochs: int = at_least(1, 100, "Both learning rates halve every this many epochs.")
    kl_coefficient: float = at_least(
        0, 2.0, "Weight of the conditioning augmentation's KL term in the generator's loss."
    )
    mixed_precision: Literal["auto", "no", "fp16", "bf16"] = option(
        "auto", "auto: bf16 on a GPU that supports it (or what `accelerate config` chose), fp32 otherwise."
    )
    cpu_threads: int | None = at_least(
        1,
        None,
        "CPU runs: intra-op threads per process. None: the machine's cores shared by the local processes "
        "(`accelerate launch` pins each CPU process to 1 thread unless told otherwise).",
    )
    stage2_max_train_steps: int | None = at_least(
        1, None, "--stage both only: Stage-II's own number of updates (default: as Stage-I's)."
    )
    stage2_train_batch_size: int | None = at_least(
        1, None, "--stage both only: Stage-II's own batch size (default: as Stage-I's)."
    )
    stage2_discriminator_channels: int | None = at_least(
        1, None, "--stage both only: Stage-II's own discriminator width (default: as Stage-I's)."
    )

    # Checkpoints, logs, samples
    checkpointing_steps: int = at_least(1, 500, "Save a checkpoint every this many updates (and at the end).")
    checkpoints_total_limit: int | None = at_least(
        1, 3, "Keep only the newest this many checkpoints; None: all."
    )
    resume_from_checkpoint: str | None = option(None, '"latest" or a checkpoint folder to resume from.')
    report_to: str = option(
        "tensorboard",
        "Where to log: any of accelerate's trackers (tensorboard, wandb, comet_ml, mlflow, ...), several "
        "comma-separated, all (every installed one), or none. The tracker's package must be installed.",
    )
    logging_steps: int = at_least(
        1, 10, "Log the losses and conditioning diagnostics every this many updates."
    )
    sample_steps: int = at_least(
        1, 500, "Save a grid of samples for the validation prompts every this many updates."
    )
    validation_prompts: list[str] = option(
        help="Captions of the sample grids, comma-separated; empty: 8 captions of the dataset.",
        default_factory=list,
    )

    # Hub
    push_to_hub: bool = option(
        False, "Upload the final pipeline and its model card to the Hub (needs hub_model_id)."
    )
    hub_model_id: str | None = option(None, "The Hub repo to push to, e.g. your-name/stackgan-birds.")
    hub_token: str | None = option(
        None,
        "Token to push with; by default the one of `hf auth login` or the HF_TOKEN variable, which are "
        "safer: a token on the command line shows in the process list and the shell's history. Never saved.",
        secret=True,
    )

    # Beyond StackGAN-v1: all off by default, named in the model card (docs/training.md)
    upsample_mode: Literal["nearest", "bilinear", "pixel_shuffle"] = option(
        "nearest",
        "The generator's up-blocks: nearest neighbor + conv (the paper), bilinear + conv, or pixel shuffle.",
    )
    discriminator_head: Literal["concat", "projection", "concat_projection"] = option(
        "concat",
        "The conditional head: concat (the paper), projection (Miyato and Koyama 2018), or concat_projection "
        "(the concat head + the projection term).",
    )
    mismatched_pairs: Literal["images", "captions"] = option(
        "images",
        "The matching-aware loss's mismatched pairs: images (StackGAN: another class's image with this "
        "caption) or captions (DF-GAN: this image with another class's caption from the batch).",
    )
    diffaugment: str = option(
        "", 'DiffAugment policy, e.g. "translation,cutout" ("color" changes colors); "" = off.'
    )
    use_ema: bool = option(
        False, "Save an exponential moving average of the generator's weights (decay 0.999) as the pipeline."
    )
    contrastive_coefficient: float = at_least(
        0,
        0.0,
        "Weight of XMC-GAN's image-caption contrastive loss in the projection head's space (D on real "
        "images, G on its fakes, the batch's other captions as negatives); needs a projection head. 0 = off.",
    )
    color_negatives: str = option(
        "",
        "Hard negative captions made from each caption's own color words: swap (two exchanged), copy (one "
        "part's color on another too), or swap,copy; used in the contrastive loss and as mismatched pairs. "
        'Needs the contrastive loss and a text encoder. "" = none.',
    )
    stage2_image_skip: bool = option(
        False, "Stage-II predicts a change to the upsampled Stage-I image (starts as Stage-I's picture)."
    )
    stage2_image_skip_mode: Literal["bilinear", "bicubic"] = option(
        "bilinear",
        "With stage2_image_skip: how the Stage-I image is upsampled (bicubic: the baseline to beat).",
    )
    color_consistency_coefficient: float = at_least(
        0, 0.0, "Stage-II: weight of StackGAN++'s color-consistency term to the Stage-I image. 0 = off."
    )
    low_res_consistency_coefficient: float = at_least(
        0,
        0.0,
        "Stage-II: weight of an L1 term between the pooled Stage-II image and its Stage-I image. 0 = off.",
    )

    def __post_init__(self):
        check_bounds(self)
        from ..utils.training_utils import report_to_trackers  # imports accelerate: not at module level

        report_to_trackers(self.report_to)  # an unknown or uninstalled tracker fails now
        _check_options(self)


STAGE2_OF_BOTH = ("stage2_max_train_steps", "stage2_train_batch_size", "stage2_discriminator_channels")


def _check_options(config: StackGANTrainingConfig) -> None:
    """Refuses combinations that cannot work, naming the options."""
    for name in ("generator_lr", "discriminator_lr"):
        if not float(getattr(config, name)) > 0:
            raise ConfigError(f"`{name}` must be a positive learning rate, got {getattr(config, name)}.")
    if not all(0.0 <= float(beta) < 1.0 for beta in config.adam_betas):
        raise ConfigError(f"`adam_betas` must both be in [0, 1), got {tuple(config.adam_betas)}.")
    if config.stage == "2" and not config.stage1_model:
        raise ConfigError("--stage 2 needs --stage1_model: a trained Stage-I pipeline folder or Hub id.")
    if config.push_to_hub and not config.hub_model_id:
        raise ConfigError("--push_to_hub needs --hub_model_id (e.g. your-name/stackgan-birds).")
    try:
        parse_policy(config.diffaugment)
    except ValueError as error:
        raise ConfigError(f"`diffaugment`: {error}") from None
    if float(config.contrastive_coefficient) > 0 and config.discriminator_head == "concat":
        raise ConfigError(
            "`contrastive_coefficient` needs a projection head: set discriminator_head to 'projection' or "
            "'concat_projection' (it is 'concat')."
        )
    try:
        kinds = parse_negative_kinds(config.color_negatives)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    if kinds and float(config.contrastive_coefficient) <= 0:
        raise ConfigError("`color_negatives` needs the contrastive loss (contrastive_coefficient > 0).")


STAGE2_ONLY = (
    "stage2_image_skip",
    "stage2_image_skip_mode",
    "color_consistency_coefficient",
    "low_res_consistency_coefficient",
)


def options_beyond_stackgan_v1(config: StackGANTrainingConfig, stage: int | None = None) -> list[str]:
    """One line per setting of ``config`` beyond StackGAN-v1 as the paper and the TF original train it (for
    the model card and the logs); empty for the paper configs. ``stage=1`` leaves out Stage-II's options."""
    settings = [(name, value) for name, value in _settings(config) if name in _BEYOND_V1]
    if stage == 1:
        settings = [(name, value) for name, value in settings if name not in STAGE2_ONLY]
    notes = [_BEYOND_V1[name](value) for name, value in settings]
    for network in ("generator", "discriminator"):
        lr = float(getattr(config, f"{network}_lr"))
        if lr != 2e-4:
            notes.append(f"{network} learning rate {lr:g} instead of the paper's 0.0002")
    return [note for note in notes if note]


def _settings(config: StackGANTrainingConfig):
    return [(f.name, getattr(config, f.name)) for f in dataclasses.fields(config)]


_BEYOND_V1 = {
    "kl_coefficient": lambda v: (
        f"KL weight {float(v):g} instead of the TF original's 2" if float(v) != 2 else ""
    ),
    "adam_betas": lambda v: (
        f"Adam betas {tuple(v)} instead of (0.5, 0.999)" if tuple(v) != (0.5, 0.999) else ""
    ),
    "upsample_mode": lambda v: f"{v} upsampling instead of nearest neighbor + conv" if v != "nearest" else "",
    "discriminator_head": lambda v: {
        "projection": "projection discriminator head (Miyato and Koyama, 2018)",
        "concat_projection": "discriminator head: the paper's concat head plus a projection term",
    }.get(v, ""),
    "mismatched_pairs": lambda v: (
        "mismatched pairs from captions (DF-GAN): each real image with another class's caption"
        if v == "captions"
        else ""
    ),
    "diffaugment": lambda v: f"DiffAugment ({v}) on every image the discriminator sees" if v else "",
    "use_ema": lambda v: (
        "exponential moving average of the generator (decay 0.999), BatchNorm statistics re-estimated"
        if v
        else ""
    ),
    "contrastive_coefficient": lambda v: (
        f"image-caption contrastive loss in the projection head's space (XMC-GAN), weight {float(v):g}"
        if float(v) > 0
        else ""
    ),
    "color_negatives": lambda v: (
        f"hard negative captions ({v}): the caption's own colors on the wrong parts, in the contrastive "
        "loss and as mismatched pairs"
        if v
        else ""
    ),
    "stage2_image_skip": lambda v: (
        "Stage-II predicts a change to the upsampled Stage-I image (image skip)" if v else ""
    ),
    "stage2_image_skip_mode": lambda v: (
        "the image skip upsamples Stage-I bicubically, not bilinearly" if v == "bicubic" else ""
    ),
    "color_consistency_coefficient": lambda v: (
        f"StackGAN++ color-consistency term in Stage-II, weight {float(v):g}" if float(v) > 0 else ""
    ),
    "low_res_consistency_coefficient": lambda v: (
        f"Stage-II low-resolution consistency (L1 to the Stage-I image), weight {float(v):g}"
        if float(v) > 0
        else ""
    ),
}


def load_config_split(config: StackGANTrainingConfig, split: str, crop_size: int):
    """``split`` of ``config.dataset`` as training reads it (column names, synthetic-birds size and seed),
    with synthetic images drawn at the training view's load size for ``crop_size``."""
    from ..data import load_stackgan_dataset

    return load_stackgan_dataset(
        config.dataset,
        split=split,
        image_column=config.image_column,
        caption_column=config.caption_column,
        synthetic_num_images=config.synthetic_num_images,
        synthetic_image_size=crop_size * 76 // 64,
        seed=config.seed,
    )
