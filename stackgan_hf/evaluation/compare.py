"""Same data, budget and seed, one change at a time: the text-encoder comparison and the upsampling ablation.

Each variant (the base config with a few overrides) is trained, timed and evaluated with one shared judge,
captions and noise; every variant becomes a row of a Markdown and a JSON table.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path

from ..pipeline_stackgan import StackGANPipeline
from ..training import StackGANTrainingConfig, train
from ..utils.judge import ImageClassifier
from ..utils.markdown import markdown_table
from .stackgan import evaluate_stackgan


@dataclasses.dataclass(frozen=True)
class Variant:
    name: str
    overrides: dict


def encoder_name(encoder: str) -> str:
    """A short, file-name-safe label for a text encoder value (``bag-of-words``, a path, a Hub id); a
    folder with a generic name (``.../all-minilm/model``) is named after its parent."""
    path = Path(encoder.rstrip("/"))
    if path.name in ("model", "models", "snapshot", "weights") and path.parent.name:
        return path.parent.name
    return path.name or encoder


def text_encoder_variants(encoders: Sequence[str]) -> list[Variant]:
    """Stage-I with each text encoder (``bag-of-words``, ``precomputed``, a transformers path or id)."""
    return [Variant(encoder_name(e), {"text_encoder": e, "stage": "1"}) for e in encoders]


def upsampling_variants() -> list[Variant]:
    """Nearest-neighbor vs pixel-shuffle upsampling in both generators, Stage-I then Stage-II."""
    return [Variant(mode, {"upsample_mode": mode, "stage": "both"}) for mode in ("nearest", "pixel_shuffle")]


def conditioning_variants(names: Sequence[str] | None = None) -> list[Variant]:
    """The text-conditioning ablation (Stage-I): the paper's conditioning and each surviving option on top
    of it, one at a time (the retired ones are at the tag ``experiments-2026-12``). ``names`` picks a subset
    (in this order) or adds ``a+b`` combinations of the options."""
    paper = {"stage": "1"}
    options = {
        "paper": paper,
        "dfgan_adam": {"adam_betas": [0.0, 0.9], "generator_lr": 1e-4, "discriminator_lr": 4e-4},
        "diffaugment": {"diffaugment": "translation,cutout"},
        "diffaugment_color": {"diffaugment": "color,translation,cutout"},
        "projection": {"discriminator_head": "projection"},
        "concat_projection": {"discriminator_head": "concat_projection"},
        "ema": {"use_ema": True},
        "more_birds": {"synthetic_num_images": 16384},
        # Hyper-parameters of the quickstart rather than options: the balance between the networks.
        "d_half_width": {"discriminator_channels": 8},  # the paper's Ng:Nd = 2:1 (128:64)
        "kl_0.1": {"kl_coefficient": 0.1},
        "g_wide": {"generator_channels": 32},  # the width/steps trade: a wider G, fewer steps
        "d_wide": {"discriminator_channels": 32},  # a stronger critic of shape, fewer steps
        "g_lr_4e-4": {"generator_lr": 4e-4},  # a faster generator
        "g_lr_8e-4": {"generator_lr": 8e-4},  # faster still (the quickstart's was 4e-4)
        "g_lr_1.6e-3": {"generator_lr": 1.6e-3},  # and again (the quickstart's is now 8e-4)
        "d_lr_4e-4": {"discriminator_lr": 4e-4},  # a discriminator as fast as the lr-4e-4 generator
        "batch_64": {"train_batch_size": 64},
        "batch_16": {"train_batch_size": 16},  # the other way: more, cheaper updates
        "d_lr_1e-4": {"discriminator_lr": 1e-4},  # a slower discriminator
        "mean_of_4": {"embedding_mode": "mean_of_4"},  # StackGAN-TF: the mean of 4 captions' embeddings
        # XMC-GAN's contrastive loss: every other caption of the batch a negative, for D and for G
        "contrastive": {"contrastive_coefficient": 1.0},
        "contrastive_0.2": {"contrastive_coefficient": 0.2},
        "contrastive_4": {"contrastive_coefficient": 4.0},
        "lr_decay": {"lr_decay_epochs": 13},  # StackGAN's halving, three times in a 39-epoch ablation run
    }
    variants = []
    for name in names or list(options):
        overrides = dict(paper)
        for part in name.split("+"):
            if part not in options:
                raise ValueError(f"Unknown conditioning variant {part!r}: choose from {list(options)}.")
            overrides.update(options[part])
        variants.append(Variant(name, overrides))
    return variants


def stage2_variants(stage1_model: str, names: Sequence[str] | None = None) -> list[Variant]:
    """Stage-II over one frozen Stage-I (``stage1_model``): StackGAN-v1, StackGAN++'s color-consistency
    term, the image skip, and both."""
    options = {
        "v1": {},
        "color_consistency": {"color_consistency_coefficient": 50.0},
        "image_skip": {"stage2_image_skip": True},
        "image_skip+color_consistency": {"stage2_image_skip": True, "color_consistency_coefficient": 50.0},
        "image_skip+low_res_consistency": {
            "stage2_image_skip": True,
            "low_res_consistency_coefficient": 10.0,
        },
        "image_skip+color_consistency+low_res_consistency": {
            "stage2_image_skip": True,
            "color_consistency_coefficient": 50.0,
            "low_res_consistency_coefficient": 10.0,
        },
        # The quickstart's Stage-II with a stronger hold on where Stage-I put each color
        "image_skip+color_consistency+low_res_consistency_30": {
            "stage2_image_skip": True,
            "color_consistency_coefficient": 50.0,
            "low_res_consistency_coefficient": 30.0,
        },
    }
    base = {
        "stage": "2",
        "stage1_model": stage1_model,
        "color_consistency_coefficient": 0.0,
        "stage2_image_skip": False,
        "low_res_consistency_coefficient": 0.0,
    }
    unknown = [name for name in names or [] if name not in options]
    if unknown:
        raise ValueError(f"Unknown Stage-II variant {unknown}: choose from {list(options)}.")
    return [Variant(name, {**base, **options[name]}) for name in names or list(options)]


def run_variants(
    base: StackGANTrainingConfig,
    variants: Sequence[Variant],
    output_dir: str | Path,
    test,
    train_split,
    classifier: ImageClassifier,
    num_samples: int = 500,
    clip_model=None,
    reuse_runs: bool = False,
) -> list[dict]:
    """Trains and evaluates every variant under ``output_dir/<name>``; returns one record per variant.
    ``reuse_runs``: a variant already trained there (its ``evaluation.json`` and pipeline exist) is only
    evaluated again, keeping its recorded training time (e.g. after changing the judge)."""
    records = []
    for variant in variants:
        run_dir = Path(output_dir) / variant.name
        config = dataclasses.replace(base, output_dir=str(run_dir), report_to="none", **variant.overrides)
        previous = run_dir / "evaluation.json"
        if reuse_runs and previous.is_file() and (run_dir / "model_index.json").is_file():
            seconds = json.loads(previous.read_text())["train_seconds"]
        else:
            start = time.perf_counter()
            train(config)
            seconds = time.perf_counter() - start
        pipeline = StackGANPipeline.from_pretrained(run_dir)
        metrics = evaluate_stackgan(
            pipeline,
            test,
            train=train_split,
            num_samples=num_samples,
            classifier=classifier,
            clip_model=clip_model,
            seed=base.seed,
        )
        parameters = {"stage1_generator": pipeline.stage1_generator.num_parameters()}
        if pipeline.stage2_generator is not None:
            parameters["stage2_generator"] = pipeline.stage2_generator.num_parameters()
        records.append(
            {
                "variant": variant.name,
                "overrides": variant.overrides,
                "train_seconds": round(seconds, 1),
                "steps": {"stage1": config.max_train_steps, "stage2": config.stage2_max_train_steps},
                "parameters": parameters,
                "metrics": metrics,
            }
        )
        records[-1]["diagnostics"] = final_diagnostics(run_dir)
        (run_dir / "evaluation.json").write_text(json.dumps(records[-1], indent=2) + "\n")
    return records


DIAGNOSTIC_KEYS = ("heldout_acc_real", "heldout_acc_mismatched", "ca_dead_units", "mu_norm")


def final_diagnostics(run_dir: str | Path) -> dict[str, dict]:
    """Per stage, the last logged conditioning diagnostics and discriminator accuracies of a run (from its
    ``stage<N>_history.jsonl``); empty for runs without them."""
    found = {}
    for stage in (1, 2):
        path = Path(run_dir) / f"stage{stage}_history.jsonl"
        if not path.is_file():
            continue
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        logged = [r for r in records if "heldout_acc_mismatched" in r] or records[-1:]
        if logged:
            last = logged[-1]
            keys = (*DIAGNOSTIC_KEYS, "d_acc_fake", "g_loss_adversarial")
            found[f"stage{stage}"] = {k: last[k] for k in keys if k in last} | {"step": last["step"]}
    return found


def collect_record(run_dir: str | Path) -> dict:
    """The record a variant's run left in ``evaluation.json``, with its diagnostics (re-read)."""
    record = json.loads((Path(run_dir) / "evaluation.json").read_text())
    record["diagnostics"] = final_diagnostics(run_dir)
    return record


