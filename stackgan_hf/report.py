"""The training report as Markdown (PNGs beside it), self-contained HTML and, with Chromium, PDF.

It covers architectures, curves, the discriminator's confusion matrices, hyper-parameters, samples, metrics,
the DDPM figures and the text-encoder table, read from run folders as the trainers write them
(``--stage both``: Stage-II in the folder, Stage-I in ``stage1/``) and optional evaluation and figure folders.
"""

from __future__ import annotations

import base64
import html
import json
import random
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .data import load_stackgan_dataset
from .models import (
    StackGANStage1Discriminator,
    StackGANStage1Generator,
    StackGANStage2Discriminator,
    StackGANStage2Generator,
    discriminator_condition,
)
from .pipeline_stackgan import StackGANPipeline
from .training.trainer import read_history
from .utils.markdown import markdown_table
from .visualization import captioned_grid, plot_training_history

# ----------------------------------------------------------------------------------------------------------
# Architectures
# ----------------------------------------------------------------------------------------------------------


def layer_table(model: torch.nn.Module, *inputs, depth: int = 2) -> list[tuple[str, str, str, int]]:
    """``(layer name, type, output shape, parameters)`` for the modules ``depth`` levels deep, in the
    order they run, from one forward pass on ``inputs``."""
    rows, hooks = [], []

    def shape_of(output) -> str:
        if isinstance(output, torch.Tensor):
            return "x".join(str(d) for d in output.shape)
        if isinstance(output, (tuple, list)):
            return ", ".join(shape_of(o) for o in output if isinstance(o, torch.Tensor))
        tensors = [v for v in getattr(output, "__dict__", {}).values() if isinstance(v, torch.Tensor)]
        return ", ".join(shape_of(t) for t in tensors)

    for name, module in model.named_modules():
        if not name or name.count(".") >= depth:
            continue
        if name.count(".") < depth - 1 and len(list(module.children())) > 0:
            continue  # a container with children at the reported depth: report those instead

        def hook(module, args, output, name=name):
            parameters = sum(parameter.numel() for parameter in module.parameters())
            rows.append((name, type(module).__name__, shape_of(output), parameters))

        hooks.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model.eval()(*inputs)
    finally:
        for handle in hooks:
            handle.remove()
    return rows


def architecture_tables(stage1_config: dict, stage2_config: dict | None, discriminators: dict) -> dict:
    """Layer tables of the four subnetworks, built from their configs (one example of batch 1)."""
    g1 = StackGANStage1Generator(**stage1_config)
    dim = g1.config.text_embedding_dim
    text, noise = torch.zeros(1, dim), torch.zeros(1, g1.config.noise_dim)
    tables = {"Stage-I generator": (layer_table(g1, text, noise), g1.num_parameters())}
    d1 = StackGANStage1Discriminator(**discriminators[1])
    condition = torch.zeros(1, d1.config.text_embedding_dim or d1.config.condition_dim)
    tables["Stage-I discriminator"] = (
        layer_table(d1, torch.zeros(1, 3, 64, 64), condition),
        d1.num_parameters(),
    )
    if stage2_config is not None:
        g2 = StackGANStage2Generator(**stage2_config)
        tables["Stage-II generator"] = (
            layer_table(g2, torch.zeros(1, 3, 64, 64), text),
            g2.num_parameters(),
        )
        d2 = StackGANStage2Discriminator(**discriminators[2])
        condition = torch.zeros(1, d2.config.text_embedding_dim or d2.config.condition_dim)
        tables["Stage-II discriminator"] = (
            layer_table(d2, torch.zeros(1, 3, 256, 256), condition),
            d2.num_parameters(),
        )
    return tables


# ----------------------------------------------------------------------------------------------------------
# The discriminator's confusion matrix
# ----------------------------------------------------------------------------------------------------------


def load_discriminator(run_dir: Path, stage: int):
    """The run's final discriminator, ``run_dir/discriminator/`` (saved at the end of training)."""
    cls = StackGANStage1Discriminator if stage == 1 else StackGANStage2Discriminator
    folder = Path(run_dir) / "discriminator"
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder}: no discriminator saved there (it is written when a run ends).")
    return cls.from_pretrained(folder)


