"""Compares text encoders (or, with --ablation upsampling, nearest vs pixel-shuffle upsampling) for StackGAN
under one data set, budget and seed, and writes a Markdown + JSON table.

    # Text encoders, Stage-I each: the offline bag-of-words, a sentence encoder and CLIP from local folders
    # (Hub ids work where there is internet), char-CNN-RNN embeddings as `precomputed` when the data has them
    python scripts/compare_text_encoders.py --encoders bag-of-words /path/to/all-MiniLM-L6-v2 \
        --config configs/stackgan/quickstart.yaml --max_train_steps 1500 \
        --output_dir results/text_encoders/synthetic

    # Upsampling ablation: both generators, Stage-I then Stage-II, same budget
    python scripts/compare_text_encoders.py --ablation upsampling --config configs/stackgan/quickstart.yaml \
        --output_dir results/ablation_upsampling

Every other flag is a training-config key (as for train_stackgan.py) and applies to all variants. Runs go
to <output_dir>/runs/<variant> (the large files: put --runs_dir under outputs/ to keep results/ small);
the tables are <output_dir>/table.md and table.json. The judge: scripts/evaluate.py's classifier, trained
once on the real training split (--classifier DIR to reuse one).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stackgan_hf.data import load_stackgan_dataset
from stackgan_hf.data.loading import UnknownSplitError
from stackgan_hf.evaluation import train_dataset_classifier
from stackgan_hf.evaluation.compare import (
    Variant,
    collect_record,
    comparison_table,
    conditioning_variants,
    diagnostics_table,
    run_variants,
    stage2_variants,
    text_encoder_variants,
    upsampling_variants,
)
from stackgan_hf.training import StackGANTrainingConfig
from stackgan_hf.utils.cli import USER_ERRORS, positive_int, run_script
from stackgan_hf.utils.config import parse_config
from stackgan_hf.utils.judge import load_or_train

QUICKSTART = Path(__file__).resolve().parents[1] / "configs" / "stackgan" / "quickstart.yaml"


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--encoders", nargs="+", default=None, help="text encoders (default: bag-of-words)")
    parser.add_argument("--ablation", choices=["upsampling", "conditioning", "stage2"], default=None)
    parser.add_argument("--stage1_model", default=None, help="--ablation stage2: the frozen Stage-I")
    parser.add_argument("--variants", nargs="+", default=None, help="conditioning variants to run")
    parser.add_argument(
        "--steps_per_variant",
        nargs="+",
        default=[],
        help="NAME=STEPS: a variant's own Stage-I budget (to give slower variants the same CPU time)",
    )
    parser.add_argument("--runs_dir", default=None, help="where the trained variants go")
    parser.add_argument("--num_samples", type=positive_int, default=500)
    parser.add_argument("--classifier", default=None, help="evaluation classifier folder (else trained)")
    parser.add_argument("--classifier_steps", type=positive_int, default=1200)
    parser.add_argument("--clip_model", default=None, help="CLIP folder or Hub id for the CLIP score")
    parser.add_argument(
        "--reuse_runs", action="store_true", help="evaluate variants already trained in --runs_dir again"
    )
    parser.add_argument(
        "--collect",
        action="store_true",
        help="only write the tables from the evaluation.json of variants already trained in --runs_dir",
    )
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if any(flag in ("-h", "--help") for flag in rest):
        print(__doc__)
        return []
    check_options(parser, args)
    if not any(a == "--config" or a.startswith("--config=") for a in rest):
        rest = ["--config", str(QUICKSTART), *rest]
    base = parse_config(StackGANTrainingConfig, rest)
    output_dir = Path(base.output_dir)
    runs_dir = Path(args.runs_dir or output_dir / "runs")
    if args.ablation == "upsampling":
        variants = upsampling_variants()
    elif args.ablation == "conditioning":
        variants = conditioning_variants(args.variants)
    elif args.ablation == "stage2":
        if not args.stage1_model:
            parser.error("--ablation stage2 needs --stage1_model")
        variants = stage2_variants(args.stage1_model, args.variants)
    else:
        variants = text_encoder_variants(args.encoders or ["bag-of-words"])
    budgets = variant_budgets(parser, args.steps_per_variant, [variant.name for variant in variants])
    variants = [
        Variant(v.name, {**v.overrides, "max_train_steps": int(budgets[v.name])}) if v.name in budgets else v
        for v in variants
    ]

    def split(name, size):
        return load_stackgan_dataset(
            base.dataset,
            split=name,
            synthetic_num_images=base.synthetic_num_images,
            synthetic_image_size=size,
            seed=base.seed,
        )

    if args.collect:
        records = [collect_record(runs_dir / variant.name) for variant in variants]
        return write_tables(args, base, records, argv)
    # Real images at the largest resolution a variant generates.
    size = 304 if args.ablation in ("upsampling", "stage2") else 76
    train_split, test = split(base.dataset_split, size), split("test", size)

    def train_judge():
        return train_dataset_classifier(train_split, steps=args.classifier_steps, seed=base.seed)

    if args.classifier:
        classifier = load_or_train(args.classifier, train_judge)
    else:
        classifier = train_judge()
        classifier.save_pretrained(runs_dir / "classifier")
    records = run_variants(
        base,
        variants,
        runs_dir,
        test,
        train_split,
        classifier,
        args.num_samples,
        args.clip_model,
        reuse_runs=args.reuse_runs,
    )
    return write_tables(args, base, records, argv)


def check_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuses an option that does not apply to the chosen comparison (it would be ignored)."""
    if args.encoders is not None and args.ablation is not None:
        parser.error(f"--encoders applies to the text-encoder comparison, not to --ablation {args.ablation}")
    if args.stage1_model is not None and args.ablation != "stage2":
        parser.error("--stage1_model applies only to --ablation stage2")
    if args.variants is not None and args.ablation not in ("conditioning", "stage2"):
        parser.error("--variants applies only to --ablation conditioning or stage2")
    if args.collect and args.reuse_runs:
        parser.error("--collect only reads finished runs; --reuse_runs evaluates them again: choose one")


