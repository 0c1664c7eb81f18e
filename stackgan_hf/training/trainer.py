"""StackGAN training under accelerate: Stage-I, then Stage-II over the frozen Stage-I.

One loop serves both stages. Per step: the generator makes fakes from the batch's text embeddings and
fresh noise; the discriminator learns real/matching -> 1, real/mismatched -> 0, fake -> 0; then the
generator learns to have its fakes scored real, plus ``kl_coefficient`` times the CA's KL term.

Run layout (``--stage 1`` or ``2``): ``output_dir/`` holds the final ``StackGANPipeline`` and model card,
``checkpoint-<step>/`` (``accelerator.save_state``), ``samples/`` and ``logs/``. ``--stage both`` trains
Stage-I in ``output_dir/stage1`` and Stage-II in ``output_dir`` on top of it.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator, PartialState
from accelerate.logging import get_logger
from accelerate.utils import (
    DataLoaderConfiguration,
    DistributedDataParallelKwargs,
    ProjectConfiguration,
    set_seed,
)
from diffusers.training_utils import EMAModel
from tqdm.auto import tqdm

from ..data import StackGANTrainingView, collate_training_batch, preresize_images
from ..data.loading import embed_caption_lists, uniform_caption_count
from ..models import (
    StackGANStage1Discriminator,
    StackGANStage1Generator,
    StackGANStage2Discriminator,
    StackGANStage2Generator,
)
from ..pipeline_stackgan import StackGANPipeline
from ..text import HashedBagOfWordsEncoder, encode_prompts, load_text_encoder, text_embedding_dim
from ..utils.config import ConfigError, config_from_dict, config_to_dict
from ..utils.run_dir import remove_previous_runs, set_aside_previous_run
from ..utils.training_utils import (
    CHECKPOINT_PREFIX,
    TEMP_PREFIX,
    TrainingDivergedError,
    adam_kwargs,
    list_checkpoints,
    recalibrate_batch_norm,
    register_pretrained_checkpoint_hooks,
    report_to_trackers,
    resolve_mixed_precision,
    restore_checkpoint,
    save_checkpoint,
    save_pretrained_atomically,
    seeded_generator,
    set_cpu_threads,
    tensorboard_hparams,
)
from ..visualization import captioned_grid
from .augment import parse_policy
from .config import STAGE2_OF_BOTH, StackGANTrainingConfig, load_config_split, options_beyond_stackgan_v1
from .diagnostics import conditioning_diagnostics, load_heldout_batch
from .losses import discriminator_accuracy
from .negatives import color_negative, parse_negative_kinds
from .step import (
    AdversarialOptions,
    LossWeights,
    StackGANGame,
    StepBatch,
    StepHooks,
    accumulated_stackgan_step,
    stackgan_step,
)

logger = get_logger(__name__, log_level="INFO")  # accelerate's: logs on the main process only

CROP_SIZE = {1: 64, 2: 256}
TEXT_POOLING = "auto"  # a transformers encoder's caption vector: pooled for CLIP, the token mean otherwise
BAG_OF_WORDS = {"embedding_dim": 256, "num_hash_buckets": 2048, "max_ngram": 2}
# An earlier run's files besides its checkpoints and logs, set aside by --overwrite_output_dir.
PREVIOUS_RUN_FILES = (f"{TEMP_PREFIX}*", "samples", "stage*_history.jsonl", "stage*_summary.json")


def train(config: StackGANTrainingConfig) -> Path:
    """Trains the stage(s) of ``config`` and returns the folder of the final pipeline."""
    if config.push_to_hub:
        from ..utils.hub import require_hub_token

        require_hub_token(config.hub_token)
    output_dir = Path(config.output_dir)
    _check_output_dir(config, output_dir)
    _check_stage1_dataset(config)
    ignored = [name for name in STAGE2_OF_BOTH if getattr(config, name) is not None]
    if ignored and config.stage != "both":
        PartialState()  # accelerate's logger needs the process state
        logger.warning(
            "%s apply to --stage both only: ignored with --stage %s.", ", ".join(ignored), config.stage
        )
    if config.stage == "1":
        return train_stage(config, stage=1, run_dir=output_dir)
    if config.stage == "2":
        return train_stage(config, stage=2, run_dir=output_dir, stage1_model=config.stage1_model)
    stage1_dir = output_dir / "stage1"
    if config.resume_from_checkpoint and (stage1_dir / "model_index.json").is_file():
        PartialState()  # accelerate's logger needs the process state, which no Accelerator has set up yet
        logger.info("Stage-I already finished in %s: resuming with Stage-II.", stage1_dir)
    else:
        train_stage(dataclasses.replace(config, push_to_hub=False), stage=1, run_dir=stage1_dir)
    stage2_values = {
        "max_train_steps": config.stage2_max_train_steps,
        "train_batch_size": config.stage2_train_batch_size,
        "discriminator_channels": config.stage2_discriminator_channels,
    }
    stage2_config = dataclasses.replace(config, **{k: v for k, v in stage2_values.items() if v is not None})
    return train_stage(stage2_config, stage=2, run_dir=output_dir, stage1_model=str(stage1_dir))


def _check_stage1_dataset(config: StackGANTrainingConfig) -> None:
    """Stage-II over a local Stage-I trains on that Stage-I's dataset (its summary names it)."""
    summary = _stage1_summary(config.stage1_model) if config.stage == "2" else None
    trained_on = (summary or {}).get("config", {}).get("dataset")
    if trained_on is not None and _same_dataset(trained_on, config.dataset) is False:
        raise ConfigError(
            f"--stage1_model {config.stage1_model} was trained on {trained_on}, but --dataset is "
            f"{config.dataset}: Stage-II must train on its Stage-I's dataset."
        )


