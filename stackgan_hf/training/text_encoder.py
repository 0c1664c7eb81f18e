"""Training a char-CNN-RNN text encoder on captioned images (Reed et al. 2016), and measuring it.

The text encoder learns jointly with an image encoder trained from scratch (no pretrained image weights are
needed), so that a caption lands near the images it describes:

* ``loss="ds-sje"``: Reed's deep symmetric structured joint embedding. The compatibility of an image and a
  text is the inner product of their embeddings; a class's text (image) prototype is the mean of the batch's
  text (image) embeddings of that class. Each image must score its own class's text prototype above every
  other class's by a margin of 1, and each text its own class's image prototype: a class-level hinge, made
  symmetric (averaged over the violating classes). It needs class labels (``class_id``).
* ``loss="infonce"``: CLIP's instance-level contrastive loss (symmetric cross-entropy over the batch's
  image-text similarities with a learned temperature); it needs no labels.

Evaluation (:func:`evaluate_text_encoder`): caption-to-image retrieval R@1 among ``num_candidates`` images
(the true image against 99 others) and Reed's zero-shot accuracy: each test image goes to the test class
whose mean caption embedding scores highest (the test classes of CUB's StackGAN split are unseen in
training).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from accelerate.logging import get_logger
from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration, set_seed
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn
from tqdm.auto import tqdm

from ..text.char_cnn_rnn import CharCNNRNNEncoder, char_ids, char_tokenizer
from ..utils import training_utils as train_utils
from ..utils.config import ConfigError, at_least, check_bounds, config_to_dict, option

logger = get_logger(__name__, log_level="INFO")

__all__ = [
    "ImageEncoder",
    "PretrainedImageEncoder",
    "TextEncoderTrainingConfig",
    "ds_sje_loss",
    "evaluate_text_encoder",
    "info_nce_loss",
    "load_image_encoder",
    "load_joint_encoders",
    "r_precision",
    "train_text_encoder",
]


@dataclass
class TextEncoderTrainingConfig:
    """Every field is a flag of ``scripts/train_text_encoder.py``; its ``help`` is the flag's description in
    ``--help``."""

    output_dir: str = option(
        "outputs/char_cnn_rnn", "Where the encoders, metrics.json, the model card and checkpoints go."
    )
    seed: int = option(0, "Seed of the weights, the data order and the crops.")
    # Data
    dataset: str = option(
        "synthetic-birds", "synthetic-birds, a prepare_cub.py folder, or any `datasets` image + caption set."
    )
    train_split: str = option("train", "The split to train on.")
    eval_split: str | None = option(
        "test", "The split of the retrieval and zero-shot measures in metrics.json; None: no evaluation."
    )
    image_column: str = option("image", "The dataset's image column.")
    caption_column: str = option("captions", "The dataset's column of caption lists.")
    class_column: str = option("class_id", "The dataset's class-label column.")
    synthetic_num_images: int = at_least(1, 2048, "synthetic-birds: the number of images to draw.")
    image_size: int = at_least(
        16, 64, "The image encoder's input (random crops of images resized to image_size * 76 / 64)."
    )
    # Encoders
    loss: Literal["ds-sje", "infonce"] = option(
        "ds-sje",
        "ds-sje: Reed's class-level deep symmetric structured joint embedding (needs class labels); "
        "infonce: CLIP's instance-level contrastive loss.",
    )
    embedding_dim: int = at_least(1, 1024, "Width of the joint text and image embedding.")
    max_length: int = at_least(16, 201, "Characters read per caption (Reed: 201); longer ones are cut.")
    char_embedding_dim: int = at_least(1, 64, "Width of the learned character embedding.")
    conv_channels: tuple[int, int, int] = option(
        (384, 512, 256), "Output channels of the three temporal convolutions, comma-separated."
    )
    rnn_hidden_dim: int = at_least(1, 256, "Hidden width of the recurrent layer over the convolutions.")
    image_channels: int = at_least(1, 32, "Width of the first of the image encoder's four conv blocks.")
    image_model: str | None = option(
        None,
        "Instead of that encoder: any local transformers vision model (folder or Hub id), frozen unless "
        "train_image_model.",
    )
    train_image_model: bool = option(
        False, "Fine-tune the image model's backbone too (else only its projection)."
    )
    # Optimization (Reed: RMSprop 4e-4, batch 40; Adam here)
    train_batch_size: int = at_least(2, 40, "Captioned images per batch and process.")
    max_train_steps: int = at_least(1, 3000, "Optimizer steps to train.")
    learning_rate: float = option(4e-4, "AdamW's learning rate.")
    weight_decay: float = option(0.0, "AdamW's weight decay.")
    # Checkpoints and logs
    checkpointing_steps: int = at_least(1, 500, "Save a checkpoint every this many steps (and at the end).")
    checkpoints_total_limit: int | None = at_least(
        1, 2, "Keep only the newest this many checkpoints; None: all."
    )
    resume_from_checkpoint: str | None = option(None, '"latest" or a checkpoint folder to resume from.')
    logging_steps: int = at_least(1, 25, "Log the loss every this many steps.")
    report_to: str = option(
        "tensorboard",
        "Where to log: any of accelerate's trackers (tensorboard, wandb, comet_ml, mlflow, ...), several "
        "comma-separated, all (every installed one), or none. The tracker's package must be installed.",
    )
    logging_dir: str = option("logs", "The trackers' folder, relative to output_dir.")
    mixed_precision: Literal["auto", "no", "fp16", "bf16"] = option(
        "no", "auto: bf16 on a GPU that supports it (or what `accelerate config` chose); no: fp32."
    )
    cpu_threads: int | None = at_least(
        1,
        None,
        "CPU runs: intra-op threads per process. None: the machine's cores shared by the local processes.",
    )
    num_eval_candidates: int = at_least(
        2, 100, "Retrieval R@1: the true image among this many candidates (99 others)."
    )

    def __post_init__(self):
        check_bounds(self)
        train_utils.report_to_trackers(self.report_to)  # an unknown or uninstalled tracker fails now


class ImageEncoder(ModelMixin, ConfigMixin):
    """A small image encoder trained from scratch with the text encoder: four stride-2 conv blocks
    (conv 4x4, BatchNorm, LeakyReLU 0.2), global average pooling and a linear layer to ``embedding_dim``."""

    @register_to_config
    def __init__(self, embedding_dim: int = 1024, base_channels: int = 32):
        super().__init__()
        widths = [3, base_channels, base_channels * 2, base_channels * 4, base_channels * 8]
        layers: list[nn.Module] = []
        for i in range(4):
            layers += [
                nn.Conv2d(widths[i], widths[i + 1], 4, 2, 1, bias=False),
                nn.BatchNorm2d(widths[i + 1]),
            ]
            layers.append(nn.LeakyReLU(0.2))
        self.features = nn.Sequential(*layers)
        self.projection = nn.Linear(widths[-1], embedding_dim)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.projection(self.features(pixel_values).mean(dim=(2, 3)))


class PretrainedImageEncoder(ModelMixin, ConfigMixin):
    """Any local transformers vision model (a folder or Hub id: a CLIP vision tower, ViT, ResNet, DINOv2,
    ...) as the image side of the joint embedding: its pooled output (or its mean hidden state) through a
    linear layer to ``embedding_dim``. By default the backbone is frozen (BatchNorm statistics included) and
    only the projection learns, which is what a pretrained backbone is for and what a CPU affords.

    Images arrive in ``[-1, 1]``; they are resized to the backbone's ``image_size`` (where its config has
    one) and normalized with its image processor's mean and std. The backbone's architecture is stored in
    this model's config, so a saved encoder loads without the original folder.
    """

    @register_to_config
    def __init__(
        self,
        backbone_config: dict,
        feature_dim: int,
        embedding_dim: int = 1024,
        freeze_backbone: bool = True,
        image_mean: tuple[float, float, float] = (0.5, 0.5, 0.5),
        image_std: tuple[float, float, float] = (0.5, 0.5, 0.5),
    ):
        super().__init__()
        from transformers import AutoConfig, AutoModel

        settings = dict(backbone_config)
        backbone = AutoConfig.for_model(settings.pop("model_type"), **settings)
        self.backbone = AutoModel.from_config(backbone)
        self.image_size = getattr(backbone, "image_size", None)
        self.register_buffer("mean", torch.tensor(image_mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(image_std).view(1, 3, 1, 1), persistent=False)
        self.projection = nn.Linear(feature_dim, embedding_dim)
        if freeze_backbone:
            self.backbone.requires_grad_(False)

    @classmethod
    def from_backbone(
        cls, path: str, embedding_dim: int = 1024, freeze_backbone: bool = True
    ) -> PretrainedImageEncoder:
        """A new encoder around the pretrained weights of ``path`` (a random projection)."""
        from transformers import AutoImageProcessor, AutoModel

        backbone = AutoModel.from_pretrained(path)
        mean, std = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
        try:
            processor = AutoImageProcessor.from_pretrained(path)
            mean, std = tuple(processor.image_mean), tuple(processor.image_std)
        except (OSError, ValueError, AttributeError, TypeError):
            logger.warning("%s has no image processor: images are fed in [-1, 1].", path)
        size = getattr(backbone.config, "image_size", 64)
        with torch.no_grad():
            feature_dim = _pooled(backbone.eval()(pixel_values=torch.zeros(1, 3, size, size))).shape[1]
        settings = json.loads(backbone.config.to_json_string())
        encoder = cls(settings, feature_dim, embedding_dim, freeze_backbone, mean, std)
        encoder.backbone.load_state_dict(backbone.state_dict())
        return encoder

    def train(self, mode: bool = True) -> PretrainedImageEncoder:
        super().train(mode)
        if self.config.freeze_backbone:
            self.backbone.eval()
        return self

    def _features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        images = (pixel_values + 1) / 2
        if self.image_size is not None and images.shape[-1] != self.image_size:
            images = F.interpolate(images, size=self.image_size, mode="bilinear", align_corners=False)
        return _pooled(self.backbone(pixel_values=(images - self.mean) / self.std))

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.projection(self._features(pixel_values))


def _pooled(outputs) -> torch.Tensor:
    """``[B, C]`` from a transformers vision model's outputs: its pooled output where it has one, else the
    mean of its last hidden state over tokens (transformers) or positions (convolutional backbones)."""
    pooled = getattr(outputs, "pooler_output", None)
    if pooled is not None:
        return pooled.flatten(1)
    hidden = outputs.last_hidden_state
    return hidden.mean(dim=1) if hidden.dim() == 3 else hidden.mean(dim=(2, 3))


def load_image_encoder(path: str | Path):
    """The image encoder a ``scripts/train_text_encoder.py`` run saved in ``path`` (either kind)."""
    config = json.loads((Path(path) / "config.json").read_text())
    cls = PretrainedImageEncoder if config.get("_class_name") == "PretrainedImageEncoder" else ImageEncoder
    return cls.from_pretrained(path)


def ds_sje_loss(image_embeds: torch.Tensor, text_embeds: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Reed's symmetric class-level hinge (see the module docstring): ``[B, D]`` image and text embeddings
    of ``B`` pairs with class ``labels [B]`` -> a scalar."""
    classes, index = torch.unique(labels, return_inverse=True)
    one_hot = F.one_hot(index, len(classes)).to(image_embeds.dtype)  # [B, C]
    counts = one_hot.sum(dim=0, keepdim=True).T  # [C, 1]
    text_prototypes = one_hot.T @ text_embeds / counts  # [C, D]
    image_prototypes = one_hot.T @ image_embeds / counts

    def hinge(queries: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
        scores = queries @ prototypes.T  # [B, C]
        own = scores.gather(1, index[:, None])
        margins = (1.0 - one_hot) * (1.0 + scores - own).clamp(min=0.0)
        return margins.sum(dim=1).div(max(len(classes) - 1, 1)).mean()

    return hinge(image_embeds, text_prototypes) + hinge(text_embeds, image_prototypes)


def info_nce_loss(
    image_embeds: torch.Tensor, text_embeds: torch.Tensor, logit_scale: torch.Tensor
) -> torch.Tensor:
    """CLIP's symmetric contrastive loss: pair ``i`` is the positive of row and column ``i``."""
    image_embeds = F.normalize(image_embeds, dim=-1)
    text_embeds = F.normalize(text_embeds, dim=-1)
    logits = logit_scale.exp().clamp(max=100.0) * image_embeds @ text_embeds.T
    targets = torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2


class _PairView(torch.utils.data.Dataset):
    """Rows -> (random crop + flip of the image, one random caption of its ten, class id); the randomness
    comes from (seed, epoch, index), so that a resumed run sees the same pairs."""

    def __init__(self, rows, image_size: int, seed: int):
        self.rows, self.image_size, self.seed, self.epoch = rows, image_size, seed, 0
        self.has_classes = "class_id" in rows.column_names

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict:
        from ..data.transforms import random_crop_flip

        rng = np.random.default_rng((self.seed, self.epoch, index))
        row = self.rows[int(index)]
        captions = row["captions"]
        return {
            "pixel_values": random_crop_flip(row["image"], self.image_size, rng),
            "caption": captions[int(rng.integers(len(captions)))],
            "class_id": int(row["class_id"]) if self.has_classes else int(index),
        }


def _collate(rows: list[dict]) -> dict:
    return {
        "pixel_values": torch.stack([row["pixel_values"] for row in rows]),
        "caption": [row["caption"] for row in rows],
        "class_id": torch.tensor([row["class_id"] for row in rows], dtype=torch.long),
    }


def _load_split(config: TextEncoderTrainingConfig, split: str):
    """``split`` as the StackGAN trainer reads it (this config has the same data fields), images pre-resized
    to the random-crop view's load size."""
    from ..data.transforms import preresize_images
    from .config import load_config_split

    return preresize_images(load_config_split(config, split, config.image_size), config.image_size)


@dataclass
class TextEncoderTrainingResult:
    output_dir: str
    global_step: int
    seconds: float
    metrics: dict = dataclasses.field(default_factory=dict)


def train_text_encoder(config: TextEncoderTrainingConfig) -> TextEncoderTrainingResult:
    """Trains the char-CNN-RNN and the image encoder.

    Args:
        config: the run's settings.

    Returns:
        The output folder, the final step, the training time and the retrieval metrics. The folder holds the
        text encoder and tokenizer at its top (loadable with ``load_text_encoder`` / ``--text_encoder``), the
        image encoder in ``image_encoder/``, ``metrics.json``, a model card and ``checkpoint-<step>`` folders.
    """
    accelerator = _accelerator(config)
    with accelerator.main_process_first():
        rows = _load_split(config, config.train_split)
    _check_rows(config, rows)
    view = _PairView(rows, config.image_size, config.seed)
    loader = torch.utils.data.DataLoader(
        view, batch_size=config.train_batch_size, shuffle=True, drop_last=True, collate_fn=_collate
    )
    tokenizer = char_tokenizer(config.max_length)
    text_encoder, image_encoder, logit_scale, optimizer = _encoders_and_optimizer(config, tokenizer)
    text_encoder, image_encoder, optimizer, loader = accelerator.prepare(
        text_encoder, image_encoder, optimizer, loader
    )
    train_utils.register_pretrained_checkpoint_hooks(
        accelerator, lambda model: "text_encoder" if isinstance(model, CharCNNRNNEncoder) else "image_encoder"
    )
    accelerator.register_for_checkpointing(_ScalarState(logit_scale))
    if accelerator.is_main_process and train_utils.report_to_trackers(config.report_to):
        accelerator.init_trackers(
            "char_cnn_rnn", config=train_utils.tensorboard_hparams(config_to_dict(config))
        )
    first_step = train_utils.restore_checkpoint(accelerator, config.output_dir, config.resume_from_checkpoint)
    start = time.perf_counter()
    networks = (text_encoder, image_encoder, logit_scale)
    step = _loop(config, accelerator, networks, optimizer, loader, view, tokenizer, first_step)
    seconds = time.perf_counter() - start
    text_encoder, image_encoder = (
        accelerator.unwrap_model(text_encoder),
        accelerator.unwrap_model(image_encoder),
    )
    metrics: dict = {}
    if config.eval_split:
        test = _load_split(config, config.eval_split)
        metrics = evaluate_text_encoder(
            text_encoder,
            tokenizer,
            image_encoder,
            test,
            config.num_eval_candidates,
            config.seed,
            config.image_size,
        )
    text_encoder.standardize_(_training_caption_ids(rows, tokenizer, config, text_encoder.device))
    if accelerator.is_main_process:
        _save(config, text_encoder, tokenizer, image_encoder, step, seconds, metrics)
    accelerator.end_training()
    return TextEncoderTrainingResult(config.output_dir, step, seconds, metrics)


def _accelerator(config: TextEncoderTrainingConfig) -> Accelerator:
    accelerator = Accelerator(
        mixed_precision=train_utils.resolve_mixed_precision(config.mixed_precision),
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=config.seed),
        log_with=train_utils.report_to_trackers(config.report_to),
        project_config=ProjectConfiguration(
            project_dir=config.output_dir, logging_dir=str(Path(config.output_dir) / config.logging_dir)
        ),
    )
    train_utils.set_cpu_threads(accelerator, config.cpu_threads)
    set_seed(config.seed)
    return accelerator


