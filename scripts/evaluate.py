"""Evaluates a StackGAN pipeline or DDPM samples and writes the metrics as JSON.

    # StackGAN on synthetic birds or a prepared CUB folder (offline classifier features by default)
    python scripts/evaluate.py stackgan --model outputs/quickstart --dataset synthetic-birds \
        [--num_samples 1000] [--feature classifier|inception] [--inception_weights PATH] \
        [--clip_model PATH_OR_ID] [--classifier DIR] [--r_precision_encoder DIR] \
        [--prompts [PROMPT ...]] [--prompt_images 64] --output metrics.json

    # DDPM samples (uint8 [N, 28, 28] .npy) against MNIST's test split
    python scripts/evaluate.py ddpm --samples results/ddpm_mnist/samples_1000.npy \
        [--dataset_dir ../shared/data/mnist | --dataset ylecun/mnist] --output metrics.json

The classifier behind the offline features (and the synthetic-birds attribute accuracy) is trained on the
real training split the first time and saved to --classifier (default under outputs/eval_classifiers/),
then reused, so successive evaluations share one judge. The work is done by
`stackgan_hf.evaluation.evaluate_stackgan_model` and `diffusion.evaluation.evaluate_ddpm_samples`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from diffusion.data import MnistDataError
from diffusion.evaluation import DigitSamplesError, evaluate_ddpm_samples
from stackgan_hf.data.loading import UnknownSplitError
from stackgan_hf.evaluation import PromptError, evaluate_stackgan_model
from stackgan_hf.evaluation.checks import EvaluationInputError
from stackgan_hf.utils.cli import USER_ERRORS, non_negative_int, positive_int, run_script
from stackgan_hf.utils.hub import check_model_path


def check_paths(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuses, before any compute, files that are not there and outputs that cannot be written."""
    for option in ("inception_weights", "samples", "labels"):
        path = getattr(args, option, None)
        if path is not None and not Path(path).is_file():
            parser.error(f"--{option} {path}: no such file")
    for option in ("clip_model", "r_precision_encoder"):
        path = getattr(args, option, None)
        if path is not None:
            try:
                check_model_path(path, index_file="config.json")
            except FileNotFoundError as error:
                parser.error(f"--{option}: {error}")
    if args.classifier is not None and Path(args.classifier).exists() and not Path(args.classifier).is_dir():
        parser.error(
            f"--classifier {args.classifier} is a file; expected a judge folder (loaded, or trained)"
        )
    if args.output is not None and Path(args.output).is_dir():
        parser.error(f"--output {args.output} is a folder; expected a JSON file name")
    if args.output is not None and Path(args.output).exists() and not args.overwrite:
        parser.error(
            f"--output {args.output} already exists: pass --overwrite to replace it, or another file name"
        )


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    stackgan = commands.add_parser("stackgan", help="evaluate a StackGANPipeline")
    stackgan.add_argument("--model", required=True, help="pipeline folder or Hub repo id")
    stackgan.add_argument("--dataset", default="synthetic-birds", help="synthetic-birds or a prepared folder")
    stackgan.add_argument("--split", default="test", help="captions and real images to compare with")
    stackgan.add_argument(
        "--synthetic_num_images", type=positive_int, default=2048, help="as in the training config"
    )
    stackgan.add_argument(
        "--data_seed", type=non_negative_int, default=0, help="synthetic birds: the training seed"
    )
    stackgan.add_argument("--num_samples", type=positive_int, default=1000)
    stackgan.add_argument("--feature", choices=["classifier", "inception"], default="classifier")
    stackgan.add_argument("--inception_weights", default=None, help="local Inception weights (offline)")
    stackgan.add_argument("--clip_model", default=None, help="CLIP folder or Hub id for the CLIP score")
    stackgan.add_argument("--classifier_steps", type=positive_int, default=1200)
    stackgan.add_argument(
        "--judge_image_size",
        type=int,
        choices=[64, 128],
        default=64,
        help="the judge's input size; 128 (trained without blur) also sees the detail Stage-II adds",
    )
    stackgan.add_argument(
        "--r_precision_encoder",
        default=None,
        help="train_text_encoder.py folder: AttnGAN's R-precision with it",
    )
    stackgan.add_argument(
        "--prompts",
        nargs="*",
        default=None,
        help="synthetic birds: also judge these prompts, each drawn --prompt_images times "
        "(no value: the run's validation prompts)",
    )
    stackgan.add_argument("--prompt_images", type=positive_int, default=64)
    ddpm = commands.add_parser("ddpm", help="evaluate MNIST samples of the DDPM")
    ddpm.add_argument("--samples", required=True, help="uint8 [N, 28, 28] .npy")
    ddpm.add_argument("--dataset", default="ylecun/mnist")
    ddpm.add_argument("--dataset_dir", default=None, help="parquet folder in ylecun/mnist's schema")
    ddpm.add_argument("--classifier_steps", type=positive_int, default=1500)
    ddpm.add_argument(
        "--labels", default=None, help="a class-conditional model's asked digits, .npy of N ints 0-9"
    )
    for command in (stackgan, ddpm):
        command.add_argument("--classifier", default=None, help="classifier folder: loaded, or trained+saved")
        command.add_argument("--seed", type=non_negative_int, default=0)
        command.add_argument("--output", default=None, help="JSON file (default: print only)")
        command.add_argument("--overwrite", action="store_true", help="replace an existing --output file")
    args = parser.parse_args(argv)
    check_paths(parser, args)
    options = {k: v for k, v in vars(args).items() if k not in ("command", "output", "overwrite")}
    if args.command == "stackgan":
        metrics = evaluate_stackgan_model(**options)
    else:
        del options["seed"]  # the MNIST classifier trains with its own fixed seed
        metrics = evaluate_ddpm_samples(**options)
    text = json.dumps(metrics, indent=2)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text + "\n")
    print(text)
    return metrics


if __name__ == "__main__":
    errors = (MnistDataError, DigitSamplesError, PromptError, EvaluationInputError, UnknownSplitError)
    run_script(main, (*USER_ERRORS, *errors))