def _same_dataset(a: str, b: str) -> bool | None:
    """Whether two dataset values name the same data (None when that cannot be told: a Hub id)."""
    if a == b:
        return True
    if "synthetic-birds" in (a, b):
        return False
    if Path(a).exists() and Path(b).exists():
        return Path(a).resolve() == Path(b).resolve()
    return None


def _holds_a_run(folder: Path) -> list[str]:
    """What of a training run ``folder`` holds: a saved pipeline, checkpoints, a history."""
    names = ["model_index.json", f"{CHECKPOINT_PREFIX}*", f"{TEMP_PREFIX}*", "stage*_history.jsonl"]
    return sorted({path.name for name in names for path in folder.glob(name)})


def _check_output_dir(config: StackGANTrainingConfig, output_dir: Path) -> None:
    """Refuses a fresh run into a folder that holds another run, unless it resumes or overwrites."""
    if config.overwrite_output_dir and config.resume_from_checkpoint:
        raise ConfigError(
            "--overwrite_output_dir starts a new run and --resume_from_checkpoint continues one: pass one of "
            "them."
        )
    folders = [output_dir] + ([output_dir / "stage1"] if config.stage == "both" else [])
    found = {folder: _holds_a_run(folder) for folder in folders if folder.is_dir()}
    found = {folder: names for folder, names in found.items() if names}
    if found and not config.resume_from_checkpoint and not config.overwrite_output_dir:
        folder, names = next(iter(found.items()))
        raise ConfigError(
            f"--output_dir {output_dir}: {folder} holds another run ({', '.join(names[:4])}). Pass "
            "--resume_from_checkpoint latest to continue it, --overwrite_output_dir to replace it, or choose "
            "another --output_dir."
        )


def _set_aside_previous_run(accelerator: Accelerator, run_dir: Path) -> None:
    """``--overwrite_output_dir``: the earlier run's checkpoints, logs, samples, histories and summaries move
    to ``run_dir/.previous-run-N`` once the stage is built, and go when the new pipeline is saved."""
    if accelerator.is_main_process:
        aside = set_aside_previous_run(run_dir, "logs", also=PREVIOUS_RUN_FILES)
        if aside is not None:
            logger.info(
                "--overwrite_output_dir: the earlier run's files are in %s until this run saves.", aside
            )
    accelerator.wait_for_everyone()


def _build_text_encoder(config: StackGANTrainingConfig, dataset, stage1_pipeline: StackGANPipeline | None):
    """(text_encoder, tokenizer, embedding dim). Stage-II reuses Stage-I's encoder: both stages must agree."""
    if stage1_pipeline is not None:
        encoder, tokenizer = stage1_pipeline.text_encoder, stage1_pipeline.tokenizer
        if encoder is None and "embeddings" not in dataset.column_names:
            raise ConfigError(
                f"--stage1_model {config.stage1_model} uses precomputed embeddings, but --dataset "
                f"{config.dataset} has no `embeddings` column."
            )
        return encoder, tokenizer, stage1_pipeline.stage1_generator.config.text_embedding_dim
    if config.text_encoder == "precomputed":
        if "embeddings" not in dataset.column_names:
            raise ConfigError(
                f"--text_encoder precomputed needs an `embeddings` column; {config.dataset} has "
                f"{dataset.column_names}. Use --text_encoder bag-of-words or a transformers model instead."
            )
        return None, None, int(dataset.features["embeddings"].shape[1])
    if config.text_encoder == "bag-of-words":  # a row for every word and word pair of the training captions
        vocabulary = HashedBagOfWordsEncoder.build_vocabulary(
            (c for captions in dataset["captions"] for c in captions), max_ngram=BAG_OF_WORDS["max_ngram"]
        )
        return (
            HashedBagOfWordsEncoder(vocabulary=vocabulary, **BAG_OF_WORDS),
            None,
            BAG_OF_WORDS["embedding_dim"],
        )
    encoder, tokenizer = load_text_encoder(config.text_encoder)
    return encoder, tokenizer, text_embedding_dim(encoder)