@torch.inference_mode()
def confusion_matrix(
    pipeline, discriminator, dataset, stage: int, num_rows: int = 256, seed: int = 0, batch_size: int = 32
):
    """``[3, 2]`` counts: how many real/matching, real/mismatched and generated pairs (rows) the discriminator
    accepts (logit > 0) and rejects, over ``num_rows`` rows of ``dataset``. Scored as in training: batches of
    ``batch_size`` pairs of one kind, BatchNorm on batch statistics (its running averages mix the three kinds,
    so eval mode rejects nearly everything)."""
    from .data import StackGANTrainingView

    rows = dataset.select(range(min(num_rows, len(dataset))))
    view = StackGANTrainingView(rows, crop_size=64 if stage == 1 else 256, seed=seed)
    batch = view(rows[:])
    generator_net = pipeline.stage1_generator if stage == 1 else pipeline.stage2_generator
    text = pipeline.encode_prompt(batch["caption"], pipeline._execution_device)
    output = pipeline(prompt_embeds=text, generator=torch.Generator().manual_seed(seed), output_type="pt")
    fake = (output.stage1_images if stage == 1 else output.images) * 2 - 1
    mu = generator_net.conditioning(text, generator=torch.Generator().manual_seed(seed), return_dict=False)[1]
    discriminator.train()  # batch statistics, as in training; nothing is stepped
    counts = np.zeros((3, 2), dtype=int)
    kinds = (torch.stack(batch["pixel_values"]), torch.stack(batch["mismatched_pixel_values"]), fake)
    for row, images in enumerate(kinds):
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size].float()
            condition = discriminator_condition(discriminator, text, mu)[start : start + batch_size]
            logits = discriminator(chunk, condition, return_dict=False)[1].flatten()
            accepted = int((logits > 0).sum())
            counts[row] += (accepted, len(logits) - accepted)
    discriminator.eval()
    return counts


def plot_confusion_matrices(matrices: dict[str, np.ndarray], path: Path, title: str) -> None:
    """One colored matrix per split, counts written in the cells."""
    from matplotlib.figure import Figure  # no pyplot: the caller's matplotlib backend is left alone

    figure = Figure(figsize=(4.2 * len(matrices), 3.4))
    axes = figure.subplots(1, len(matrices), squeeze=False)
    for axis, (split, counts) in zip(axes[0], matrices.items()):
        shares = counts / counts.sum(axis=1, keepdims=True)
        axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
        for (i, j), count in np.ndenumerate(counts):
            axis.text(
                j, i, str(count), ha="center", va="center", color="white" if shares[i, j] > 0.6 else "black"
            )
        axis.set_xticks([0, 1], ["accepted", "rejected"])
        axis.set_yticks([0, 1, 2], ["real, matching", "real, mismatched", "generated"])
        axis.set_title(split)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


# ----------------------------------------------------------------------------------------------------------
# Markdown -> HTML -> PDF
# ----------------------------------------------------------------------------------------------------------


def table_of_contents(markdown_text: str) -> str:
    """The ``##`` and ``###`` headings (all but "Contents") as a nested Markdown list, each linked to the
    anchor python-markdown's ``toc`` extension gives it, i.e. the ids :func:`to_html` writes (a repeated
    title gets ``_1``, ``_2``, ...)."""
    import markdown
    from markdown.extensions.toc import TocExtension

    parser = markdown.Markdown(extensions=["tables", TocExtension(toc_depth="2-3"), "fenced_code"])
    parser.convert(markdown_text)

    def entries(tokens, indent: str) -> list[str]:
        lines = []
        for token in tokens:
            title = html.unescape(token["name"])
            if title != "Contents":
                link_text = re.sub(r"([\\\[\]])", r"\\\1", title)  # brackets would end the link text
                lines.append(f"{indent}- [{link_text}](#{token['id']})")
            lines += entries(token["children"], indent + "  ")
        return lines

    return "\n".join(entries(parser.toc_tokens, "")) + "\n"


def to_html(markdown_text: str, base_dir: Path, title: str) -> str:
    """Self-contained HTML: the Markdown rendered, every local image inlined as a data URI."""
    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables", "toc", "fenced_code"])

    def inline(match):
        source = match.group(1)
        path = base_dir / html.unescape(source)
        if source.startswith(("http:", "https:", "data:")) or not path.is_file():
            return match.group(0)
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        return f'src="data:image/png;base64,{encoded}"'

    body = re.sub(r'src="([^"]+)"', inline, body)
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
        "line-height:1.45}table{border-collapse:collapse;margin:1em 0;font-size:.9em}"
        "td,th{border:1px solid #ccc;padding:3px 8px}"
        "th{background:#f3f3f3}img{max-width:100%}code{background:#f5f5f5}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>{body}</body></html>"
    )


