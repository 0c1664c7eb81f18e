"""The discriminator's held-out matching accuracy of trained Stage-I runs over a whole split: every image
with its own caption (real) and with a caption of another class (mismatched), scored as in training.

    python scripts/heldout_accuracy.py --dataset .data/cub50 --output heldout.json RUN_DIR [RUN_DIR ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stackgan_hf import StackGANPipeline
from stackgan_hf.data import load_stackgan_dataset
from stackgan_hf.data.loading import UnknownSplitError
from stackgan_hf.models import StackGANStage1Discriminator
from stackgan_hf.training.diagnostics import heldout_matching_accuracy
from stackgan_hf.utils.cli import USER_ERRORS, non_negative_int, run_script
from stackgan_hf.utils.hub import check_model_path


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", help="Stage-I run folders (pipeline + discriminator/)")
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    for run in args.runs:  # every run checked before the dataset is read
        check_model_path(run)
        check_model_path(Path(run) / "discriminator", index_file="config.json")
    if args.output is not None and Path(args.output).is_dir():
        parser.error(f"--output {args.output} is a folder; expected a JSON file name")
    split = load_stackgan_dataset(args.dataset, split=args.split)
    results = {}
    for run in args.runs:
        pipeline = StackGANPipeline.from_pretrained(run)
        discriminator = StackGANStage1Discriminator.from_pretrained(Path(run) / "discriminator")
        results[Path(run).name] = heldout_matching_accuracy(pipeline, discriminator, split, seed=args.seed)
        print(Path(run).name, results[Path(run).name], flush=True)
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    run_script(main, (*USER_ERRORS, UnknownSplitError))
