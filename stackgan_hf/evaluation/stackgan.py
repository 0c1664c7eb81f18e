"""Evaluating a ``StackGANPipeline`` on the captions of a dataset split.

``evaluate_stackgan`` generates one image per caption (Stage-I, and Stage-II when the pipeline has it) and
reports, per stage:

* ``fid`` against the split's real images, and the Inception-style score ``is_mean``/``is_std``, with the
  feature network given (Inception, or the offline classifier of :mod:`.classifier`);
* ``clip_score`` when a CLIP model is given;
* on synthetic birds, from an attribute classifier trained on real synthetic birds:
  ``attribute_accuracy``: the share of generated birds whose crown / wing / breast colors are those of the
  caption that produced them (conditioning fidelity; ``all_colors``: all three right), next to the same
  classifier's accuracy on the real images of those captions (``real``: the ceiling); and ``coverage``:
  the share of the training set's color combinations that appear among samples generated from training
  captions (a mode-collapse diagnostic), next to the real images' coverage for the same captions.

``prompt_fidelity`` judges a few fixed prompts (a run's validation prompts) the same way, each drawn many
times: how often each asked color lands on its part, and which color triple the model draws most.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import datasets
import numpy as np
import torch

from ..data import load_stackgan_dataset
from ..data.transforms import center_crops
from ..pipeline_stackgan import StackGANPipeline
from ..utils.judge import (
    ClassifierFeatures,
    ClassifierLogits,
    ImageClassifier,
    accuracy,
    fit_classifier,
    load_or_train,
)
from ..utils.metrics import clip_score, frechet_distance, inception_network, inception_score
from .checks import check_evaluation_inputs, check_judge

COLOR_HEADS = ("crown_color", "wing_color", "breast_color")
STAGE_SIZE = {"stage1": 64, "stage2": 256, "stage1_bicubic": 256}


def bicubic_upsample(images: torch.Tensor, size: int) -> torch.Tensor:
    """``[N, 3, h, w]`` in ``[0, 1]`` -> ``[N, 3, size, size]``, bicubic, clamped to ``[0, 1]``."""
    upsampled = torch.nn.functional.interpolate(images, size=(size, size), mode="bicubic")
    return upsampled.clamp(0, 1)


def attribute_heads(dataset: datasets.Dataset) -> dict[str, int]:
    """Classifier heads for a dataset: its ``ClassLabel`` attribute columns (synthetic birds), else
    ``class_id`` with as many outputs as the largest id + 1."""
    heads = {
        name: feature.num_classes
        for name, feature in dataset.features.items()
        if isinstance(feature, datasets.ClassLabel)
    }
    if heads:
        return heads
    if "class_id" not in dataset.column_names:
        raise ValueError(
            f"The dataset has no labels to train a classifier on (columns {dataset.column_names})."
        )
    return {"class_id": int(max(dataset["class_id"])) + 1}


def train_dataset_classifier(
    train: datasets.Dataset,
    steps: int = 1200,
    base_channels: int = 32,
    seed: int = 0,
    device: str = "cpu",
    image_size: int = 64,
) -> ImageClassifier:
    """An :class:`ImageClassifier` for ``train``'s labels (:func:`attribute_heads`) at ``image_size``, trained
    with the GAN's augmentation (random crops of the load size, flips). The 64x64 judge also sees random blur
    and noise (it reads colors and shapes, not artifacts); a larger judge does not, since the detail a
    higher stage adds is what it is there to see."""
    heads = attribute_heads(train)
    classifier = ImageClassifier(heads=heads, image_size=image_size, base_channels=base_channels).to(device)
    images = center_crops(train["image"], image_size, as_training=False)
    labels = {name: np.asarray(train[name]) for name in heads}
    fit_classifier(
        classifier,
        images,
        labels,
        steps=steps,
        horizontal_flips=True,
        crop_size=image_size,
        degrade=image_size <= 64,
        seed=seed,
    )
    return classifier


@torch.inference_mode()
def generate_for_captions(
    pipeline,
    captions: Sequence[str],
    seed: int = 0,
    batch_size: int = 64,
    prompt_embeds: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """``{"stage1": [N, 3, 64, 64], "stage2": [N, 3, 256, 256] (if any)}`` in ``[0, 1]``, one image per
    caption (or per row of ``prompt_embeds``, for a pipeline without text encoder); batch ``b`` uses
    ``torch.Generator().manual_seed(seed + b)``."""
    stage1, stage2 = [], []
    for number, start in enumerate(range(0, len(captions), batch_size)):
        text = {"prompt": list(captions[start : start + batch_size])}
        if prompt_embeds is not None:
            text = {"prompt_embeds": prompt_embeds[start : start + batch_size]}
        out = pipeline(
            **text,
            generator=torch.Generator().manual_seed(seed + number),
            output_type="pt",
        )
        stage1.append(out.stage1_images.float().cpu())
        if pipeline.stage2_generator is not None:
            stage2.append(out.images.float().cpu())
    images = {"stage1": torch.cat(stage1)}
    if stage2:
        images["stage2"] = torch.cat(stage2)
    return images


def _captions_for(rows: datasets.Dataset, num_samples: int, seed: int, embeddings: bool = False):
    """``num_samples`` (row, caption) picks: every row in turn, a seeded random caption of it each time.
    Returns the rows, the captions and (``embeddings=True``) those captions' precomputed embeddings."""
    rng = np.random.default_rng(seed)
    indices = [i % len(rows) for i in range(num_samples)]
    all_captions = rows["captions"]
    choices = [int(rng.integers(len(all_captions[i]))) for i in indices]
    captions = [all_captions[i][c] for i, c in zip(indices, choices)]
    if not embeddings:
        return indices, captions, None
    if "embeddings" not in rows.column_names:
        raise ValueError("The pipeline has no text encoder and the dataset no `embeddings` column.")
    table = rows.select_columns(["embeddings"]).with_format("numpy")
    embeds = np.stack([table[i]["embeddings"][c] for i, c in zip(indices, choices)])
    return indices, captions, torch.from_numpy(embeds.astype(np.float32))


