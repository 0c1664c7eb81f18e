"""Builds the project report from run folders: Markdown (report.md + its PNGs), self-contained HTML
(report.html) and, when Chromium is installed, report.pdf.

    python scripts/make_report.py --run outputs/quickstart [--ddpm results/ddpm_mnist] \
        [--metrics results/quickstart/metrics.json] \
        [--comparison results/text_encoders/synthetic/table.md ...] \
        --output_dir reports/quickstart

--run is a `train_stackgan.py --stage both` output (or a Stage-I one). The confusion matrices score the
run's final discriminator on real/matching, real/mismatched and generated pairs of the train, validation
and test splits (synthetic birds: a generated `validation` split; a prepared CUB folder: the test split's
two halves serve as validation and test).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import torch

from stackgan_hf import StackGANPipeline
from stackgan_hf.data import load_stackgan_dataset
from stackgan_hf.evaluation.compare import METRIC_HEADER, metric_cells, real_image_cells
from stackgan_hf.report import (
    architecture_tables,
    confusion_matrix,
    html_to_pdf,
    load_discriminator,
    markdown_table,
    plot_confusion_matrices,
    table_of_contents,
    to_html,
)
from stackgan_hf.training.trainer import read_history
from stackgan_hf.visualization import captioned_grid, plot_training_history


def _stage_dirs(run: Path) -> dict[int, Path]:
    stages = {}
    if (run / "stage1" / "stage1_summary.json").is_file():
        stages[1] = run / "stage1"
    elif (run / "stage1_summary.json").is_file():
        stages[1] = run
    if (run / "stage2_summary.json").is_file():
        stages[2] = run
    if 1 not in stages:
        raise SystemExit(f"{run}: no stage1_summary.json (in it or in stage1/): not a train_stackgan.py run.")
    return stages


def _splits(config: dict) -> dict:
    def load(split, size=304):
        return load_stackgan_dataset(
            config["dataset"],
            split=split,
            synthetic_num_images=config["synthetic_num_images"],
            synthetic_image_size=size,
            seed=config["seed"],
        )

    if config["dataset"] == "synthetic-birds":
        from stackgan_hf.data.synthetic_birds import generate_synthetic_birds

        validation = generate_synthetic_birds(
            max(1, config["synthetic_num_images"] // 4),
            image_size=304,
            seed=config["seed"],
            split="validation",
        )
        return {"train": load("train"), "validation": validation, "test": load("test")}
    test = load("test")
    half = len(test) // 2
    return {
        "train": load("train"),
        "validation": test.select(range(half)),
        "test": test.select(range(half, len(test))),
    }


def _hyperparameters(config: dict, summary: dict, split_sizes: dict) -> str:
    stage = summary["stage"]
    rows = [
        (
            "losses",
            "D: BCE real/matching + (real/mismatched + fake)/2; G: BCE(fake→real) + "
            f"{config['kl_coefficient']}·KL"
            + (
                f" + {config['color_consistency_coefficient']}·colour consistency"
                if stage == 2 and config.get("color_consistency_coefficient")
                else ""
            ),
        ),
        (
            "optimisers",
            f"Adam, G lr {config['generator_lr']}, D lr {config['discriminator_lr']}, "
            f"betas {config['adam_betas']}",
        ),
        ("LR schedule", f"halved every {config['lr_decay_epochs']} epochs"),
        ("batch size", summary["batch_size"]),
        ("steps", summary["steps"]),
        ("processes / precision", f"{summary['processes']} / {summary['mixed_precision']}"),
        ("text encoder", f"{config['text_encoder']} ({config['text_pooling']} pooling)"),
        (
            "widths",
            f"G {config['generator_channels']}, D {config['discriminator_channels']}, "
            f"condition {config['condition_dim']}, noise {config['noise_dim']}, "
            f"upsampling {config['upsample_mode']}",
        ),
        ("dataset", f"{config['dataset']}: " + ", ".join(f"{k} {v}" for k, v in split_sizes.items())),
        (
            "preprocessing",
            f"resize to {76 if stage == 1 else 304}, random {64 if stage == 1 else 256} crop, "
            "horizontal flip, [-1, 1]; one of the 10 captions per image and epoch",
        ),
        ("wall time", f"{summary['wall_time_s_this_run']} s on {summary['device']}"),
    ]
    return markdown_table(["", f"Stage-{'I' * stage}"], rows)


def _metrics_section(paths) -> str:
    text = ""
    for path in paths:
        metrics = json.loads(Path(path).read_text())
        rows = [[stage, *metric_cells(metrics, stage, with_std=True)] for stage in metrics.get("stages", {})]
        real = real_image_cells(metrics)
        if real:
            rows.append(["real images", *real])
        text += f"`{path}` ({metrics['num_samples']} samples, features: {metrics.get('feature', '?')}):\n\n"
        text += markdown_table(["", *METRIC_HEADER], rows) + "\n"
    return text


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", required=True, help="StackGAN run folder (train_stackgan.py --output_dir)")
    parser.add_argument("--ddpm", default=None, help="DDPM figures folder (scripts/ddpm_figures.py)")
    parser.add_argument("--metrics", nargs="*", default=[], help="scripts/evaluate.py JSON files")
    parser.add_argument("--comparison", nargs="*", default=[], help="compare_text_encoders.py table.md files")
    parser.add_argument("--output_dir", default="reports/report")
    parser.add_argument("--confusion_rows", type=int, default=256, help="rows per split for the matrices")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    run, out = Path(args.run), Path(args.output_dir)
    files = out / "report_files"
    files.mkdir(parents=True, exist_ok=True)
    stages = _stage_dirs(run)
    summaries = {s: json.loads((d / f"stage{s}_summary.json").read_text()) for s, d in stages.items()}
    config = summaries[max(stages)]["config"]
    pipeline = StackGANPipeline.from_pretrained(run)
    splits = _splits(config)
    sizes = {name: len(split) for name, split in splits.items()}

    md = [f"# StackGAN report: `{run}`\n", "## Contents\n", "{toc}"]
    # 1. Architectures
    md.append("## Architectures\n")
    discriminators = {}
    for s in stages:
        c = summaries[s]["config"]
        discriminators[s] = dict(  # each stage's run config holds that stage's own width
            condition_dim=c["condition_dim"],
            base_channels=c["discriminator_channels"],
            use_unconditional_logits=c["use_unconditional_logits"],
        )
    stage2_config = dict(pipeline.stage2_generator.config) if pipeline.stage2_generator is not None else None
    clean = {k: v for k, v in dict(pipeline.stage1_generator.config).items() if not k.startswith("_")}
    stage2_clean = {k: v for k, v in (stage2_config or {}).items() if not k.startswith("_")} or None
    for name, (rows, total) in architecture_tables(clean, stage2_clean, discriminators).items():
        md.append(f"### {name} ({total:,} parameters)\n")
        md.append(
            markdown_table(
                ["layer", "type", "output shape (batch 1)", "parameters"],
                [(n, t, s, f"{p:,}") for n, t, s, p in rows],
            )
        )
    # 2. Curves and confusion matrices
    md.append("## Training curves\n")
    for s, d in stages.items():
        plot_training_history(
            read_history(d / f"stage{s}_history.jsonl"),
            files / f"stage{s}_curves.png",
            title=f"Stage-{'I' * s}",
        )
        md.append(
            f"### Stage-{'I' * s} losses and discriminator accuracy\n\n"
            f"![](report_files/stage{s}_curves.png)\n"
        )
    md.append("## Discriminator confusion matrices\n")
    md.append(
        "Scored as in training (batches of one kind, BatchNorm on batch statistics). "
        "Rows: what the pair is; columns: what the final discriminator says (logit > 0 = real and "
        f"matching). {args.confusion_rows} rows per split, one caption each.\n"
    )
    for s, d in stages.items():
        discriminator = load_discriminator(d, s)
        stage_pipeline = StackGANPipeline.from_pretrained(d) if s == 1 else pipeline
        matrices = {
            name: confusion_matrix(
                stage_pipeline,
                discriminator,
                split,
                s,
                args.confusion_rows,
                args.seed,
                summaries[s]["batch_size"],
            )
            for name, split in splits.items()
        }
        plot_confusion_matrices(matrices, files / f"stage{s}_confusion.png", f"Stage-{'I' * s} discriminator")
        md.append(f"### Stage-{'I' * s}\n\n![](report_files/stage{s}_confusion.png)\n")
    # 3. Hyper-parameters
    md.append("## Hyper-parameters\n")
    for s in stages:
        md.append(_hyperparameters(summaries[s]["config"], summaries[s], sizes))
    # 4. Samples
    md.append("## Random samples (test captions)\n")
    rng = random.Random(args.seed)
    test = splits["test"]
    picks = [rng.randrange(len(test)) for _ in range(10)]
    captions = [test[i]["captions"][rng.randrange(len(test[i]["captions"]))] for i in picks]
    output = pipeline(captions, generator=torch.Generator().manual_seed(args.seed))
    columns = [
        [low] if pipeline.stage2_generator is None else [low, high]
        for low, high in zip(output.stage1_images, output.images)
    ]
    captioned_grid(columns, captions).save(files / "samples.png")
    md.append(
        "Top: Stage-I (64x64); bottom: Stage-II (256x256, shown at 128x128).\n\n"
        "![](report_files/samples.png)\n"
    )
    # 5. Metrics, comparison, DDPM
    if args.metrics:
        md.append("## Metrics\n")
        md.append(_metrics_section(args.metrics))
    for path in args.comparison:
        text = Path(path).read_text()
        md.append("## " + text.splitlines()[0].lstrip("# ") + "\n")
        md.append("\n".join(text.splitlines()[1:]) + "\n")
    if args.ddpm:
        ddpm = Path(args.ddpm)
        metrics = json.loads((ddpm / "metrics.json").read_text())
        md.append("## DDPM on MNIST\n")
        md.append(
            f"UNet2DModel with {metrics['parameters']['total']:,} parameters; "
            f"{metrics['training']['steps']} training steps ({metrics['training']['hardware']}).\n"
        )
        for figure, caption in (
            ("forward_process.png", "Forward process"),
            ("reverse_process.png", "Reverse process"),
            ("samples_5.png", "Five samples"),
        ):
            if (ddpm / figure).is_file():
                (files / f"ddpm_{figure}").write_bytes((ddpm / figure).read_bytes())
                md.append(f"### {caption}\n\n![](report_files/ddpm_{figure})\n")
    text = "\n".join(md)
    text = text.replace("{toc}", table_of_contents(text))
    (out / "report.md").write_text(text)
    (out / "report.html").write_text(to_html(text, out, f"StackGAN report: {run}"))
    pdf = html_to_pdf(out / "report.html", out / "report.pdf")
    print(
        f"Wrote {out / 'report.md'}, {out / 'report.html'}"
        + (f", {out / 'report.pdf'}" if pdf else " (no PDF: no Chromium)")
    )
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