def _models(config: StackGANTrainingConfig, stage: int, dim: int):
    """The stage's generator and discriminator, initialized."""
    shared = {
        "text_embedding_dim": dim,
        "condition_dim": config.condition_dim,
        "base_channels": config.generator_channels,
        "upsample_mode": config.upsample_mode,
    }
    if stage == 1:
        generator = StackGANStage1Generator(**shared)
    else:
        generator = StackGANStage2Generator(
            num_residual_blocks=config.num_residual_blocks,
            image_skip=config.stage2_image_skip,
            image_skip_mode=config.stage2_image_skip_mode,
            **shared,
        )
    discriminator_class = StackGANStage1Discriminator if stage == 1 else StackGANStage2Discriminator
    discriminator = discriminator_class(
        condition_dim=config.condition_dim,
        base_channels=config.discriminator_channels,
        text_embedding_dim=dim,
        conditional_head_type=config.discriminator_head,
    )
    return generator, discriminator


def stackgan_game(
    config: StackGANTrainingConfig, generator, discriminator, noise_dim: int, stage1_generator=None
) -> StackGANGame:
    """The step's networks and the config's loss weights and options (:class:`~.step.StackGANGame`)."""
    weights = LossWeights(
        kl_coefficient=float(config.kl_coefficient),
        contrastive_coefficient=float(config.contrastive_coefficient),
        color_consistency_coefficient=float(config.color_consistency_coefficient),
        low_res_consistency_coefficient=float(config.low_res_consistency_coefficient),
    )
    options = AdversarialOptions(
        diffaugment=parse_policy(config.diffaugment), mismatched_pairs=config.mismatched_pairs
    )
    return StackGANGame(generator, discriminator, noise_dim, weights, options, stage1_generator)


EMA_BATCH_NORM_BATCHES = 16
EMA_DECAY = 0.999