def html_to_pdf(html_path: Path, pdf_path: Path) -> bool:
    """Prints the HTML to PDF with a headless Chromium when one is installed; False otherwise."""
    browser = next(
        (shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None
    )
    if browser is None:
        return False
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--print-to-pdf={pdf_path}",
        html_path.resolve().as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, timeout=120)
    return result.returncode == 0 and pdf_path.is_file()


# ----------------------------------------------------------------------------------------------------------
# The report of a run
# ----------------------------------------------------------------------------------------------------------


def stage_dirs(run: Path) -> dict[int, Path]:
    """``{stage: folder}`` of a ``train_stackgan.py`` output: ``--stage both`` (Stage-II in ``run``, Stage-I
    in ``run/stage1``) or a single stage's folder."""
    run = Path(run)
    stages = {}
    if (run / "stage1" / "stage1_summary.json").is_file():
        stages[1] = run / "stage1"
    elif (run / "stage1_summary.json").is_file():
        stages[1] = run
    if (run / "stage2_summary.json").is_file():
        stages[2] = run
    if 1 not in stages:
        raise FileNotFoundError(
            f"{run}: no stage1_summary.json (in it or in stage1/): not a train_stackgan.py run."
        )
    return stages


def report_splits(config: dict) -> dict:
    """The train, validation and test splits of a run's dataset at 304 pixels (synthetic birds: a generated
    ``validation`` split; a prepared CUB folder: the two halves of its test split)."""

    def load(split, size=304):
        return load_stackgan_dataset(
            config["dataset"],
            split=split,
            synthetic_num_images=config["synthetic_num_images"],
            synthetic_image_size=size,
            seed=config["seed"],
        )

    if config["dataset"] == "synthetic-birds":
        from .data.synthetic_birds import generate_synthetic_birds

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


