"""Builds the project report from run folders: Markdown (report.md + its PNGs), self-contained HTML
(report.html) and, when Chromium is installed, report.pdf.

    python scripts/make_report.py --run outputs/quickstart [--ddpm results/ddpm_mnist] \
        [--metrics results/quickstart/metrics.json] \
        [--comparison results/text_encoders/synthetic/table.md ...] \
        --output_dir reports/quickstart

--run is a `train_stackgan.py --stage both` output (or a Stage-I one). The confusion matrices score the
run's final discriminator on real/matching, real/mismatched and generated pairs of the train, validation
and test splits (synthetic birds: a generated `validation` split; a prepared CUB folder: the test split's
two halves serve as validation and test). The report is composed by `stackgan_hf.report.build_report`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stackgan_hf.report import build_report
from stackgan_hf.utils.cli import USER_ERRORS, non_negative_int, positive_int, run_script


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", required=True, help="StackGAN run folder (train_stackgan.py --output_dir)")
    parser.add_argument("--ddpm", default=None, help="DDPM figures folder (scripts/ddpm_figures.py)")
    parser.add_argument("--metrics", nargs="*", default=[], help="scripts/evaluate.py JSON files")
    parser.add_argument("--comparison", nargs="*", default=[], help="compare_text_encoders.py table.md files")
    parser.add_argument("--output_dir", default="reports/report")
    parser.add_argument(
        "--confusion_rows", type=positive_int, default=256, help="rows per split for the matrices"
    )
    parser.add_argument("--seed", type=non_negative_int, default=0)
    args = parser.parse_args(argv)
    return build_report(
        args.run,
        args.output_dir,
        ddpm=args.ddpm,
        metrics=args.metrics,
        comparison=args.comparison,
        confusion_rows=args.confusion_rows,
        seed=args.seed,
    )


if __name__ == "__main__":
    run_script(main, (*USER_ERRORS, ValueError))