@dataclasses.dataclass
class _Stage:
    """What the loop of one stage works on: accelerate's prepared objects, the text path and the counts."""

    stage: int
    run_dir: Path
    accelerator: Accelerator
    dataset: object
    view: StackGANTrainingView
    loader: torch.utils.data.DataLoader
    text_encoder: object
    tokenizer: object
    dim: int
    generator: torch.nn.Module
    discriminator: torch.nn.Module
    stage1_generator: torch.nn.Module | None
    g_optimizer: torch.optim.Optimizer
    d_optimizer: torch.optim.Optimizer
    schedules: list
    ema: EMAModel | None
    steps_per_epoch: int
    max_steps: int
    num_epochs: int
    heldout: object = None
    ema_copy: tuple[int, torch.nn.Module] | None = None  # (EMA step, _ema_generator's model for that step)
    memory_format: torch.memory_format = torch.channels_last  # oneDNN/cuDNN convolutions run faster on it

    def embed(self, batch) -> torch.Tensor:
        """The batch's text embeddings: precomputed (the dataset's, or the frozen encoder's computed once by
        :func:`_embed_training_captions`), else the frozen encoder's of its captions."""
        if "embedding" in batch:
            return batch["embedding"].to(self.accelerator.device)
        return encode_prompts(
            batch["caption"], self.text_encoder, self.tokenizer, TEXT_POOLING, self.accelerator.device
        )

    def color_negatives(
        self, batch, kinds, seed: int, step: int, micro_batch: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch's hard negative captions of each of ``kinds`` (:mod:`.negatives`), embedded
        ``[B, K, D]``, and which exist ``[B, K]`` (a missing one repeats its row's caption, masked out).
        ``micro_batch``: the batch's place in an accumulated update (each draws its own)."""
        keys = [seed, step, self.accelerator.process_index] + ([micro_batch] if micro_batch else [])
        rng = np.random.default_rng(keys)
        captions = batch["caption"]
        negatives = [[color_negative(kind, caption, rng) for kind in kinds] for caption in captions]
        mask = torch.tensor(
            [[n is not None for n in row] for row in negatives], device=self.accelerator.device
        )
        texts = [n if n is not None else c for row, c in zip(negatives, captions, strict=True) for n in row]
        text = encode_prompts(texts, self.text_encoder, self.tokenizer, TEXT_POOLING, self.accelerator.device)
        return text.view(len(captions), len(kinds), -1), mask


def train_stage(
    config: StackGANTrainingConfig, stage: int, run_dir: Path, stage1_model: str | None = None
) -> Path:
    """Trains one stage; writes checkpoints, samples and logs under ``run_dir`` and the pipeline to it."""
    run = _build_stage(config, stage, Path(run_dir), stage1_model)
    if config.overwrite_output_dir:
        _set_aside_previous_run(run.accelerator, run.run_dir)
    # Resume: the newest complete, verified checkpoint for "latest" (utils.restore_checkpoint).
    global_step = restore_checkpoint(run.accelerator, run.run_dir, config.resume_from_checkpoint)
    if run.accelerator.is_main_process and report_to_trackers(config.report_to):
        run.accelerator.init_trackers(
            f"stackgan_stage{stage}", config=tensorboard_hparams(config_to_dict(config), stage=stage)
        )
    run.accelerator.print(
        f"Stage-{'I' * stage}: {len(run.dataset)} images, {run.steps_per_epoch} steps/epoch, "
        f"{run.max_steps} steps, batch {config.train_batch_size} x {run.accelerator.num_processes} "
        f"process(es){_accumulation_note(config)}, text {run.dim}-d"
    )
    start = time.perf_counter()
    global_step, last_record = _loop(config, run, global_step)
    _finish(config, run, global_step, last_record, time.perf_counter() - start, stage1_model)
    run.accelerator.end_training()
    return run.run_dir


def _accelerator(config: StackGANTrainingConfig, run_dir: Path) -> Accelerator:
    accelerator = Accelerator(
        mixed_precision=resolve_mixed_precision(config.mixed_precision),
        log_with=report_to_trackers(config.report_to),
        project_config=ProjectConfiguration(project_dir=str(run_dir), logging_dir=str(run_dir / "logs")),
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=config.seed),
        # The discriminator runs several forwards per backward; re-broadcasting BatchNorm buffers between
        # them would modify tensors autograd still needs. Each process keeps its own running statistics.
        kwargs_handlers=[DistributedDataParallelKwargs(broadcast_buffers=False)],
    )
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    logging.getLogger("accelerate").setLevel(logging.WARNING)  # one line per saved file otherwise
    set_seed(config.seed)
    set_cpu_threads(accelerator, config.cpu_threads)
    if accelerator.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
    return accelerator


def _embed_training_captions(dataset, text_encoder, tokenizer, pooling: str, accelerator: Accelerator):
    """The training split with its captions embedded once by the frozen encoder (replacing any ``embeddings``
    column, e.g. a pickle's, so that training follows the chosen encoder). The view then reads caption j's
    embedding where it would have encoded caption j every step: the same inputs at a fraction of the cost
    (the char-CNN-RNN took a third of the quickstart's Stage-I step). Rows with differing numbers of
    captions are encoded per step as before."""
    if uniform_caption_count(dataset) is None:
        logger.info("Rows have differing numbers of captions: the text encoder runs on every batch.")
        return dataset
    with accelerator.main_process_first():
        return embed_caption_lists(dataset, text_encoder, tokenizer, pooling, accelerator.device)


def _build_stage(
    config: StackGANTrainingConfig, stage: int, run_dir: Path, stage1_model: str | None
) -> _Stage:
    """The accelerator; the data and text path; the networks, optimizers, LR schedules and EMA, prepared."""
    accelerator = _accelerator(config, run_dir)
    stage1_pipeline = StackGANPipeline.from_pretrained(stage1_model) if stage == 2 else None
    data = _build_data(config, stage, accelerator, stage1_pipeline)
    generator, discriminator = _models(config, stage, data["dim"])
    stage1_generator = None
    if stage1_pipeline is not None:
        stage1_generator = (
            stage1_pipeline.stage1_generator.requires_grad_(False).eval().to(accelerator.device)
        )
    for model in (generator, discriminator, stage1_generator):
        if model is not None:
            model.to(memory_format=torch.channels_last)
    fused = adam_kwargs(accelerator.device)
    g_optimizer = torch.optim.Adam(
        generator.parameters(), lr=config.generator_lr, betas=config.adam_betas, **fused
    )
    d_optimizer = torch.optim.Adam(
        discriminator.parameters(), lr=config.discriminator_lr, betas=config.adam_betas, **fused
    )
    generator, discriminator, g_optimizer, d_optimizer, loader = accelerator.prepare(
        generator, discriminator, g_optimizer, d_optimizer, data.pop("loader")
    )
    # checkpoint-N/generator/ and checkpoint-N/discriminator/, each a save_pretrained folder.
    generators = (StackGANStage1Generator, StackGANStage2Generator)
    register_pretrained_checkpoint_hooks(
        accelerator, lambda model: "generator" if isinstance(model, generators) else "discriminator"
    )
    # An update takes gradient_accumulation_steps batches (the last of an epoch may take fewer).
    steps_per_epoch = math.ceil(len(loader) / config.gradient_accumulation_steps)
    max_steps = config.max_train_steps or config.num_train_epochs * steps_per_epoch
    heldout = data.pop("heldout")
    run = _Stage(
        stage=stage,
        run_dir=run_dir,
        accelerator=accelerator,
        loader=loader,
        generator=generator,
        discriminator=discriminator,
        stage1_generator=stage1_generator,
        g_optimizer=g_optimizer,
        d_optimizer=d_optimizer,
        schedules=_lr_schedules(config, accelerator, (g_optimizer, d_optimizer), steps_per_epoch),
        ema=_ema(config, accelerator, generator),
        steps_per_epoch=steps_per_epoch,
        max_steps=max_steps,
        num_epochs=math.ceil(max_steps / steps_per_epoch),
        **data,
    )
    if heldout is not None:
        run.heldout = heldout.embedded(run.embed, accelerator.device, run.memory_format)
    return run


def _build_data(
    config: StackGANTrainingConfig, stage: int, accelerator: Accelerator, stage1_pipeline
) -> dict:
    """The training split (pre-resized once, its captions embedded once), its view and loader, the frozen
    text path and the held-out diagnostics batch. The main process builds the datasets cache first."""
    with accelerator.main_process_first():
        dataset = preresize_images(load_config_split(config, "train", CROP_SIZE[stage]), CROP_SIZE[stage])
    text_encoder, tokenizer, dim = _build_text_encoder(config, dataset, stage1_pipeline)
    if config.color_negatives and text_encoder is None:
        raise ConfigError(
            "color_negatives encodes the swapped captions: it needs a text encoder, not --text_encoder "
            "precomputed."
        )
    if text_encoder is not None:
        text_encoder.requires_grad_(False).eval().to(accelerator.device)
        dataset = _embed_training_captions(dataset, text_encoder, tokenizer, TEXT_POOLING, accelerator)
    view = StackGANTrainingView(
        dataset,
        crop_size=CROP_SIZE[stage],
        seed=config.seed,
        embedding_mode=config.embedding_mode,
        mismatched_images=config.mismatched_pairs == "images",
    )
    loader = torch.utils.data.DataLoader(
        view.as_dataset(),
        batch_size=config.train_batch_size,
        shuffle=True,
        drop_last=len(dataset) >= config.train_batch_size * accelerator.num_processes,
        collate_fn=collate_training_batch,
        num_workers=config.dataloader_num_workers,
        pin_memory=torch.cuda.is_available(),
    )
    return {
        "dataset": dataset,
        "view": view,
        "loader": loader,
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
        "dim": dim,
        "heldout": load_heldout_batch(config, CROP_SIZE[stage], logger),
    }


def _lr_schedules(config: StackGANTrainingConfig, accelerator: Accelerator, optimizers, steps_per_epoch: int):
    """ "Halve every lr_decay_epochs", counted in steps; stepped once per global step, on every process."""
    decay_every = max(1, config.lr_decay_epochs * steps_per_epoch)
    schedules = [torch.optim.lr_scheduler.StepLR(opt, step_size=decay_every, gamma=0.5) for opt in optimizers]
    accelerator.register_for_checkpointing(*schedules)
    return schedules


def _ema(config: StackGANTrainingConfig, accelerator: Accelerator, generator) -> EMAModel | None:
    if not config.use_ema:
        return None
    ema = EMAModel(accelerator.unwrap_model(generator).parameters(), decay=EMA_DECAY)
    ema.to(accelerator.device)
    accelerator.register_for_checkpointing(ema)
    return ema


def _loop(config: StackGANTrainingConfig, run: _Stage, global_step: int) -> tuple[int, dict]:
    """From ``global_step`` to ``run.max_steps``: one discriminator and one generator update per batch (or
    per ``gradient_accumulation_steps`` micro-batches); the history, logs, checkpoints and sample grids on
    their schedules. Returns the final step and record."""
    accelerator = run.accelerator
    first_epoch, resume_updates = divmod(global_step, run.steps_per_epoch)
    if global_step >= run.max_steps:  # killed while saving the final pipeline: only the save is left to redo
        first_epoch = run.num_epochs
    validation_prompts = config.validation_prompts or [c[0] for c in run.dataset[:8]["captions"]]
    stage1 = (
        run.stage1_generator if run.stage1_generator is not None else accelerator.unwrap_model(run.generator)
    )
    game = stackgan_game(
        config, run.generator, run.discriminator, stage1.config.noise_dim, run.stage1_generator
    )
    negative_kinds = parse_negative_kinds(config.color_negatives)
    hooks = StepHooks(
        autocast=accelerator.autocast, backward=accelerator.backward, no_sync=accelerator.no_sync
    )
    progress = tqdm(
        range(run.max_steps),
        initial=global_step,
        desc=f"Stage-{'I' * run.stage}",
        disable=not accelerator.is_local_main_process,
    )
    history_path = run.run_dir / f"stage{run.stage}_history.jsonl"  # one JSON line per step; resumes append
    last_record: dict = {}
    for epoch in range(first_epoch, run.num_epochs):
        run.view.set_epoch(epoch)
        run.loader.set_epoch(epoch)
        epoch_loader = run.loader
        if epoch == first_epoch and resume_updates:
            skipped = resume_updates * config.gradient_accumulation_steps
            epoch_loader = accelerator.skip_first_batches(run.loader, skipped)
        run.generator.train()
        run.discriminator.train()
        for group in _micro_batch_groups(epoch_loader, config.gradient_accumulation_steps):
            step = _train_step(config, run, game, hooks, negative_kinds, group, global_step)
            global_step += 1
            last_record = _step_record(config, run, step, global_step, epoch)
            progress.update(1)
            _log_step(config, run, last_record, history_path, progress)
            if global_step % config.checkpointing_steps == 0 or global_step == run.max_steps:
                save_checkpoint(accelerator, run.run_dir, global_step, config.checkpoints_total_limit)
            if accelerator.is_main_process and (
                global_step % config.sample_steps == 0 or global_step == run.max_steps
            ):
                _save_samples(config, run, global_step, validation_prompts)
            if global_step >= run.max_steps:
                break
        if global_step >= run.max_steps:
            break
    progress.close()
    return global_step, last_record


def _train_step(config: StackGANTrainingConfig, run: _Stage, game, hooks, kinds, group, global_step: int):
    """One update of both networks from the loader batches ``group`` (``kinds``: the hard negative captions'
    kinds), then the LR schedules and the EMA."""
    device = run.accelerator.device
    rng = seeded_generator(config.seed, global_step, run.accelerator.process_index, device=device)
    batches = [
        _step_batch(config, run, batch, kinds, global_step, index) for index, batch in enumerate(group)
    ]
    optimizers = (run.g_optimizer, run.d_optimizer)
    if config.gradient_accumulation_steps == 1:
        step = stackgan_step(game, *optimizers, batches[0], rng, hooks)
    else:
        step = accumulated_stackgan_step(game, *optimizers, batches, rng, hooks)
    for schedule in run.schedules:
        schedule.step()
    if run.ema is not None:
        run.ema.step(run.accelerator.unwrap_model(run.generator).parameters())
    return step


def _micro_batch_groups(loader, size: int):
    """The loader's batches in lists of ``size`` (an update's micro-batches); the last may be shorter."""
    group = []
    for batch in loader:
        group.append(batch)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def _step_batch(
    config: StackGANTrainingConfig, run: _Stage, batch, negative_kinds, global_step: int, index: int
) -> StepBatch:
    """A loader batch as the step takes it: its text embeddings, images in the memory format, and the
    hard negative captions (micro-batch ``index`` of the update draws its own)."""
    mismatched = batch.get("mismatched_pixel_values")
    if mismatched is not None:
        mismatched = mismatched.contiguous(memory_format=run.memory_format)
    hard_text, hard_mask = None, None
    if negative_kinds:
        hard_text, hard_mask = run.color_negatives(batch, negative_kinds, config.seed, global_step, index)
    return StepBatch(
        text=run.embed(batch),
        real=batch["pixel_values"].contiguous(memory_format=run.memory_format),
        mismatched=mismatched,
        class_ids=batch.get("class_id"),
        hard_negative_text=hard_text,
        hard_negative_mask=hard_mask,
    )


def _accumulation_note(config: StackGANTrainingConfig) -> str:
    steps = config.gradient_accumulation_steps
    return f" x {steps} accumulated micro-batches" if steps > 1 else ""


def _step_record(config: StackGANTrainingConfig, run: _Stage, step, global_step: int, epoch: int) -> dict:
    """The step's losses and discriminator accuracies averaged over processes (and, every
    ``logging_steps``, the conditioning diagnostics); ``TrainingDivergedError`` on a NaN or infinite loss."""
    d_losses = step.d_losses
    losses = [d_losses.total, d_losses.real, d_losses.mismatched, d_losses.fake]
    losses = torch.stack([*losses, step.g_loss, step.adversarial, step.kl]).float()
    accuracy = discriminator_accuracy(step.real_logits, step.mismatched_logits, step.fake_logits)
    losses = torch.cat([losses, accuracy])
    values = run.accelerator.reduce(losses.detach(), reduction="mean").tolist()
    if not all(math.isfinite(value) for value in values[:7]):
        last = list_checkpoints(run.run_dir)
        kept = f"the last good checkpoint is {last[-1]}" if last else "no checkpoint was written yet"
        raise TrainingDivergedError(
            f"Stage-{'I' * run.stage} diverged at step {global_step}: a loss is NaN or infinite "
            f"(D {values[0]:.4g}, G {values[4]:.4g}); {kept}. "
            "Lower the learning rates or try --mixed_precision no."
        )
    names = ["d_loss", "d_loss_real", "d_loss_mismatched", "d_loss_fake", "g_loss", "g_loss_adversarial"]
    names += ["kl", "d_acc_real", "d_acc_mismatched", "d_acc_fake"]
    record = {"step": global_step, "epoch": epoch, **dict(zip(names, values))}
    record["lr"] = run.schedules[0].get_last_lr()[0]
    if step.contrastive is not None:
        record["d_loss_contrastive"] = step.contrastive.item()
    if global_step % config.logging_steps == 0 or global_step == run.max_steps:
        unwrap = run.accelerator.unwrap_model
        record.update(
            conditioning_diagnostics(unwrap(run.generator), unwrap(run.discriminator), step.mu, run.heldout)
        )
    return record


def _log_step(
    config: StackGANTrainingConfig, run: _Stage, record: dict, history_path: Path, progress
) -> None:
    """The record to the history file (every step), the progress bar and, every ``logging_steps``, the
    trackers."""
    if run.accelerator.is_main_process:
        with history_path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
    progress.set_postfix(d=f"{record['d_loss']:.3f}", g=f"{record['g_loss']:.3f}", kl=f"{record['kl']:.3f}")
    step = record["step"]
    if step % config.logging_steps == 0 or step == run.max_steps:
        run.accelerator.log({k: v for k, v in record.items() if k not in ("step", "epoch")}, step=step)


def _finish(
    config: StackGANTrainingConfig,
    run: _Stage,
    global_step: int,
    last_record: dict,
    elapsed: float,
    stage1_model: str | None = None,
):
    """Saves the pipeline (EMA weights if any), the discriminator, the summary (Stage-II: also Stage-I's)
    and the model card; pushes to the Hub when asked."""
    accelerator, stage, run_dir = run.accelerator, run.stage, run.run_dir
    accelerator.wait_for_everyone()
    if not accelerator.is_main_process:
        return
    trained = accelerator.unwrap_model(run.generator, keep_fp32_wrapper=False)
    if run.ema is not None:
        trained = _ema_generator(config, run)
    pipeline = _pipeline(run, trained)
    # Not part of the pipeline; kept for reports (confusion matrices) and for fine-tuning. Saved first:
    # the pipeline's model_index.json, moved into place last, marks the finished run.
    save_pretrained_atomically(
        accelerator.unwrap_model(run.discriminator, keep_fp32_wrapper=False).save_pretrained,
        run_dir / "discriminator",
        "config.json",
    )
    save_pretrained_atomically(pipeline.save_pretrained, run_dir, "model_index.json")
    summary = {
        "stage": stage,
        "steps": global_step,
        "images": len(run.dataset),
        "batch_size": config.train_batch_size,
        "processes": accelerator.num_processes,
        "wall_time_s_this_run": round(elapsed, 1),
        "device": str(accelerator.device),
        "mixed_precision": accelerator.mixed_precision,
        "final": {k: v for k, v in last_record.items() if k not in ("step", "epoch")},
        "config": config_to_dict(config),
    }
    (run_dir / f"stage{stage}_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    stage1_summary = _stage1_summary(stage1_model) if stage == 2 else None
    if stage1_summary is not None and not (run_dir / "stage1_summary.json").is_file():
        (run_dir / "stage1_summary.json").write_text(json.dumps(stage1_summary, indent=2) + "\n")
    _write_card(run_dir, config, stage, summary, stage1_summary)
    remove_previous_runs(run_dir)  # --overwrite_output_dir: the earlier run's files, now replaced
    accelerator.print(f"Saved the Stage-{'I' * stage} pipeline to {run_dir}")
    if config.push_to_hub:
        from ..utils.hub import upload_output_dir

        url = upload_output_dir(run_dir, config.hub_model_id, token=config.hub_token)
        accelerator.print(f"Pushed to {url}")


def _pipeline(run: _Stage, generator) -> StackGANPipeline:
    """The pipeline of this stage's ``generator`` (over the frozen Stage-I in Stage-II) and the text path."""
    stages = {"stage1_generator": generator}
    if run.stage == 2:
        stages = {"stage1_generator": run.stage1_generator, "stage2_generator": generator}
    return StackGANPipeline(
        **stages, text_encoder=run.text_encoder, tokenizer=run.tokenizer, text_pooling=TEXT_POOLING
    )


@torch.no_grad()
def _save_samples(config: StackGANTrainingConfig, run: _Stage, step: int, prompts: list[str]) -> None:
    """A grid for the fixed validation prompts with fixed noise (seed), so grids compare across steps."""
    if run.text_encoder is None:
        return  # precomputed embeddings: there is no encoder for the validation prompts
    model = _ema_generator(config, run) if run.ema is not None else _generator_copy(run)
    pipeline = _pipeline(run, model)
    out = pipeline(prompts, generator=torch.Generator(device="cpu").manual_seed(config.seed))
    columns = [[low] if run.stage == 1 else [low, high] for low, high in zip(out.stage1_images, out.images)]
    grid = captioned_grid(columns, prompts)
    samples = run.run_dir / "samples"
    samples.mkdir(parents=True, exist_ok=True)
    grid.save(samples / f"stage{run.stage}_step{step:06d}.png")
    for tracker in run.accelerator.trackers:
        if tracker.name == "tensorboard":
            tracker.writer.add_image("samples", np.asarray(grid), step, dataformats="HWC")


def _generator_copy(run: _Stage) -> torch.nn.Module:
    """A copy of the generator being trained, without accelerate's mixed-precision forward. Unwrapping with
    ``keep_fp32_wrapper=False`` strips that forward in place, so only the copy is unwrapped that way."""
    model = copy.deepcopy(run.accelerator.unwrap_model(run.generator))
    return run.accelerator.unwrap_model(model, keep_fp32_wrapper=False)


def _ema_generator(config: StackGANTrainingConfig, run: _Stage) -> torch.nn.Module:
    """A copy of the generator with the EMA weights, and BatchNorm statistics re-estimated for those weights
    (the live model's running statistics belong to other weights) on ``EMA_BATCH_NORM_BATCHES`` batches of
    training captions, the same rows and noise at every call (seeded), so a resumed run saves what an
    uninterrupted one does. Built once per EMA step (the last step's sample grid and the saved pipeline share
    it)."""
    if run.ema_copy is not None and run.ema_copy[0] == run.ema.optimization_step:
        return run.ema_copy[1]
    model = _generator_copy(run)
    run.ema.copy_to(model.parameters())
    view = run.loader.dataset
    picks = np.random.default_rng([config.seed, 1]).permutation(len(view))
    batch_size = config.train_batch_size
    texts = []
    epoch = run.view.epoch  # the view's caption choices depend on the epoch: epoch 0's, whenever this runs
    run.view.set_epoch(0)
    try:
        for start in range(0, min(len(view), EMA_BATCH_NORM_BATCHES * batch_size), batch_size):
            rows = view[[int(row) for row in picks[start : start + batch_size]]]
            batch = {"caption": rows["caption"]}
            if "embedding" in rows:
                batch["embedding"] = torch.stack(rows["embedding"])
            with torch.no_grad():
                texts.append(run.embed(batch))
    finally:  # the training view goes on with its own epoch's captions, whatever happened here
        run.view.set_epoch(epoch)
    rng = torch.Generator(device=run.accelerator.device).manual_seed(config.seed)
    noise_dim = (run.stage1_generator if run.stage1_generator is not None else model).config.noise_dim

    def forward(text):
        noise = torch.randn(text.shape[0], noise_dim, generator=rng, device=text.device)
        if run.stage1_generator is None:
            return model(text, noise, generator=rng)
        low_res = run.stage1_generator(text, noise, generator=rng).images
        return model(low_res, text, generator=rng)

    recalibrate_batch_norm(model, [functools.partial(forward, text) for text in texts])
    run.ema_copy = (run.ema.optimization_step, model.eval())
    return model


def read_history(path: str | Path) -> list[dict]:
    """The per-step records of a run's ``stage<N>_history.jsonl``; for a step logged twice (a run killed
    after its last checkpoint, then resumed) the later record wins."""
    by_step = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            by_step[record["step"]] = record
    return [by_step[step] for step in sorted(by_step)]


def _stage1_summary(stage1_model: str | None) -> dict | None:
    """The ``stage1_summary.json`` of a local Stage-I folder (None for a Hub id or a folder without one)."""
    path = Path(stage1_model) / "stage1_summary.json" if stage1_model else None
    return json.loads(path.read_text()) if path is not None and path.is_file() else None


def _beyond_v1(config: StackGANTrainingConfig, stage: int, stage1_summary: dict | None) -> list[str]:
    """The model card's options beyond StackGAN-v1; a Stage-II card names both stages' options."""
    notes = options_beyond_stackgan_v1(config, stage)
    if stage != 2 or stage1_summary is None:
        return notes
    try:
        stage1_config = config_from_dict(StackGANTrainingConfig, stage1_summary["config"], "stage1_summary")
    except (ConfigError, KeyError, TypeError):
        logger.warning(
            "The Stage-I summary's config could not be read: the card names Stage-II's options only."
        )
        return notes
    stage1_notes = options_beyond_stackgan_v1(stage1_config, stage=1)
    return [f"Stage-I: {note}" for note in stage1_notes] + [f"Stage-II: {note}" for note in notes]


def _lr_schedule(config: StackGANTrainingConfig, stage: int, stage1_summary: dict | None) -> str:
    """The model card's sentence on the learning-rate schedule; a Stage-II card names Stage-I's as well."""
    stage1_every = (stage1_summary or {}).get("config", {}).get("lr_decay_epochs") if stage == 2 else None
    if stage1_every is None:
        return f"Learning rates halved every {config.lr_decay_epochs} epochs."
    return (
        f"Learning rates halved every {stage1_every} epochs in Stage-I and every {config.lr_decay_epochs} "
        "epochs in Stage-II."
    )


def _write_card(
    run_dir: Path, config: StackGANTrainingConfig, stage: int, summary: dict, stage1_summary: dict | None
) -> None:
    from ..utils.hub import model_card_template, write_model_card

    samples = sorted((run_dir / "samples").glob(f"stage{stage}_step*.png"))
    dataset_ids = (
        [] if config.dataset == "synthetic-birds" or Path(config.dataset).exists() else [config.dataset]
    )
    write_model_card(
        run_dir,
        model_card_template("stackgan"),
        # The folder carries its code: DiffusionPipeline.from_pretrained(repo, trust_remote_code=True)
        library_name="diffusers",
        pipeline_tag="text-to-image",
        datasets=dataset_ids or None,
        tags=["stackgan", "gan", "text-to-image", "diffusers"],
        license="apache-2.0",
        model_id=config.hub_model_id or str(run_dir),
        stage=stage,
        dataset=config.dataset,
        # Stage-II reuses Stage-I's text encoder: name the one it was trained with.
        text_encoder=(stage1_summary or {}).get("config", {}).get("text_encoder", config.text_encoder),
        summary=summary,
        config_yaml=json.dumps(config_to_dict(config), indent=2),
        beyond_v1=_beyond_v1(config, stage, stage1_summary),
        kl_coefficient=config.kl_coefficient,
        lr_schedule=_lr_schedule(config, stage, stage1_summary),
        sample_grid=samples[-1].relative_to(run_dir).as_posix() if samples else None,
    )