def hyperparameter_table(config: dict, summary: dict, split_sizes: dict) -> str:
    """One stage's losses, optimizers, schedule, widths, data and wall time as a Markdown table."""
    stage = summary["stage"]
    rows = [
        (
            "losses",
            "D: BCE real/matching + (real/mismatched + fake)/2; G: BCE(fake→real) + "
            f"{config['kl_coefficient']}·KL"
            + (
                f" + {config['color_consistency_coefficient']}·color consistency"
                if stage == 2 and config.get("color_consistency_coefficient")
                else ""
            ),
        ),
        (
            "optimizers",
            f"Adam, G lr {config['generator_lr']}, D lr {config['discriminator_lr']}, "
            f"betas {config['adam_betas']}",
        ),
        ("LR schedule", f"halved every {config['lr_decay_epochs']} epochs"),
        ("batch size", summary["batch_size"]),
        ("steps", summary["steps"]),
        ("processes / precision", f"{summary['processes']} / {summary['mixed_precision']}"),
        ("text encoder", f"{config['text_encoder']} ({config.get('text_pooling', 'auto')} pooling)"),
        (
            "widths",
            f"G {config['generator_channels']}, D {config['discriminator_channels']}, "
            f"condition {config['condition_dim']}, noise {config.get('noise_dim', 100)}, "
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


def metrics_section(paths: Sequence[str | Path]) -> str:
    """One table per ``scripts/evaluate.py`` JSON file: each stage's metrics and the real images'."""
    from .evaluation.compare import METRIC_HEADER, metric_cells, real_image_cells  # compare imports this

    text = ""
    for path in paths:
        try:
            metrics = json.loads(Path(path).read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not a scripts/evaluate.py JSON file ({error}).") from None
        rows = [[stage, *metric_cells(metrics, stage, with_std=True)] for stage in metrics.get("stages", {})]
        real = real_image_cells(metrics)
        if real:
            rows.append(["real images", *real])
        text += f"`{path}` ({metrics['num_samples']} samples, features: {metrics.get('feature', '?')}):\n\n"
        text += markdown_table(["", *METRIC_HEADER], rows) + "\n"
        if metrics.get("prompts"):
            text += _prompts_table(metrics["prompts"])
    return text


def _prompts_table(prompts: Sequence[dict]) -> str:
    """``evaluate.py --prompts``: per prompt and stage, the share of its images with all three colors right
    and the color triple drawn most often."""
    stages = list(prompts[0]["stages"])
    rows = []
    for prompt in prompts:
        cells = []
        for stage in stages:
            scores = prompt["stages"][stage]
            cells += [
                f"{scores['all_colors']:.2f}",
                f"{scores['most_drawn']} ({scores['most_drawn_share']:.2f})",
            ]
        rows.append([prompt["prompt"], prompt["asked"], *cells])
    header = ["prompt", "asked"] + [f"{stage} {what}" for stage in stages for what in ("all 3", "drawn most")]
    return (
        "Fixed prompts, each drawn many times with the same noise:\n\n" + markdown_table(header, rows) + "\n"
    )


def _architecture_section(pipeline: StackGANPipeline, summaries: dict[int, dict]) -> list[str]:
    md = ["## Architectures\n"]
    discriminators = {}
    for s, summary in summaries.items():
        c = summary["config"]
        discriminators[s] = dict(  # each stage's run config holds that stage's own width
            condition_dim=c["condition_dim"],
            base_channels=c["discriminator_channels"],
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
    return md


def _curves_section(stages: dict[int, Path], files: Path) -> list[str]:
    md = ["## Training curves\n"]
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
    return md


def _confusion_section(
    pipeline: StackGANPipeline,
    stages: dict[int, Path],
    summaries: dict[int, dict],
    splits: dict,
    files: Path,
    num_rows: int,
    seed: int,
) -> list[str]:
    md = [
        "## Discriminator confusion matrices\n",
        "Scored as in training (batches of one kind, BatchNorm on batch statistics). "
        "Rows: what the pair is; columns: what the final discriminator says (logit > 0 = real and "
        f"matching). {num_rows} rows per split, one caption each.\n",
    ]
    for s, d in stages.items():
        discriminator = load_discriminator(d, s)
        stage_pipeline = StackGANPipeline.from_pretrained(d) if s == 1 else pipeline
        batch_size = summaries[s]["batch_size"]
        matrices = {
            name: confusion_matrix(stage_pipeline, discriminator, split, s, num_rows, seed, batch_size)
            for name, split in splits.items()
        }
        plot_confusion_matrices(matrices, files / f"stage{s}_confusion.png", f"Stage-{'I' * s} discriminator")
        md.append(f"### Stage-{'I' * s}\n\n![](report_files/stage{s}_confusion.png)\n")
    return md


def _samples_section(pipeline: StackGANPipeline, test, files: Path, seed: int) -> list[str]:
    rng = random.Random(seed)
    picks = [rng.randrange(len(test)) for _ in range(10)]
    captions = [test[i]["captions"][rng.randrange(len(test[i]["captions"]))] for i in picks]
    output = pipeline(captions, generator=torch.Generator().manual_seed(seed))
    columns = [
        [low] if pipeline.stage2_generator is None else [low, high]
        for low, high in zip(output.stage1_images, output.images)
    ]
    captioned_grid(columns, captions).save(files / "samples.png")
    return [
        "## Random samples (test captions)\n",
        "Top: Stage-I (64x64); bottom: Stage-II (256x256, shown at 128x128).\n\n"
        "![](report_files/samples.png)\n",
    ]


def _comparison_sections(paths: Sequence[str | Path]) -> list[str]:
    md = []
    for path in paths:
        text = Path(path).read_text()
        md.append("## " + text.splitlines()[0].lstrip("# ") + "\n")
        md.append("\n".join(text.splitlines()[1:]) + "\n")
    return md


def _ddpm_section(ddpm: Path, files: Path) -> list[str]:
    metrics = json.loads((ddpm / "metrics.json").read_text())
    md = [
        "## DDPM on MNIST\n",
        f"UNet2DModel with {metrics['parameters']['total']:,} parameters; "
        f"{metrics['training']['steps']} training steps ({metrics['training']['hardware']}).\n",
    ]
    for figure, caption in (
        ("forward_process.png", "Forward process"),
        ("reverse_process.png", "Reverse process"),
        ("samples_5.png", "Five samples"),
        ("samples_grid_10x10.png", "100 samples"),
        ("samples_ddim50_grid_10x10.png", "The same seeds with DDIM, 50 steps"),
        ("loss_curve.png", "Training loss"),
    ):
        if (ddpm / figure).is_file():
            (files / f"ddpm_{figure}").write_bytes((ddpm / figure).read_bytes())
            md.append(f"### {caption}\n\n![](report_files/ddpm_{figure})\n")
    evaluations = sorted(ddpm.glob("evaluation*.json"))
    if evaluations:  # scripts/evaluate.py ddpm outputs: the offline MNIST judge
        rows = []
        for path in evaluations:
            record = json.loads(path.read_text())
            low, high = record["class_share_min_max"]
            scores = f"{record['fid']:.2f}", f"{record['is_mean']:.2f}"
            rows.append((path.stem, *scores, f"{low:.3f}-{high:.3f}"))
        md += ["### Evaluation\n", markdown_table(["samples", "FID", "score", "class share min-max"], rows)]
    return md


def write_report(markdown_text: str, output_dir: Path, title: str) -> bool:
    """Writes ``report.md`` (its ``{toc}`` marker replaced by the table of contents), the self-contained
    ``report.html`` and, with Chromium, ``report.pdf``; True when the PDF was written."""
    output_dir = Path(output_dir)
    markdown_text = markdown_text.replace("{toc}", table_of_contents(markdown_text))
    (output_dir / "report.md").write_text(markdown_text)
    (output_dir / "report.html").write_text(to_html(markdown_text, output_dir, title))
    return html_to_pdf(output_dir / "report.html", output_dir / "report.pdf")


def _check_inputs(ddpm, metrics, comparison, confusion_rows: int) -> None:
    """Fails on a missing input before the slow sections run, naming it."""
    if confusion_rows < 1:
        raise ValueError(f"confusion_rows must be at least 1, got {confusion_rows}.")
    if ddpm is not None and not (Path(ddpm) / "metrics.json").is_file():
        raise FileNotFoundError(f"{ddpm}: no metrics.json (not a scripts/ddpm_figures.py output folder).")
    for path in (*metrics, *comparison):
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: no such file.")
    for path in comparison:
        if not Path(path).read_text().strip():
            raise ValueError(f"{path}: empty (expected a compare_text_encoders.py table.md).")


def build_report(
    run: str | Path,
    output_dir: str | Path,
    ddpm: str | Path | None = None,
    metrics: Sequence[str | Path] = (),
    comparison: Sequence[str | Path] = (),
    confusion_rows: int = 256,
    seed: int = 0,
) -> Path:
    """The report of the ``train_stackgan.py`` run in ``run``, in ``output_dir`` (``report.md`` and its
    ``report_files/``, ``report.html``, ``report.pdf`` with Chromium): architectures, training curves, the
    final discriminators' confusion matrices on every split (``confusion_rows`` rows each), hyper-parameters,
    samples, then the ``metrics`` JSON files, the ``comparison`` tables and the DDPM figures folder ``ddpm``.
    Returns ``output_dir``."""
    run, out = Path(run), Path(output_dir)
    stages = stage_dirs(run)
    _check_inputs(ddpm, metrics, comparison, confusion_rows)
    files = out / "report_files"
    files.mkdir(parents=True, exist_ok=True)
    summaries = {s: json.loads((d / f"stage{s}_summary.json").read_text()) for s, d in stages.items()}
    pipeline = StackGANPipeline.from_pretrained(run)
    splits = report_splits(summaries[max(stages)]["config"])
    sizes = {name: len(split) for name, split in splits.items()}
    md = [f"# StackGAN report: `{run}`\n", "## Contents\n", "{toc}"]
    md += _architecture_section(pipeline, summaries)
    md += _curves_section(stages, files)
    md += _confusion_section(pipeline, stages, summaries, splits, files, confusion_rows, seed)
    md.append("## Hyper-parameters\n")
    md += [hyperparameter_table(summary["config"], summary, sizes) for summary in summaries.values()]
    md += _samples_section(pipeline, splits["test"], files, seed)
    if metrics:
        md += ["## Metrics\n", metrics_section(metrics)]
    md += _comparison_sections(comparison)
    if ddpm is not None:
        md += _ddpm_section(Path(ddpm), files)
    pdf = write_report("\n".join(md), out, f"StackGAN report: {run}")
    print(
        f"Wrote {out / 'report.md'}, {out / 'report.html'}"
        + (f", {out / 'report.pdf'}" if pdf else " (no PDF: no Chromium)")
    )
    return out
