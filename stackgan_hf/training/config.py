"""The StackGAN training configuration: every value is a YAML key and a ``--flag`` of the same name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..config import ConfigError, at_least, check_bounds, option
from .negatives import parse_negative_kinds


@dataclass
class StackGANTrainingConfig:
    """Every field is a YAML key and a ``--flag`` of ``scripts/train_stackgan.py``; its ``help`` is the
    flag's description in ``--help``."""

    # Where and what
    output_dir: str = option(
        "outputs/stackgan",
        "Where the pipeline, model card, checkpoints, samples and logs go (--stage both: Stage-I in its "
        "stage1/ subfolder).",
    )
    stage: Literal["1", "2", "both"] = option(
        "both", "The stage(s) to train: 1, 2 (over --stage1_model), or both (Stage-I, then Stage-II over it)."
    )
    stage1_model: str | None = option(
        None, "Stage-II: a Stage-I pipeline folder (or Hub id), loaded and frozen."
    )
    seed: int = option(0, "Seed of the weights, the data order, the noise and the augmentations.")

    # Data
    dataset: str = option(
        "synthetic-birds",
        "A prepare_cub.py folder, a Hub dataset id, or synthetic-birds (generated offline).",
    )
    dataset_split: str = option("train", "The split to train on.")
    image_column: str = option("image", "The dataset's image column.")
    caption_column: str = option("captions", "The dataset's column of caption lists.")
    class_column: str = option("class_id", "The dataset's class-label column.")
    synthetic_num_images: int = option(2048, "synthetic-birds: the number of images to draw.")
    embedding_mode: Literal["one", "mean_of_4"] = option(
        "one",
        "Precomputed embeddings: the embedding of the one chosen caption, or the mean of 4 random ones "
        "(StackGAN-TF).",
    )
    hard_mismatched_fraction: float = option(
        0.0,
        "Not StackGAN-v1: this share of the matching-aware loss's mismatched images comes from the 8 rows of "
        "other classes whose captions are nearest in the text encoder's space (differing in one part, say).",
    )
    dataloader_num_workers: int = at_least(0, 0, "DataLoader worker processes (0: load in the main process).")

    # Text encoder
    text_encoder: str = option(
        "bag-of-words",
        "bag-of-words (offline, built from the training captions), precomputed (the dataset's `embeddings` "
        "column, e.g. char-CNN-RNN), or a transformers model id / local path (e.g. a "
        "scripts/train_text_encoder.py folder).",
    )
    text_embedding_dim: int = at_least(1, 256, "Width of the bag-of-words encoder.")
    bag_of_words_max_ngram: int = option(
        2,
        "Longest run of words the bag-of-words encoder embeds (3: also word triples such as 'crown is red').",
    )
    bag_of_words_hash_buckets: int = option(
        2048, "Shared (hashed) rows of the bag-of-words table for unseen words and word pairs."
    )
    bag_of_words_ngram_vocabulary: bool = option(
        False,
        "Every word pair (and triple) of the training captions its own row of the bag-of-words table, rather "
        "than a hashed row that two pairs may share ('red winged' and 'red crowned' do at 2,048 buckets).",
    )
    text_pooling: Literal["auto", "pooled", "mean"] = option(
        "auto",
        "A transformers encoder's caption vector: its pooled output, the mean of its token states, or auto "
        "(pooled for CLIP, mean otherwise).",
    )

    # Networks (the official birds values by default)
    noise_dim: int = at_least(1, 100, "Width of the generator's noise z.")
    condition_dim: int = at_least(1, 128, "Width of the conditioning-augmentation code.")
    generator_channels: int = at_least(1, 128, "Generator width (Ng).")
    discriminator_channels: int = at_least(1, 64, "Discriminator width (Nd).")
    num_residual_blocks: int = at_least(0, 4, "Residual blocks of the Stage-II generator.")
    upsample_mode: Literal["nearest", "bilinear", "pixel_shuffle"] = option(
        "nearest",
        "The generator's up-blocks: nearest neighbor + conv (the paper), bilinear + conv, or pixel shuffle.",
    )
    use_unconditional_logits: bool = option(
        False, "Also an unconditional discriminator head that scores realism alone (StackGAN-v2)."
    )

    # Text conditioning (the defaults are the paper's and the TF original's)
    ca_activation: Literal["leaky_relu", "relu"] = option(
        "leaky_relu",
        "The conditioning augmentation's activation: LeakyReLU(0.2) as TF StackGAN, or ReLU as "
        "StackGAN-Pytorch (kept for parity).",
    )
    discriminator_condition: Literal["text", "generator_mu"] = option(
        "text",
        "What the discriminator is conditioned on: text, its own FC + LeakyReLU compression of the raw text "
        "embedding (paper section 3.2, TF `context_embedding`), or generator_mu, the generator's CA mean "
        "(StackGAN-Pytorch, kept for parity).",
    )

    # Options beyond StackGAN-v1, all off by default (docs/training.md, docs/results/text_conditioning.md)
    generator_text_fusion: Literal["input", "affine"] = option(
        "input",
        "affine: the CA code also modulates every Stage-I up-block's BatchNorm (conditional BN, DF-GAN); "
        "input: the paper's (the code is only concatenated with the noise).",
    )
    discriminator_head: Literal["concat", "projection", "concat_projection"] = option(
        "concat",
        "The conditional head: concat (the paper), projection (Miyato and Koyama 2018), or concat_projection "
        "(the paper's concat head + the projection term).",
    )
    discriminator_norm: Literal["batch", "spectral", "none"] = option(
        "batch", "The discriminator's normalization: BatchNorm (the paper), spectral normalization, or none."
    )
    discriminator_minibatch_std: bool = option(
        False, "The batch's spread as a discriminator feature (Karras et al. 2018)."
    )
    adversarial_loss: Literal["bce", "hinge"] = option(
        "bce", "The adversarial loss: binary cross-entropy (StackGAN) or hinge (DF-GAN)."
    )
    ma_gp_weight: float = option(
        0.0, "Weight of DF-GAN's matching-aware gradient penalty (DF-GAN: 2.0); 0 = off."
    )
    ma_gp_power: float = option(6.0, "Power of the matching-aware gradient penalty (DF-GAN: 6).")
    diffaugment: str = option(
        "", 'DiffAugment policy, e.g. "translation,cutout" ("color" changes colors); "" = off.'
    )
    contrastive_coefficient: float = at_least(
        0,
        0.0,
        "Weight of XMC-GAN's image-caption contrastive loss in the projection head's space (D on real "
        "images, G on its fakes; every other caption of the batch a negative, under DDP of each process's "
        "own batch); needs a projection head. 0 = off.",
    )
    colour_negatives: str = option(
        "",
        "NegCLIP-style hard negatives in the contrastive loss, made from each caption's own color words "
        '(training/negatives.py): "swap" (two exchanged: the same colors on other parts), "copy" (one '
        'part\'s color put on another too), or "swap,copy"; "" = none. Needs the contrastive loss, the '
        "discriminator's own text projection and a text encoder (not precomputed embeddings). With "
        "embedding_mode mean_of_4 the negatives perturb the one caption the view picked.",
    )
    colour_negatives_mismatched: bool = option(
        False,
        "Those hard negative captions also as mismatched pairs (real image, hard caption -> fake) in the "
        "matching-aware loss, beside the usual mismatched image; its mismatched term averages over both.",
    )
    mismatched_pairs: Literal["images", "captions"] = option(
        "images",
        "The matching-aware loss's mismatched pairs: images (StackGAN: an image of another class with this "
        "caption, one more discriminator pass) or captions (DF-GAN: this real image with the caption of the "
        "batch's next row of another class, scored from the real image's features: no extra pass).",
    )
    stage2_image_skip: bool = option(
        False, "Stage-II predicts a change to the upsampled Stage-I image (starts as Stage-I's picture)."
    )
    stage2_low_res_consistency: float = option(
        0.0,
        "Stage-II: weight of an L1 term between the Stage-II image average-pooled to 64x64 and its Stage-I "
        "image; 0 = off.",
    )

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
        "Micro-batches of train_batch_size per update, for a batch that does not fit in memory: the "
        "discriminator sums its gradients over them and steps, then the generator (against the updated "
        "discriminator), each micro-batch's fakes made again from the same noise (one more generator "
        "forward per micro-batch). An update then equals one batch of train_batch_size x this, up to "
        "float rounding, only where rows do not interact: BatchNorm normalizes each micro-batch with its "
        "own statistics (and updates its running statistics once per micro-batch), and the contrastive and "
        "text-image matching losses, mismatched_pairs captions and minibatch std see one micro-batch at a "
        "time. 1: no accumulation.",
    )
    num_train_epochs: int = at_least(1, 600, "Epochs to train (max_train_steps overrides it).")
    max_train_steps: int | None = at_least(1, None, "Updates to train; overrides num_train_epochs when set.")
    stage2_max_train_steps: int | None = at_least(
        1, None, "--stage both: Stage-II's own number of updates (default: as Stage-I's)."
    )
    stage2_train_batch_size: int | None = at_least(
        1, None, "--stage both: Stage-II's own batch size (default: as Stage-I's)."
    )
    stage2_discriminator_channels: int | None = at_least(
        1, None, "--stage both: Stage-II's own discriminator width (default: as Stage-I's)."
    )
    generator_lr: float = option(2e-4, "The generator's Adam learning rate.")
    discriminator_lr: float = option(2e-4, "The discriminator's Adam learning rate.")
    adam_betas: tuple[float, float] = option((0.5, 0.999), "Adam's betas, e.g. 0.5,0.999.")
    lr_decay_epochs: int = at_least(1, 100, "Both learning rates halve every this many epochs.")
    kl_coefficient: float = option(
        2.0, "Weight of the conditioning augmentation's KL term in the generator's loss."
    )
    color_consistency_coefficient: float = option(
        0.0,
        "Stage-II: weight of StackGAN++'s color-consistency term between each Stage-II image and the Stage-I "
        "image it refines (0 = StackGAN-v1; StackGAN++ used 50 for its unconditional models).",
    )
    text_image_matching_coefficient: float = option(
        0.0,
        "Not StackGAN-v1: weight of a text-image matching term in the generator's loss (AttnGAN's DAMSM "
        "idea, sentence level; training/matching.py), scored by the frozen image encoder trained with the "
        "text encoder; needs --text_encoder to be a scripts/train_text_encoder.py folder. 0 = off.",
    )
    use_ema: bool = option(
        False, "Keep an exponential moving average of the generator's weights and save it as the pipeline."
    )
    ema_decay: float = option(0.999, "Decay of the moving average.")
    mixed_precision: Literal["auto", "no", "fp16", "bf16"] = option(
        "auto", "auto: bf16 on a GPU that supports it (or what `accelerate config` chose), fp32 otherwise."
    )

    # Speed (the fast path; see benchmarks/)
    channels_last: bool = option(
        True, "Channels-last activations (oneDNN/cuDNN convolutions run faster on them)."
    )
    preresize_images: bool = option(
        True, "Store the images at the load size once, instead of resizing them every step."
    )
    torch_compile: bool = option(False, "torch.compile the generator and the discriminator.")
    cpu_threads: int | None = at_least(
        1,
        None,
        "CPU runs: intra-op threads per process. None: the machine's cores shared by the local processes "
        "(`accelerate launch` pins each CPU process to 1 thread unless told otherwise).",
    )

    # Checkpoints, logs, samples
    checkpointing_steps: int = at_least(1, 500, "Save a checkpoint every this many updates (and at the end).")
    checkpoints_total_limit: int | None = option(3, "Keep only the newest this many checkpoints; None: all.")
    resume_from_checkpoint: str | None = option(None, '"latest" or a checkpoint folder to resume from.')
    logging_dir: str = option("logs", "The trackers' folder, relative to output_dir.")
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
    diagnostics_split: str | None = option(
        "test",
        "Split of a fixed held-out batch for the conditioning diagnostics (dead CA units, mu's norm, the "
        "discriminator's accuracy on real/matching and real/mismatched pairs), every logging_steps. None or "
        "a missing split: no held-out diagnostics.",
    )
    diagnostics_batch_size: int = option(64, "Rows of that held-out batch.")
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
    hub_private: bool = option(False, "Create the Hub repo private.")

    def __post_init__(self):
        check_bounds(self)
        from .utils import report_to_trackers  # imports accelerate: not at module level

        report_to_trackers(self.report_to)  # an unknown or uninstalled tracker fails now
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