def _check_rows(config: TextEncoderTrainingConfig, rows) -> None:
    """Refuses a split smaller than a batch, and the class-level loss without class labels."""
    if len(rows) < config.train_batch_size:
        raise ConfigError(
            f"`train_batch_size` {config.train_batch_size} is larger than the {len(rows)} images of "
            f"{config.dataset}'s {config.train_split!r} split."
        )
    if config.loss == "ds-sje" and "class_id" not in rows.column_names:
        raise ConfigError(
            f"`loss ds-sje` needs class labels: {config.dataset} has no `{config.class_column}`."
        )


def _encoders_and_optimizer(config: TextEncoderTrainingConfig, tokenizer):
    """The char-CNN-RNN, the image encoder, the contrastive temperature and their AdamW optimizer."""
    text_encoder = CharCNNRNNEncoder(
        vocab_size=len(tokenizer),
        max_length=config.max_length,
        char_embedding_dim=config.char_embedding_dim,
        conv_channels=tuple(config.conv_channels),
        rnn_hidden_dim=config.rnn_hidden_dim,
        embedding_dim=config.embedding_dim,
        pad_token_id=tokenizer.pad_token_id,
    )
    if config.image_model:
        image_encoder = PretrainedImageEncoder.from_backbone(
            config.image_model, config.embedding_dim, freeze_backbone=not config.train_image_model
        )
    else:
        image_encoder = ImageEncoder(config.embedding_dim, config.image_channels)
    logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))  # CLIP's initial temperature
    parameters = [*text_encoder.parameters(), *(p for p in image_encoder.parameters() if p.requires_grad)]
    if config.loss == "infonce":
        parameters.append(logit_scale)
    optimizer = torch.optim.AdamW(
        parameters, lr=float(config.learning_rate), weight_decay=float(config.weight_decay)
    )
    return text_encoder, image_encoder, logit_scale, optimizer


