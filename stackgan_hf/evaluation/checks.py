"""Checks that a StackGAN evaluation can mean something, made before anything is generated or trained:
the model was trained on the kind of data it is scored against, the dataset gives the model text it can
read, there are enough real images for an FID, and a reused judge reads the dataset's labels."""

from __future__ import annotations

import json
from pathlib import Path

import datasets

from ..data.loading import SYNTHETIC_BIRDS, SYNTHETIC_BIRDS_ORACLE
from ..utils.config import InputError

#: The fewest real images (and generated samples) an FID is computed from; far more are needed for a
#: stable value, which the metrics JSON reports beside it (``num_real``).
MIN_FID_IMAGES = 8
_SYNTHETIC = (SYNTHETIC_BIRDS, SYNTHETIC_BIRDS_ORACLE)


class EvaluationInputError(InputError):
    """A model, dataset, judge or count that cannot give a meaningful evaluation; the message names it."""


def training_dataset(model: str | Path) -> str | None:
    """The ``dataset`` of the training run saved with ``model`` (its ``*_summary.json``), or None."""
    for summary in sorted(Path(model).glob("*_summary.json")):
        try:
            dataset = json.loads(summary.read_text()).get("config", {}).get("dataset")
        except (OSError, ValueError):
            continue
        if dataset:
            return str(dataset)
    return None


def check_evaluation_inputs(
    pipeline, model: str | Path, dataset: str, test: datasets.Dataset, num_samples: int
) -> None:
    """Raises :class:`EvaluationInputError` when ``pipeline`` (saved at ``model``) cannot be scored on
    ``dataset``'s split ``test`` with ``num_samples`` samples.

    Args:
        pipeline: the loaded ``StackGANPipeline``.
        model: its folder (its training summary names the dataset it was trained on) or Hub id.
        dataset: ``--dataset`` as given.
        test: the split whose captions and real images the model is scored on.
        num_samples: generated images.
    """
    trained_on = training_dataset(model)
    if trained_on is not None and (trained_on in _SYNTHETIC) != (dataset in _SYNTHETIC):
        raise EvaluationInputError(
            f"--model {model} was trained on {trained_on}, but --dataset {dataset} is "
            f"{'synthetic birds' if dataset in _SYNTHETIC else 'a different kind of data'}: its judge and "
            "FID would compare different kinds of images. Evaluate on the kind of data the model was trained "
            "on."
        )
    num_real = min(num_samples, len(test))
    if num_samples < MIN_FID_IMAGES or num_real < MIN_FID_IMAGES:
        raise EvaluationInputError(
            f"--num_samples {num_samples} on {dataset} ({len(test)} real images in the split) gives an FID "
            f"from {num_real} real images: expected at least {MIN_FID_IMAGES} of each (thousands for a "
            "stable FID)."
        )
    if pipeline.text_encoder is None:
        width = pipeline.text_embedding_dim
        if "embeddings" not in test.column_names:
            raise EvaluationInputError(
                f"--model {model} has no text encoder (it reads precomputed {width}-d embeddings) and "
                f"--dataset {dataset} has no `embeddings` column: prepare it with the model's text encoder."
            )
        found = test.features["embeddings"].shape[-1]
        if found != width:
            raise EvaluationInputError(
                f"--dataset {dataset} holds {found}-d `embeddings`, but --model {model} reads {width}-d "
                "ones: the dataset was embedded with another text encoder."
            )


def check_judge(judge, expected_heads: dict[str, int], classifier_dir: str | Path) -> None:
    """Raises :class:`EvaluationInputError` when the judge saved in ``classifier_dir`` was trained for
    other labels than ``expected_heads`` (``{head: number of classes}`` of the dataset)."""
    heads = dict(judge.config.heads)
    if heads != dict(expected_heads):
        raise EvaluationInputError(
            f"--classifier {classifier_dir} judges {heads}, but the dataset's labels are "
            f"{dict(expected_heads)}: it was trained on another dataset. Give the judge of this dataset, or "
            "a new folder to train one."
        )