def _color_combinations(predicted: dict[str, np.ndarray]) -> set[tuple[int, ...]]:
    return set(zip(*(predicted[name].tolist() for name in COLOR_HEADS)))


def _attribute_scores(predicted: dict, truth: dict) -> dict[str, float]:
    scores = accuracy({k: v for k, v in predicted.items() if k in COLOR_HEADS}, truth)
    scores["mean_color"] = float(np.mean([scores[name] for name in COLOR_HEADS]))
    scores["all_colors"] = float(
        np.mean(np.all([predicted[name] == truth[name] for name in COLOR_HEADS], axis=0))
    )
    # Looser: the share of the caption's colors drawn on *some* part (a generator that gets the palette
    # right but the parts mixed up scores here, not above). Random guesses score about 1 - (7/8)^3 = 0.33.
    drawn = np.stack([predicted[name] for name in COLOR_HEADS], axis=1)
    asked = np.stack([truth[name] for name in COLOR_HEADS], axis=1)
    recalls = [len(set(a) & set(d)) / len(set(a)) for a, d in zip(asked.tolist(), drawn.tolist())]
    scores["color_set_recall"] = float(np.mean(recalls))
    return scores


def evaluate_stackgan(
    pipeline,
    test: datasets.Dataset,
    train: datasets.Dataset | None = None,
    num_samples: int = 1000,
    classifier: ImageClassifier | None = None,
    feature: torch.nn.Module | None = None,
    logits: torch.nn.Module | None = None,
    clip_model=None,
    seed: int = 0,
    batch_size: int = 64,
    r_precision_encoders=None,
) -> dict:
    """Metrics of ``pipeline`` on ``test``'s captions (see the module docstring).

    ``r_precision_encoders``: fixed evaluation encoders (``load_joint_encoders`` of a
    ``train_text_encoder.py`` folder) for AttnGAN's R-precision (the true caption against 99 others).

    ``feature`` / ``logits``: FID features and IS logits (default: ``classifier``'s). ``train``: the
    training split, for coverage (synthetic birds). ``clip_model``: a local CLIP folder / Hub id, or a
    callable returning ``(model, processor)``.
    """
    if classifier is None and (feature is None or logits is None):
        raise ValueError("Give a classifier, or both feature and logits networks.")
    feature = feature or ClassifierFeatures(classifier)
    logits = logits or ClassifierLogits(classifier, heads=_joint_heads(classifier))
    birds = classifier is not None and all(name in classifier.config.heads for name in COLOR_HEADS)

    start = time.perf_counter()
    precomputed = getattr(pipeline, "text_encoder", True) is None
    indices, captions, embeds = _captions_for(test, num_samples, seed, embeddings=precomputed)
    generated = generate_for_captions(pipeline, captions, seed, batch_size, prompt_embeds=embeds)
    if "stage2" in generated:  # the baseline Stage-II has to beat: Stage-I upsampled bicubically
        generated["stage1_bicubic"] = bicubic_upsample(generated["stage1"], STAGE_SIZE["stage2"])
    rows = test.select(sorted(set(indices)))
    position = {index: i for i, index in enumerate(sorted(set(indices)))}
    results: dict = {"num_samples": num_samples, "num_real": len(rows), "stages": {}}
    # Real images: decoded once, cropped once per size (64 for the judge, each stage's for its FID, and at
    # least the judge's own size, so that a larger judge compares every stage with sharp real images).
    real_images = rows["image"]
    judge_size = int(getattr(getattr(classifier, "config", None), "image_size", 64))
    reference_size = {stage: max(STAGE_SIZE[stage], judge_size) for stage in generated}
    sizes = set(reference_size.values()) | ({64} if birds else set())
    real_crops = {size: center_crops(real_images, size) for size in sizes}
    truth = {}
    if birds:
        real_truth = {name: np.asarray(rows[name]) for name in COLOR_HEADS}
        truth = {name: values[[position[i] for i in indices]] for name, values in real_truth.items()}
        real_predicted = classifier.predict(real_crops[64])
        results["real"] = {"attribute_accuracy": _attribute_scores(real_predicted, real_truth)}

    for stage, images in generated.items():
        real = (real_crops[reference_size[stage]] + 1) / 2
        metrics = {"fid": frechet_distance(real, images, feature)}
        metrics["is_mean"], metrics["is_std"] = inception_score(images, logits)
        if clip_model is not None:
            metrics["clip_score"] = clip_score(images, captions, clip_model)
        if r_precision_encoders is not None:
            from ..training.text_encoder import r_precision

            metrics["r_precision"] = r_precision(images, captions, r_precision_encoders, seed=seed)
        if birds:
            predicted = classifier.predict(images * 2 - 1)
            metrics["attribute_accuracy"] = _attribute_scores(predicted, truth)
        results["stages"][stage] = metrics

    if birds and train is not None:
        results["coverage"] = _coverage(pipeline, train, classifier, num_samples, seed, batch_size)
    results["seconds"] = round(time.perf_counter() - start, 1)
    return results