def _training_caption_ids(rows, tokenizer, config, device, limit: int = 4096) -> torch.Tensor:
    """Ids of up to ``limit`` training captions (a seeded sample of all of them), for the standardization."""
    captions = [caption for captions in rows["captions"] for caption in captions]
    rng = np.random.default_rng(config.seed)
    chosen = rng.choice(len(captions), size=min(limit, len(captions)), replace=False)
    return char_ids(tokenizer, [captions[i] for i in sorted(chosen)], config.max_length, device)


class _ScalarState:
    """The InfoNCE temperature as an accelerate checkpointing object."""

    def __init__(self, parameter: nn.Parameter):
        self.parameter = parameter

    def state_dict(self) -> dict:
        return {"value": self.parameter.detach().clone()}

    def load_state_dict(self, state: dict) -> None:
        with torch.no_grad():
            self.parameter.copy_(state["value"])


def _loop(config, accelerator, models, optimizer, loader, view, tokenizer, first_step: int) -> int:
    text_encoder, image_encoder, logit_scale = models
    steps_per_epoch = len(loader)
    step = first_step
    progress = tqdm(
        total=config.max_train_steps,
        initial=step,
        desc="char-CNN-RNN",
        disable=not accelerator.is_local_main_process,
    )
    text_encoder.train()
    image_encoder.train()
    while step < config.max_train_steps:
        epoch, skip = divmod(step, steps_per_epoch)
        view.epoch = epoch
        batches = accelerator.skip_first_batches(loader, skip) if skip else loader
        batches.set_epoch(epoch)  # the order of this epoch; also right after a resume
        for batch in batches:
            ids = char_ids(tokenizer, batch["caption"], config.max_length, accelerator.device)
            text = text_encoder(ids, standardized=False)
            image = image_encoder(batch["pixel_values"])
            if config.loss == "ds-sje":
                loss = ds_sje_loss(image.float(), text.float(), batch["class_id"])
            else:
                loss = info_nce_loss(image.float(), text.float(), logit_scale)
            if not torch.isfinite(loss):
                from ..utils.training_utils import TrainingDivergedError

                raise TrainingDivergedError(f"The text-encoder loss is {loss.item()} at step {step + 1}.")
            optimizer.zero_grad(set_to_none=True)
            accelerator.backward(loss)
            optimizer.step()
            step += 1
            progress.update(1)
            if step % config.logging_steps == 0 or step == config.max_train_steps:
                values = {"loss": accelerator.reduce(loss.detach(), "mean").item()}
                progress.set_postfix(loss=f"{values['loss']:.3f}")
                accelerator.log(values, step=step)
            if step % config.checkpointing_steps == 0 and step < config.max_train_steps:
                train_utils.save_checkpoint(
                    accelerator, config.output_dir, step, config.checkpoints_total_limit
                )
            if step >= config.max_train_steps:
                break
    progress.close()
    return step


