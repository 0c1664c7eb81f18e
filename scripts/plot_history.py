"""Plots a StackGAN run's loss and discriminator-accuracy curves from its stage<N>_history.jsonl.

python scripts/plot_history.py RUN_DIR/stage1_history.jsonl OUT.png [--title "Stage-I"]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stackgan_hf.training.trainer import read_history
from stackgan_hf.utils.cli import run_script
from stackgan_hf.visualization import plot_training_history


def check_plot_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuses a history that is missing or empty and an output matplotlib cannot write, before plotting."""
    history = Path(args.history)
    if not history.is_file():
        parser.error(f"{history}: no such file (expected RUN_DIR/stage<N>_history.jsonl)")
    if not any(line.strip() for line in history.read_text(errors="replace").splitlines()):
        parser.error(f"{history} is empty: the run logged no step yet")
    suffix = Path(args.output).suffix.lower().lstrip(".")
    if suffix not in ("png", "pdf", "svg", "jpg", "jpeg"):
        parser.error(f"{args.output}: expected an image file name ending in .png, .pdf, .svg or .jpg")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("history")
    parser.add_argument("output")
    parser.add_argument("--title", default="")
    args = parser.parse_args(argv)
    check_plot_args(parser, args)
    try:
        history = read_history(args.history)
    except (json.JSONDecodeError, KeyError) as error:
        parser.error(
            f"{args.history}: not a training history (one JSON record with a step per line): {error}"
        )
    plot_training_history(history, args.output, title=args.title)
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    run_script(main)
