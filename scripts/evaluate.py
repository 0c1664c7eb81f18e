"""Evaluates a StackGAN pipeline or DDPM samples and writes the metrics as JSON.

    # StackGAN on synthetic birds or a prepared CUB folder (offline classifier features by default)
    python scripts/evaluate.py stackgan --model outputs/quickstart --dataset synthetic-birds \
        [--num_samples 1000] [--feature classifier|inception] [--inception_weights PATH] \
        [--clip_model PATH_OR_ID] [--classifier DIR] --output metrics.json

    # DDPM samples (uint8 [N, 28, 28] .npy) against MNIST's test split
    python scripts/evaluate.py ddpm --samples results/ddpm_mnist/samples_1000.npy \
        [--dataset_dir ../shared/data/mnist | --dataset ylecun/mnist] --output metrics.json

The classifier behind the offline features (and the synthetic-birds attribute accuracy) is trained on the
real training split the first time and saved to --classifier (default under outputs/eval_classifiers/),
then reused, so successive evaluations share one judge.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np


def _stackgan(args) -> dict:
    from stackgan_hf import StackGANPipeline
    from stackgan_hf.data import load_stackgan_dataset
    from stackgan_hf.evaluation import evaluate_stackgan, inception_network
    from stackgan_hf.evaluation.classifier import load_or_train
    from stackgan_hf.evaluation.stackgan import train_dataset_classifier

    def split(name):
        return load_stackgan_dataset(
            args.dataset,
            split=name,
            synthetic_num_images=args.synthetic_num_images,
            synthetic_image_size=304,
            seed=args.data_seed,
        )

    train, test = split("train"), split(args.split)
    classifier_dir = Path(args.classifier or _default_classifier_dir(args))

    def train_judge():
        print(f"Training the evaluation classifier on {len(train)} real images -> {classifier_dir}")
        return train_dataset_classifier(train, steps=args.classifier_steps, seed=args.seed)

    classifier = load_or_train(classifier_dir, train_judge)
    feature = logits = None
    if args.feature == "inception":
        feature = inception_network(args.inception_weights, "2048")
        logits = inception_network(args.inception_weights, "logits_unbiased")
    pipeline = StackGANPipeline.from_pretrained(args.model)
    metrics = evaluate_stackgan(
        pipeline,
        test,
        train=train,
        num_samples=args.num_samples,
        classifier=classifier,
        feature=feature,
        logits=logits,
        clip_model=args.clip_model,
        seed=args.seed,
    )
    metrics.update(
        model=args.model,
        dataset=args.dataset,
        split=args.split,
        feature=args.feature,
        classifier=str(classifier_dir),
    )
    return metrics


def _default_classifier_dir(args) -> str:
    if args.dataset in ("synthetic-birds", "synthetic-birds-oracle"):  # same images: one judge
        name = f"synthetic-birds-{args.synthetic_num_images}-seed{args.data_seed}"
    else:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(Path(args.dataset).resolve()).strip("/"))
    return f"outputs/eval_classifiers/{name}-{args.classifier_steps}steps"


def _ddpm(args) -> dict:
    from diffusion.data import load_mnist
    from stackgan_hf.evaluation.classifier import load_or_train
    from stackgan_hf.evaluation.mnist import evaluate_mnist_samples, train_mnist_classifier

    samples = np.load(args.samples)
    if samples.dtype != np.uint8 or samples.ndim != 3:
        raise SystemExit(
            f"{args.samples}: expected uint8 [N, 28, 28] digits, got {samples.dtype} {samples.shape}."
        )
    classifier_dir = Path(args.classifier or "outputs/eval_classifiers/mnist")

    def train_judge():
        train = load_mnist(args.dataset, args.dataset_dir, split="train").with_format("numpy")
        print(f"Training the MNIST classifier on {len(train)} digits -> {classifier_dir}")
        images = np.stack([np.asarray(image) for image in train["image"]])
        return train_mnist_classifier(images, np.asarray(train["label"]), steps=args.classifier_steps)

    classifier = load_or_train(classifier_dir, train_judge)
    test = load_mnist(args.dataset, args.dataset_dir, split="test")
    real = np.stack([np.asarray(image) for image in test["image"]])
    metrics = evaluate_mnist_samples(samples, real, np.asarray(test["label"]), classifier)
    metrics.update(samples=args.samples, classifier=str(classifier_dir))
    return metrics


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    stackgan = commands.add_parser("stackgan", help="evaluate a StackGANPipeline")
    stackgan.add_argument("--model", required=True, help="pipeline folder or Hub repo id")
    stackgan.add_argument("--dataset", default="synthetic-birds", help="synthetic-birds or a prepared folder")
    stackgan.add_argument("--split", default="test", help="captions and real images to compare with")
    stackgan.add_argument("--synthetic_num_images", type=int, default=2048, help="as in the training config")
    stackgan.add_argument("--data_seed", type=int, default=0, help="synthetic birds: the training seed")
    stackgan.add_argument("--num_samples", type=int, default=1000)
    stackgan.add_argument("--feature", choices=["classifier", "inception"], default="classifier")
    stackgan.add_argument("--inception_weights", default=None, help="local Inception weights (offline)")
    stackgan.add_argument("--clip_model", default=None, help="CLIP folder or Hub id for the CLIP score")
    stackgan.add_argument("--classifier_steps", type=int, default=1200)
    ddpm = commands.add_parser("ddpm", help="evaluate MNIST samples of the DDPM")
    ddpm.add_argument("--samples", required=True, help="uint8 [N, 28, 28] .npy")
    ddpm.add_argument("--dataset", default="ylecun/mnist")
    ddpm.add_argument("--dataset_dir", default=None, help="parquet folder in ylecun/mnist's schema")
    ddpm.add_argument("--classifier_steps", type=int, default=1500)
    for command in (stackgan, ddpm):
        command.add_argument("--classifier", default=None, help="classifier folder: loaded, or trained+saved")
        command.add_argument("--seed", type=int, default=0)
        command.add_argument("--output", default=None, help="JSON file (default: print only)")
    args = parser.parse_args(argv)
    metrics = _stackgan(args) if args.command == "stackgan" else _ddpm(args)
    text = json.dumps(metrics, indent=2)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text + "\n")
    print(text)
    return metrics


if __name__ == "__main__":
    sys.exit(main() and 0)
