"""The StackGAN training configuration: every value is a YAML key and a ``--flag`` of the same name."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..config import ConfigError, at_least, check_bounds
from .negatives import parse_negative_kinds


@dataclass
class StackGANTrainingConfig:
    # Where and what
    output_dir: str = "outputs/stackgan"
    stage: Literal["1", "2", "both"] = "both"
    stage1_model: str | None = None  # Stage-II: a Stage-I pipeline folder (or Hub id), loaded and frozen
    seed: int = 0

    # Data
    dataset: str = "synthetic-birds"  # a prepare_cub.py folder, a Hub dataset id, or synthetic-birds
    dataset_split: str = "train"
    image_column: str = "image"
    caption_column: str = "captions"
    class_column: str = "class_id"
    synthetic_num_images: int = 2048
    embedding_mode: Literal["one", "mean_of_4"] = "one"
    # Not StackGAN-v1: this share of the matching-aware loss's mismatched images comes from the 8 rows of
    # other classes whose captions are nearest in the text encoder's space (differing in one part, say)
    hard_mismatched_fraction: float = 0.0
    dataloader_num_workers: int = at_least(0, 0)

    # Text encoder: "bag-of-words" (offline, built from the training captions), "precomputed" (the
    # dataset's `embeddings` column, e.g. char-CNN-RNN), or a transformers model id / local path.
    text_encoder: str = "bag-of-words"
    text_embedding_dim: int = at_least(1, 256)  # width of the bag-of-words encoder
    bag_of_words_max_ngram: int = 2  # 3: also word triples ("crown is red")
    bag_of_words_hash_buckets: int = 2048
    # Every word pair (and triple) of the training captions its own row of the bag-of-words table, rather
    # than a hashed row that two pairs may share ("red winged" and "red crowned" do at 2,048 buckets)
    bag_of_words_ngram_vocabulary: bool = False
    text_pooling: Literal["auto", "pooled", "mean"] = "auto"

    # Networks (the official birds values by default)
    noise_dim: int = at_least(1, 100)
    condition_dim: int = at_least(1, 128)
    generator_channels: int = at_least(1, 128)
    discriminator_channels: int = at_least(1, 64)
    num_residual_blocks: int = at_least(0, 4)
    upsample_mode: Literal["nearest", "bilinear", "pixel_shuffle"] = "nearest"
    use_unconditional_logits: bool = False

    # Text conditioning (the defaults are the paper's and the TF original's)
    # The CA's activation: LeakyReLU(0.2) as TF StackGAN; "relu" as StackGAN-Pytorch (kept for parity).
    ca_activation: Literal["leaky_relu", "relu"] = "leaky_relu"
    # What the discriminator is conditioned on: "text", its own FC + LeakyReLU compression of the raw text
    # embedding (paper section 3.2, TF `context_embedding`); "generator_mu", the generator's CA mean
    # (StackGAN-Pytorch, kept for parity).
    discriminator_condition: Literal["text", "generator_mu"] = "text"

    # Options beyond StackGAN-v1, all off by default (see README "Conditioning options")
    # "affine": the CA code also modulates every Stage-I up-block's BatchNorm (conditional BN / DF-GAN)
    generator_text_fusion: Literal["input", "affine"] = "input"
    # projection: Miyato and Koyama 2018; concat_projection: the paper's concat head + the projection term
    discriminator_head: Literal["concat", "projection", "concat_projection"] = "concat"
    discriminator_norm: Literal["batch", "spectral", "none"] = "batch"
    discriminator_minibatch_std: bool = False  # the batch's spread as a D feature (Karras et al. 2018)
    adversarial_loss: Literal["bce", "hinge"] = "bce"  # hinge: DF-GAN
    ma_gp_weight: float = 0.0  # DF-GAN's matching-aware gradient penalty (DF-GAN: 2.0)
    ma_gp_power: float = 6.0
    diffaugment: str = ""  # DiffAugment policy, e.g. "translation,cutout" ("color" changes colours)
    # XMC-GAN's image-caption contrastive loss in the projection head's space (D on real images, G on its
    # fakes; every other caption of the batch a negative, under DDP of each process's own batch), this
    # weight; needs a projection head. 0 = off.
    contrastive_coefficient: float = at_least(0, 0.0)
    # NegCLIP-style hard negatives in that loss, made from each caption's own colour words
    # (training/negatives.py): "swap" (two exchanged: the same colours on other parts), "copy" (one part's
    # colour put on another too), or "swap,copy"; "" = none. Needs the contrastive loss, the discriminator's
    # own text projection and a text encoder (not precomputed embeddings). With embedding_mode "mean_of_4" the
    # negatives perturb the one caption the view picked, not the mean of four.
    colour_negatives: str = ""
    # Those hard negative captions also as mismatched pairs (real image, hard caption -> "fake") in the
    # matching-aware loss, beside the usual mismatched image; its mismatched term averages over both.
    colour_negatives_mismatched: bool = False
    # The matching-aware loss's mismatched pairs: "images" (StackGAN: an image of another class with this
    # caption, one more discriminator pass) or "captions" (DF-GAN: this real image with another row's caption,
    # the next row of another class in the batch, scored from the real image's features: no extra pass and
    # no second image loaded).
    mismatched_pairs: Literal["images", "captions"] = "images"
    # Stage-II predicts a change to the upsampled Stage-I image (starts as Stage-I's picture)
    stage2_image_skip: bool = False
    # Stage-II: weight of an L1 term between the Stage-II image average-pooled to 64x64 and its Stage-I image
    stage2_low_res_consistency: float = 0.0

    # Optimisation (StackGAN: Adam 2e-4, betas (0.5, 0.999), halved every lr_decay_epochs, KL weight 2)
    train_batch_size: int = at_least(1, 64)
    num_train_epochs: int = at_least(1, 600)
    max_train_steps: int | None = at_least(1, None)  # overrides num_train_epochs when set
    # `--stage both`: Stage-II's own budget, batch size and discriminator width (default: as Stage-I's)
    stage2_max_train_steps: int | None = at_least(1, None)
    stage2_train_batch_size: int | None = at_least(1, None)
    stage2_discriminator_channels: int | None = at_least(1, None)
    generator_lr: float = 2e-4
    discriminator_lr: float = 2e-4
    adam_betas: tuple[float, float] = (0.5, 0.999)
    lr_decay_epochs: int = at_least(1, 100)
    kl_coefficient: float = 2.0
    # Stage-II only: weight of StackGAN++'s colour-consistency term between each Stage-II image and the
    # Stage-I image it refines (0 = StackGAN-v1; StackGAN++ used 50 for its unconditional models).
    color_consistency_coefficient: float = 0.0
    # Not StackGAN-v1: weight of a text-image matching term in the generator's loss (AttnGAN's DAMSM idea,
    # sentence level; training/matching.py), scored by the frozen image encoder trained with the text
    # encoder; needs --text_encoder to be a scripts/train_text_encoder.py folder. 0 = off.
    text_image_matching_coefficient: float = 0.0
    use_ema: bool = False
    ema_decay: float = 0.999
    # "auto": bf16 on a GPU that supports it (or what `accelerate config` chose), fp32 otherwise
    mixed_precision: Literal["auto", "no", "fp16", "bf16"] = "auto"

    # Speed (the fast path; see benchmarks/): channels-last activations, fused Adam on CUDA, torch.compile
    channels_last: bool = True
    preresize_images: bool = True  # store the images at the load size once, instead of resizing per step
    torch_compile: bool = False
    # CPU runs: intra-op threads per process. None: the machine's cores shared by the local processes
    # (`accelerate launch` pins each CPU process to 1 thread unless told otherwise).
    cpu_threads: int | None = at_least(1, None)

    # Checkpoints, logs, samples
    checkpointing_steps: int = at_least(1, 500)
    checkpoints_total_limit: int | None = 3
    resume_from_checkpoint: str | None = None  # "latest" or a checkpoint folder
    logging_dir: str = "logs"
    report_to: Literal["tensorboard", "none"] = "tensorboard"
    logging_steps: int = at_least(1, 10)
    sample_steps: int = at_least(1, 500)
    # Conditioning diagnostics (dead CA units, mu's norm, the discriminator's accuracy on real/matching and
    # real/mismatched pairs of a fixed held-out batch), every logging_steps, in the logs and the history.
    diagnostics_split: str | None = "test"  # None or a missing split: no held-out diagnostics
    diagnostics_batch_size: int = 64
    validation_prompts: list[str] = field(default_factory=list)  # empty: 8 captions of the dataset

    # Hub
    push_to_hub: bool = False
    hub_model_id: str | None = None
    hub_private: bool = False

    def __post_init__(self):
        check_bounds(self)
        if float(self.contrastive_coefficient) > 0 and self.discriminator_head == "concat":
            raise ConfigError(
                "contrastive_coefficient needs a projection head: set discriminator_head to 'projection' or "
                "'concat_projection' (it is 'concat')."
            )
        try:
            kinds = parse_negative_kinds(self.colour_negatives)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        if kinds and (float(self.contrastive_coefficient) <= 0 or self.discriminator_condition != "text"):
            raise ConfigError(
                "colour_negatives needs the contrastive loss (contrastive_coefficient > 0) and "
                "discriminator_condition 'text'."
            )
        if self.colour_negatives_mismatched and not kinds:
            raise ConfigError("colour_negatives_mismatched needs colour_negatives (e.g. 'swap,copy').")
        if not 0.0 <= float(self.hard_mismatched_fraction) <= 1.0:
            raise ConfigError(
                f"hard_mismatched_fraction: expected a share in [0, 1], got {self.hard_mismatched_fraction}."
            )
        if self.mismatched_pairs == "captions" and float(self.hard_mismatched_fraction) > 0:
            raise ConfigError(
                "hard_mismatched_fraction chooses mismatched images: it needs mismatched_pairs 'images' "
                "(it is 'captions')."
            )


def options_beyond_stackgan_v1(config: StackGANTrainingConfig) -> list[str]:
    """One line per setting of ``config`` that is not StackGAN-v1 as the paper and the TF original train it
    (for the model card and the logs); empty for the paper configs."""
    notes = []
    if config.ca_activation == "relu":
        notes.append("conditioning augmentation with ReLU (StackGAN-Pytorch's) instead of LeakyReLU(0.2)")
    if config.discriminator_condition == "generator_mu":
        notes.append("discriminator conditioned on the generator's CA mean (StackGAN-Pytorch's)")
    if config.generator_text_fusion == "affine":
        notes.append("the CA code modulates every Stage-I up-block (conditional BatchNorm, DF-GAN-style)")
    if config.discriminator_head == "projection":
        notes.append("projection discriminator head (Miyato and Koyama, 2018)")
    if config.discriminator_head == "concat_projection":
        notes.append("discriminator head: the paper's concat head plus a projection term (Miyato and Koyama)")
    if config.discriminator_norm != "batch":
        notes.append(f"discriminator normalisation: {config.discriminator_norm} instead of BatchNorm")
    if config.discriminator_minibatch_std:
        notes.append("minibatch standard deviation as a discriminator feature (Karras et al., 2018)")
    if config.adversarial_loss == "hinge":
        notes.append("hinge adversarial loss (DF-GAN) instead of binary cross-entropy")
    if config.ma_gp_weight > 0:
        notes.append(
            f"matching-aware gradient penalty (DF-GAN), weight {config.ma_gp_weight:g}, "
            f"power {config.ma_gp_power:g}"
        )
    if config.diffaugment:
        notes.append(f"DiffAugment ({config.diffaugment}) on every image the discriminator sees")
    if float(config.contrastive_coefficient) > 0:
        notes.append(
            "image-caption contrastive loss in the projection head's space (XMC-GAN), weight "
            f"{float(config.contrastive_coefficient):g}"
        )
    if config.colour_negatives:
        also = (
            ", also as mismatched pairs in the matching-aware loss"
            if config.colour_negatives_mismatched
            else ""
        )
        notes.append(
            f"hard negative captions in the contrastive loss (NegCLIP-style, {config.colour_negatives}): the "
            f"caption's own colours on the wrong parts{also}"
        )
    if config.mismatched_pairs == "captions":
        notes.append(
            "mismatched pairs from captions (DF-GAN): each real image with another class's caption from the "
            "batch, instead of another class's image with this caption"
        )
    if config.text_encoder == "bag-of-words" and config.bag_of_words_ngram_vocabulary:
        notes.append(
            "bag-of-words text encoder with a table row for every word pair of the training captions"
        )
    if float(config.kl_coefficient) != 2.0:
        notes.append(f"KL weight {float(config.kl_coefficient):g} instead of the TF original's 2")
    for network in ("generator", "discriminator"):
        lr = float(getattr(config, f"{network}_lr"))
        if lr != 2e-4:
            notes.append(f"{network} learning rate {lr:g} instead of the paper's 0.0002")
    if tuple(config.adam_betas) != (0.5, 0.999):
        notes.append(f"Adam betas {tuple(config.adam_betas)} instead of (0.5, 0.999)")
    if config.use_unconditional_logits:
        notes.append("an unconditional discriminator head (StackGAN-v2)")
    if config.upsample_mode != "nearest":
        notes.append(f"{config.upsample_mode} upsampling instead of nearest neighbour + conv")
    if config.text_image_matching_coefficient > 0:
        notes.append(
            "text-image matching term in the generator's loss (AttnGAN's DAMSM, sentence level, scored "
            "by the text encoder's jointly trained image encoder), "
            f"weight {config.text_image_matching_coefficient:g}"
        )
    if config.hard_mismatched_fraction > 0:
        notes.append(
            f"hard mismatched pairs: {config.hard_mismatched_fraction:g} of the mismatched images from the "
            "rows of other classes with the nearest captions"
        )
    if config.use_ema:
        notes.append(
            f"exponential moving average of the generator (decay {config.ema_decay:g}), with BatchNorm "
            "statistics re-estimated for the averaged weights"
        )
    if config.stage2_image_skip:
        notes.append("Stage-II predicts a change to the upsampled Stage-I image (image skip)")
    if config.stage2_low_res_consistency > 0:
        notes.append(
            "Stage-II low-resolution consistency (L1 to the Stage-I image), "
            f"weight {config.stage2_low_res_consistency:g}"
        )
    if config.color_consistency_coefficient > 0:
        notes.append(
            f"StackGAN++ colour-consistency term in Stage-II, weight {config.color_consistency_coefficient:g}"
        )
    return notes


def load_config_split(config: StackGANTrainingConfig, split: str, crop_size: int):
    """``split`` of ``config.dataset`` as training reads it (column names, synthetic-birds size and seed),
    with synthetic images drawn at the training view's load size for ``crop_size``."""
    from ..data import load_stackgan_dataset

    return load_stackgan_dataset(
        config.dataset,
        split=split,
        image_column=config.image_column,
        caption_column=config.caption_column,
        class_column=config.class_column,
        synthetic_num_images=config.synthetic_num_images,
        synthetic_image_size=crop_size * 76 // 64,
        seed=config.seed,
    )