def _save(config, text_encoder, tokenizer, image_encoder, step: int, seconds: float, metrics: dict) -> None:
    from ..utils.hub import model_card_template, write_model_card

    output = Path(config.output_dir)
    train_utils.save_pretrained_atomically(text_encoder.save_pretrained, output, "config.json")
    tokenizer.save_pretrained(output)
    image_encoder.save_pretrained(output / "image_encoder")
    summary = {
        "steps": step,
        "seconds": round(seconds, 1),
        "metrics": metrics,
        "config": config_to_dict(config),
    }
    (output / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_model_card(
        output,
        model_card_template("char_cnn_rnn"),
        library_name="stackgan-hf",
        tags=["text-encoder", "char-cnn-rnn", "stackgan"],
        dataset=config.dataset,
        loss=config.loss,
        steps=step,
        minutes=f"{seconds / 60:.1f}",
        metrics=metrics,
        eval_split=config.eval_split,
        embedding_dim=config.embedding_dim,
        image_model=config.image_model,
    )


@torch.no_grad()
def _embed(text_encoder, tokenizer, image_encoder, rows, seed: int, image_size: int):
    from ..data.transforms import center_crops

    text_encoder.eval()
    image_encoder.eval()
    device = text_encoder.device
    rng = np.random.default_rng(seed)
    images, texts, labels = [], [], []
    for start in range(0, len(rows), 64):
        chunk = rows[start : start + 64]
        pixels = center_crops(chunk["image"], image_size)  # what the training view's random crops surround
        captions = [c[int(rng.integers(len(c)))] for c in chunk["captions"]]
        images.append(image_encoder(pixels.to(device)).float())
        ids = char_ids(tokenizer, captions, text_encoder.config.max_length, device)
        texts.append(text_encoder(ids, standardized=False).float())
        labels += (
            chunk["class_id"]
            if "class_id" in rows.column_names
            else list(range(start, start + len(captions)))
        )
    return torch.cat(images), torch.cat(texts), torch.tensor(labels)


@torch.no_grad()
def evaluate_text_encoder(
    text_encoder,
    tokenizer,
    image_encoder,
    rows,
    num_candidates: int = 100,
    seed: int = 0,
    image_size: int = 64,
) -> dict:
    """Caption-to-image R@1 among ``num_candidates`` images (each test caption against its image and
    ``num_candidates - 1`` others drawn at random) and, with class labels, the zero-shot accuracy over the
    split's classes (mean caption embedding per class as the classifier), with chance for both. Images are
    center-cropped to ``image_size`` as the trainer's view crops them."""
    images, texts, labels = _embed(text_encoder, tokenizer, image_encoder, rows, seed, image_size)
    candidates = min(num_candidates, len(images))
    metrics = {
        "retrieval_r1": _top1_among_candidates(texts, images, candidates, seed + 1),
        "retrieval_candidates": candidates,
        "retrieval_chance": 1 / candidates,
    }
    classes = torch.unique(labels)
    if len(classes) > 1:
        prototypes = torch.stack([texts[labels == c].mean(dim=0) for c in classes])
        predicted = classes[(images @ prototypes.T).argmax(dim=1)]
        metrics.update(
            zero_shot_accuracy=float((predicted == labels).float().mean()),
            zero_shot_classes=len(classes),
            zero_shot_chance=1 / len(classes),
        )
    return metrics


def load_joint_encoders(path: str | Path):
    """``(text_encoder, tokenizer, image_encoder)`` of a ``scripts/train_text_encoder.py`` output folder,
    in eval mode: the fixed evaluation encoders of :func:`r_precision`."""
    path = Path(path)
    if not (path / "image_encoder" / "config.json").is_file():
        raise FileNotFoundError(f"{path}: not a train_text_encoder.py folder (no image_encoder/config.json).")
    from transformers import AutoTokenizer

    text_encoder = CharCNNRNNEncoder.from_pretrained(path).eval()
    return (
        text_encoder,
        AutoTokenizer.from_pretrained(path),
        load_image_encoder(path / "image_encoder").eval(),
    )


@torch.no_grad()
def r_precision(
    images: torch.Tensor,
    captions: list[str],
    encoders,
    num_candidates: int = 100,
    seed: int = 0,
    batch_size: int = 64,
) -> float:
    """AttnGAN's R-precision with R = 1: each generated image (``[N, 3, H, W]`` in ``[0, 1]``, resized to the
    image encoder's 64x64) ranks the caption it was generated from against ``num_candidates - 1`` captions
    of other samples, by cosine similarity of the fixed evaluation ``encoders`` (text encoder, tokenizer,
    image encoder: :func:`load_joint_encoders`); returns the share ranked first (chance: 1 /
    ``num_candidates``)."""
    text_encoder, tokenizer, image_encoder = encoders
    image_embeds, text_embeds = [], []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size].float() * 2 - 1
        if batch.shape[-1] != 64:
            batch = F.interpolate(batch, size=(64, 64), mode="area")
        image_embeds.append(F.normalize(image_encoder(batch), dim=-1))
        ids = char_ids(tokenizer, captions[start : start + batch_size], text_encoder.config.max_length, "cpu")
        text_embeds.append(F.normalize(text_encoder(ids, standardized=False), dim=-1))
    image_embeds, text_embeds = torch.cat(image_embeds), torch.cat(text_embeds)
    return _top1_among_candidates(image_embeds, text_embeds, min(num_candidates, len(image_embeds)), seed)


def _top1_among_candidates(queries: torch.Tensor, keys: torch.Tensor, candidates: int, seed: int) -> float:
    """Share of queries ``i`` whose own key ``i`` scores highest (inner product) among itself and
    ``candidates - 1`` other keys drawn at random."""
    rng = np.random.default_rng(seed)
    n = len(queries)
    hits = 0
    for i in range(n):
        others = rng.choice(np.delete(np.arange(n), i), size=candidates - 1, replace=False)
        pool = torch.from_numpy(np.concatenate([[i], others]))
        hits += int((keys[pool] @ queries[i]).argmax().item() == 0)
    return hits / n
