"""Plots a StackGAN run's loss and discriminator-accuracy curves from its stage<N>_history.jsonl.

python scripts/plot_history.py RUN_DIR/stage1_history.jsonl OUT.png [--title "Stage-I"]
"""

from __future__ import annotations

import argparse

from stackgan_hf.cli import run_script
from stackgan_hf.training.trainer import read_history
from stackgan_hf.visualization import plot_training_history


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("history")
    parser.add_argument("output")
    parser.add_argument("--title", default="")
    args = parser.parse_args(argv)
    plot_training_history(read_history(args.history), args.output, title=args.title)
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    run_script(main)