def variant_budgets(parser: argparse.ArgumentParser, items: list[str], names: list[str]) -> dict[str, int]:
    """``--steps_per_variant NAME=STEPS ...`` as ``{name: steps}``, each name a variant to run."""
    budgets = {}
    for item in items:
        name, _, steps = item.partition("=")
        if name not in names or not steps.isdigit() or int(steps) < 1:
            parser.error(
                f"--steps_per_variant {item!r}: expected NAME=STEPS with NAME one of {names}, STEPS >= 1"
            )
        budgets[name] = int(steps)
    return budgets


def write_tables(args, base, records, argv) -> list[dict]:
    output_dir = Path(base.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    title = {
        "upsampling": "Upsampling ablation",
        "conditioning": "Conditioning ablation",
        "stage2": "Stage-II ablation",
    }.get(args.ablation, "Text encoders")
    command = "python scripts/compare_text_encoders.py " + " ".join(sys.argv[1:] if argv is None else argv)
    table = comparison_table(records)
    diagnostics = diagnostics_table(records)
    if diagnostics:
        table += "\nAt the end of training (held-out batch: the `test` split; `training/diagnostics.py`):\n\n"
        table += diagnostics
    (output_dir / "table.md").write_text(
        f"# {title}: {base.dataset}, seed {base.seed}\n\n{table}\n"
        f"{args.num_samples} samples per variant, captions of the `test` split. Command:\n\n    {command}\n"
    )
    (output_dir / "table.json").write_text(json.dumps({"command": command, "records": records}, indent=2))
    print(table)
    return records


if __name__ == "__main__":
    run_script(main, (*USER_ERRORS, UnknownSplitError))