class PromptError(ValueError):
    """A prompt to judge that names no color for a part, or prompts asked of a dataset without colors."""


#: The words a prompt may use for each judged part, as in the synthetic birds' captions ("a red crown",
#: "red-crowned", "a red head", "blue wing feathers", "a yellow chest").
_PART_WORDS = {
    "crown_color": r"crown|crowned|head|headed",
    "wing_color": r"wings?|winged",
    "breast_color": r"breast|breasted|chest|chested|belly|bellied",
}


def asked_colors(prompt: str, color_names: Sequence[str]) -> dict[str, int]:
    """``{"crown_color": i, "wing_color": j, "breast_color": k}``: the index in ``color_names`` of the color
    each part is given in ``prompt`` (written "a red crown" or "red-crowned"). A part named with no color,
    or with two different ones, is a :class:`PromptError` naming the prompt."""
    colors = "|".join(re.escape(name) for name in color_names)
    asked = {}
    for head, words in _PART_WORDS.items():
        found = {m.group(1) for m in re.finditer(rf"\b({colors})[ -](?:{words})\b", prompt.lower())}
        if len(found) != 1:
            part = head.removesuffix("_color")
            raise PromptError(
                f"Prompt {prompt!r}: expected one color of {list(color_names)} before '{part}' "
                f"(as in 'a red {part}'), found {sorted(found) or 'none'}."
            )
        asked[head] = list(color_names).index(found.pop())
    return asked