def diagnostics_table(records: Sequence[dict]) -> str:
    """One row per variant and stage: the held-out discriminator accuracies, dead CA units, mu's norm and
    the discriminator's accuracy on the last training batch of fakes; "" when no record has them."""
    rows = []
    for record in records:
        for stage, values in record.get("diagnostics", {}).items():
            cells = [_cell(values.get(key)) for key in (*DIAGNOSTIC_KEYS, "d_acc_fake", "g_loss_adversarial")]
            rows.append([record["variant"], stage, str(values.get("step", "–")), *cells])
    if not rows:
        return ""
    header = [
        "variant",
        "stage",
        "step",
        "D acc. real (held-out)",
        "D acc. mismatched (held-out)",
        "dead CA units",
        "‖mu‖",
        "D acc. fake (train batch)",
        "G adversarial loss",
    ]
    return markdown_table(header, rows)


METRIC_HEADER = ["FID ↓", "IS ↑", "color acc. ↑", "all 3 colors ↑", "coverage ↑", "CLIP score ↑"]


def _cell(value, digits=3) -> str:
    return "–" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def metric_cells(metrics: dict, stage: str, with_std: bool = False) -> list[str]:
    """One stage of an :func:`~stackgan_hf.evaluation.evaluate_stackgan` result, as the cells of
    :data:`METRIC_HEADER` ("–" where a metric does not apply)."""
    values = metrics["stages"][stage]
    attributes = values.get("attribute_accuracy", {})
    inception = _cell(values["is_mean"], 2) + (f" ± {values['is_std']:.2f}" if with_std else "")
    return [
        _cell(values["fid"], 2),
        inception,
        _cell(attributes.get("mean_color")),
        _cell(attributes.get("all_colors")),
        _cell(metrics.get("coverage", {}).get(stage)),
        _cell(values.get("clip_score"), 2),
    ]


def real_image_cells(metrics: dict) -> list[str] | None:
    """The real images' ceiling in :data:`METRIC_HEADER` cells; None when the result has none."""
    real = metrics.get("real")
    if not real:
        return None
    accuracy = real["attribute_accuracy"]
    coverage = metrics.get("coverage", {}).get("real")
    return ["–", "–", _cell(accuracy["mean_color"]), _cell(accuracy["all_colors"]), _cell(coverage), "–"]


def comparison_table(records: Sequence[dict]) -> str:
    """One row per variant and stage: :data:`METRIC_HEADER`, generator parameters and training time; then
    the real images' ceiling."""
    rows = [
        [
            record["variant"],
            stage,
            *metric_cells(record["metrics"], stage),
            f"{record['parameters'].get(stage + '_generator', 0):,}",
            f"{record['train_seconds']:.0f} s",
        ]
        for record in records
        for stage in record["metrics"]["stages"]
    ]
    real = next((real_image_cells(r["metrics"]) for r in records if r["metrics"].get("real")), None)
    if real:
        rows.append(["real images (ceiling)", "–", *real, "–", "–"])
    return markdown_table(["variant", "stage", *METRIC_HEADER, "G params", "train time"], rows)
