"""The discriminator's held-out matching accuracy of trained Stage-I runs over a whole split: every image
with its own caption (real) and with a caption of another class (mismatched), scored as in training.

    python scripts/heldout_accuracy.py --dataset .data/cub50 --output heldout.json RUN_DIR [RUN_DIR ...]

The discriminator scores each batch in training mode (its BatchNorm uses the batch's statistics), so the
figure depends on which images share a batch and which caption each is paired with: ``--num_seeds N``
repeats the whole split with seeds ``seed`` to ``seed + N - 1`` and reports the mean, the standard
deviation and every seed's value.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from stackgan_hf import StackGANPipeline
from stackgan_hf.data import load_stackgan_dataset
from stackgan_hf.data.loading import UnknownSplitError
from stackgan_hf.models import StackGANStage1Discriminator
from stackgan_hf.training.diagnostics import heldout_matching_accuracy
from stackgan_hf.utils.cli import USER_ERRORS, bounded_int, non_negative_int, run_script
from stackgan_hf.utils.hub import check_model_path


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", help="Stage-I run folders (pipeline + discriminator/)")
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument(
        "--num_seeds", type=bounded_int(1, 100), default=1, help="batchings and pairings to average over"
    )
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    for run in args.runs:  # every run checked before the dataset is read
        check_model_path(run)
        check_model_path(Path(run) / "discriminator", index_file="config.json")
    if args.output is not None and Path(args.output).is_dir():
        parser.error(f"--output {args.output} is a folder; expected a JSON file name")
    split = load_stackgan_dataset(args.dataset, split=args.split)
    results = {}
    seeds = list(range(args.seed, args.seed + args.num_seeds))
    for run in args.runs:
        pipeline = StackGANPipeline.from_pretrained(run)
        discriminator = StackGANStage1Discriminator.from_pretrained(Path(run) / "discriminator")
        runs = [heldout_matching_accuracy(pipeline, discriminator, split, seed=seed) for seed in seeds]
        results[Path(run).name] = _summarize(runs, seeds)
        print(Path(run).name, results[Path(run).name], flush=True)
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    return results


def _summarize(runs: list[dict[str, float]], seeds: list[int]) -> dict:
    """One seed: its accuracies. Several: the mean of each, its standard deviation and every seed's value."""
    if len(runs) == 1:
        return runs[0]
    summary: dict = {"seeds": seeds}
    for key in runs[0]:
        values = np.array([run[key] for run in runs])
        summary[key] = float(values.mean())
        summary[f"{key}_std"] = float(values.std(ddof=1))
        summary[f"{key}_per_seed"] = [round(float(value), 4) for value in values]
    return summary


if __name__ == "__main__":
    run_script(main, (*USER_ERRORS, UnknownSplitError))