@torch.inference_mode()
def prompt_fidelity(
    pipeline,
    prompts: Sequence[str],
    classifier: ImageClassifier,
    color_names: Sequence[str],
    num_images: int = 64,
    seed: int = 0,
) -> list[dict]:
    """Each prompt drawn ``num_images`` times (the same noise for every prompt) and judged per stage: the
    share of images with each asked color on its part, with all three (``all_colors``), and the color
    triple drawn most often with its share (``most_drawn``), e.g. ``"red/blue/yellow"``."""
    results = []
    for prompt in prompts:
        asked = asked_colors(prompt, color_names)
        truth = {head: np.full(num_images, index) for head, index in asked.items()}
        generated = generate_for_captions(pipeline, [prompt] * num_images, seed, batch_size=num_images)
        asked_names = "/".join(color_names[asked[head]] for head in COLOR_HEADS)
        row = {"prompt": prompt, "asked": asked_names, "stages": {}}
        for stage, images in generated.items():
            predicted = classifier.predict(images * 2 - 1)
            scores = _attribute_scores(predicted, truth)
            triples = Counter(zip(*(predicted[head].tolist() for head in COLOR_HEADS)))
            triple, count = triples.most_common(1)[0]
            row["stages"][stage] = {
                **{head: scores[head] for head in COLOR_HEADS},
                "all_colors": scores["all_colors"],
                "most_drawn": "/".join(color_names[i] for i in triple),
                "most_drawn_share": count / num_images,
            }
        results.append(row)
    return results


#: A fixed prompt is drawn right when at least this share of its images has all three colors right, at every
#: stage judged (the README's and results/conditioning/*'s "fixed prompts right").
PROMPT_RIGHT_SHARE = 0.5


def prompts_drawn_right(prompts: Sequence[dict], share: float = PROMPT_RIGHT_SHARE) -> int:
    """How many of :func:`prompt_fidelity`'s results (the ``"prompts"`` of an evaluation JSON) are drawn
    right: ``all_colors`` at least ``share`` at every stage."""
    return sum(min(stage["all_colors"] for stage in p["stages"].values()) >= share for p in prompts)


def headline_figures(metrics: dict) -> dict:
    """The figures the results tables report from an evaluation JSON with ``--prompts``: Stage-I's color per
    part, crown, all three parts, palette recall, coverage and judge-FID; Stage-II's color per part; the
    fixed prompts drawn right (:func:`prompts_drawn_right`) and how many there are."""
    stage1 = metrics["stages"]["stage1"]
    accuracy = stage1["attribute_accuracy"]
    return {
        "color_per_part": accuracy["mean_color"],
        "crown": accuracy["crown_color"],
        "all_colors": accuracy["all_colors"],
        "palette_recall": accuracy["color_set_recall"],
        "coverage": metrics["coverage"]["stage1"],
        "fid": stage1["fid"],
        "stage2_color_per_part": metrics["stages"]["stage2"]["attribute_accuracy"]["mean_color"],
        "prompts_right": prompts_drawn_right(metrics["prompts"]),
        "prompts": len(metrics["prompts"]),
    }


#: The columns of :func:`headline_cells`, as a markdown table header and its alignment row.
HEADLINE_COLUMNS = (
    "Stage-I color per part ↑ | all three ↑ | palette recall ↑ | coverage ↑ | judge-FID ↓ "
    "| Stage-II color per part ↑ | prompts right (Stage-I/II share of images all right)",
    "---:|---:|---:|---:|---:|---:|---",
)


