"""Evaluation: FID / Inception Score / CLIP score through torchmetrics with Inception or offline classifier
features, conditioning fidelity and attribute coverage on synthetic birds, and MNIST metrics for the DDPM."""

from .classifier import ClassifierFeatures, ClassifierLogits, ImageClassifier, accuracy, fit_classifier
from .metrics import clip_score, frechet_distance, inception_network, inception_score
from .stackgan import evaluate_stackgan, generate_for_captions, train_dataset_classifier

__all__ = [
    "ClassifierFeatures",
    "ClassifierLogits",
    "ImageClassifier",
    "accuracy",
    "clip_score",
    "evaluate_stackgan",
    "fit_classifier",
    "frechet_distance",
    "generate_for_captions",
    "inception_network",
    "inception_score",
    "train_dataset_classifier",
]
