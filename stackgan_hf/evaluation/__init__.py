"""Evaluation: FID / Inception Score / CLIP score through torchmetrics with Inception or offline classifier
features, and conditioning fidelity and attribute coverage on synthetic birds. (The DDPM's MNIST metrics,
built on the same classifier and metrics, are in ``diffusion.evaluation``.)"""

from ..utils.judge import ClassifierFeatures, ClassifierLogits, ImageClassifier, accuracy, fit_classifier
from ..utils.metrics import clip_score, frechet_distance, inception_network, inception_score
from .stackgan import (
    HEADLINE_COLUMNS,
    PromptError,
    asked_colors,
    default_classifier_dir,
    evaluate_stackgan,
    evaluate_stackgan_model,
    generate_for_captions,
    headline_cells,
    headline_figures,
    prompt_fidelity,
    prompts_drawn_right,
    train_dataset_classifier,
)

__all__ = [
    "HEADLINE_COLUMNS",
    "ClassifierFeatures",
    "ClassifierLogits",
    "ImageClassifier",
    "PromptError",
    "accuracy",
    "asked_colors",
    "clip_score",
    "default_classifier_dir",
    "evaluate_stackgan",
    "evaluate_stackgan_model",
    "fit_classifier",
    "frechet_distance",
    "generate_for_captions",
    "headline_cells",
    "headline_figures",
    "inception_network",
    "inception_score",
    "prompt_fidelity",
    "prompts_drawn_right",
    "train_dataset_classifier",
]