def headline_cells(metrics: dict) -> str:
    """:func:`headline_figures` of an evaluation JSON as the markdown cells of :data:`HEADLINE_COLUMNS`; the
    last cell also gives each fixed prompt's share of images with all three colors right, Stage-I/II."""
    figures = headline_figures(metrics)
    shares = " ".join(
        f"{p['stages']['stage1']['all_colors']:.2f}/{p['stages']['stage2']['all_colors']:.2f}"
        for p in metrics["prompts"]
    )
    return (
        f"{figures['color_per_part']:.3f} | {figures['all_colors']:.3f} | {figures['palette_recall']:.3f} "
        f"| {figures['coverage']:.3f} | {figures['fid']:.0f} | {figures['stage2_color_per_part']:.3f} "
        f"| {figures['prompts_right']} of {figures['prompts']} ({shares})"
    )


def _joint_heads(classifier: ImageClassifier) -> list[str]:
    """The IS label: the color combination on synthetic birds, the class elsewhere."""
    if all(name in classifier.config.heads for name in COLOR_HEADS):
        return list(COLOR_HEADS)
    return list(classifier.config.heads)[:1]


def _coverage(pipeline, train, classifier, num_samples, seed, batch_size) -> dict:
    """Share of the training set's color combinations among samples for ``num_samples`` training
    captions, for each stage and for the real images of those captions."""
    train_combinations = set(zip(*(train[name] for name in COLOR_HEADS)))
    precomputed = getattr(pipeline, "text_encoder", True) is None
    indices, captions, embeds = _captions_for(train, num_samples, seed + 1, embeddings=precomputed)
    generated = generate_for_captions(pipeline, captions, seed + 1, batch_size, prompt_embeds=embeds)
    rows = train.select(sorted(set(indices)))
    real_found = _color_combinations(classifier.predict(center_crops(rows["image"], 64)))
    coverage = {
        "train_combinations": len(train_combinations),
        "real": len(real_found & train_combinations) / len(train_combinations),
    }
    for stage, images in generated.items():
        found = _color_combinations(classifier.predict(images * 2 - 1))
        coverage[stage] = len(found & train_combinations) / len(train_combinations)
    return coverage


# ----------------------------------------------------------------------------------------------------------
# scripts/evaluate.py stackgan: a saved model on a dataset, judged by a cached classifier
# ----------------------------------------------------------------------------------------------------------


def default_classifier_dir(
    dataset: str,
    synthetic_num_images: int = 2048,
    data_seed: int = 0,
    classifier_steps: int = 1200,
    judge_image_size: int = 64,
) -> str:
    """Where the judge of ``dataset`` is cached: one folder per training set, number of steps and size."""
    if dataset in ("synthetic-birds", "synthetic-birds-oracle"):  # same images: one judge
        name = f"synthetic-birds-{synthetic_num_images}-seed{data_seed}"
    else:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(Path(dataset).resolve()).strip("/"))
    size = "" if judge_image_size == 64 else f"-{judge_image_size}px"
    return f"outputs/eval_classifiers/{name}-{classifier_steps}steps{size}"


def evaluate_stackgan_model(
    model: str | Path,
    dataset: str = "synthetic-birds",
    split: str = "test",
    synthetic_num_images: int = 2048,
    data_seed: int = 0,
    num_samples: int = 1000,
    feature: str = "classifier",
    inception_weights: str | None = None,
    clip_model: str | None = None,
    classifier: str | Path | None = None,
    classifier_steps: int = 1200,
    judge_image_size: int = 64,
    seed: int = 0,
    r_precision_encoder: str | Path | None = None,
    prompts: Sequence[str] | None = None,
    prompt_images: int = 64,
) -> dict:
    """:func:`evaluate_stackgan` of the pipeline ``model`` (folder or Hub id) on ``dataset``'s ``split``
    (``synthetic-birds`` or a prepared folder), with what was evaluated added to the metrics.

    The judge (``feature="classifier"``: also the FID/IS features) is loaded from the ``classifier``
    folder (default :func:`default_classifier_dir`) or, where there is none, trained on the real training
    split for ``classifier_steps`` steps at ``judge_image_size`` and saved there. ``feature="inception"``:
    FID/IS on Inception (``inception_weights``: a local weights file, for offline use).
    ``r_precision_encoder``: a ``train_text_encoder.py`` folder whose encoders score AttnGAN's R-precision.

    ``prompts`` (synthetic birds): also :func:`prompt_fidelity` of these prompts, ``prompt_images`` images
    each, under ``"prompts"``; an empty list takes the run's validation prompts from the training summary
    (``*_summary.json``) in the ``model`` folder."""
    if feature not in ("classifier", "inception"):
        raise ValueError(f"feature must be 'classifier' or 'inception', got {feature!r}.")
    pipeline = StackGANPipeline.from_pretrained(model)  # first: a wrong path fails before the slow parts
    if prompts is not None and not prompts:
        prompts = _validation_prompts(Path(model))
    encoders = None
    if r_precision_encoder is not None:
        from ..training.text_encoder import load_joint_encoders

        encoders = load_joint_encoders(r_precision_encoder)

    def load(name):
        return load_stackgan_dataset(
            dataset,
            split=name,
            synthetic_num_images=synthetic_num_images,
            synthetic_image_size=304,
            seed=data_seed,
        )

    train, test = load("train"), load(split)
    check_evaluation_inputs(pipeline, model, dataset, test, num_samples)  # before the slow parts
    color_names = _check_prompts(prompts, train, dataset) if prompts is not None else None
    judge_dir = default_classifier_dir(
        dataset, synthetic_num_images, data_seed, classifier_steps, judge_image_size
    )
    classifier_dir = Path(classifier or judge_dir)
    judge = _judge(classifier_dir, train, classifier_steps, seed, judge_image_size)
    feature_net = logits_net = None
    if feature == "inception":
        feature_net = inception_network(inception_weights, "2048")
        logits_net = inception_network(inception_weights, "logits_unbiased")
    metrics = evaluate_stackgan(
        pipeline,
        test,
        train=train,
        num_samples=num_samples,
        classifier=judge,
        feature=feature_net,
        logits=logits_net,
        clip_model=clip_model,
        seed=seed,
        r_precision_encoders=encoders,
    )
    if prompts is not None:
        metrics["prompts"] = prompt_fidelity(pipeline, prompts, judge, color_names, prompt_images, seed)
    if r_precision_encoder is not None:
        metrics["r_precision_encoder"] = str(r_precision_encoder)
    metrics.update(model=model, dataset=dataset, split=split, feature=feature, classifier=str(classifier_dir))
    return metrics


def _check_prompts(prompts: Sequence[str], train, dataset: str) -> list[str]:
    """The dataset's color names, once every prompt is checked to name colors of them (before any compute)."""
    if not all(name in train.features for name in COLOR_HEADS):
        raise PromptError(f"--prompts needs bird color labels (synthetic birds); {dataset!r} has none.")
    color_names = train.features[COLOR_HEADS[0]].names
    for prompt in prompts:
        asked_colors(prompt, color_names)
    return color_names


def _judge(classifier_dir: Path, train, steps: int, seed: int, image_size: int) -> ImageClassifier:
    """The judge saved in ``classifier_dir``, or one trained on ``train`` and saved there."""

    def train_judge():
        print(f"Training the evaluation classifier on {len(train)} real images -> {classifier_dir}")
        return train_dataset_classifier(train, steps=steps, seed=seed, image_size=image_size)

    judge = load_or_train(classifier_dir, train_judge)
    check_judge(judge, attribute_heads(train), classifier_dir)
    return judge


def _validation_prompts(model: Path) -> list[str]:
    """The ``validation_prompts`` of the training run saved in ``model`` (its ``*_summary.json``)."""
    for summary in sorted(model.glob("*_summary.json"), reverse=True):  # stage2 before stage1
        prompts = json.loads(summary.read_text()).get("config", {}).get("validation_prompts")
        if prompts:
            return list(prompts)
    raise PromptError(
        f"{model}: no training summary (*_summary.json) with validation_prompts; give --prompts its prompts."
    )
