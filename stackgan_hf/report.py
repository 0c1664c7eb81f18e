"""The training report: architectures, curves, the discriminator's confusion matrices, hyper-parameters,
samples, metrics, the DDPM figures and the text-encoder table, as Markdown (with its PNGs beside it), a
self-contained HTML file (PNGs embedded) and, when Chromium is installed, a PDF.

Inputs are run folders as the trainers write them: a StackGAN ``--stage both`` output (Stage-II in the folder,
Stage-I in ``stage1/``, each with ``stageN_summary.json``, ``stageN_history.jsonl``, ``checkpoint-*/`` and
``discriminator/``) and optionally a DDPM figures folder (``scripts/ddpm_figures.py``), evaluation JSON files
and comparison tables.
"""

from __future__ import annotations

import base64
import html
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .models import (
    StackGANStage1Discriminator,
    StackGANStage1Generator,
    StackGANStage2Discriminator,
    StackGANStage2Generator,
    count_parameters,
    discriminator_condition,
)

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
            rows.append((name, type(module).__name__, shape_of(output), count_parameters(module)))

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
    tables = {"Stage-I generator": (layer_table(g1, text, noise), count_parameters(g1))}
    d1 = StackGANStage1Discriminator(**discriminators[1])
    condition = torch.zeros(1, d1.config.text_embedding_dim or d1.config.condition_dim)
    tables["Stage-I discriminator"] = (
        layer_table(d1, torch.zeros(1, 3, 64, 64), condition),
        count_parameters(d1),
    )
    if stage2_config is not None:
        g2 = StackGANStage2Generator(**stage2_config)
        tables["Stage-II generator"] = (
            layer_table(g2, torch.zeros(1, 3, 64, 64), text),
            count_parameters(g2),
        )
        d2 = StackGANStage2Discriminator(**discriminators[2])
        condition = torch.zeros(1, d2.config.text_embedding_dim or d2.config.condition_dim)
        tables["Stage-II discriminator"] = (
            layer_table(d2, torch.zeros(1, 3, 256, 256), condition),
            count_parameters(d2),
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
    """``[3, 2]`` counts: for real/matching, real/mismatched and generated pairs (rows), how many the
    discriminator accepts (logit > 0) and rejects (columns), over ``num_rows`` rows of ``dataset``.

    The pairs are scored as in training: batches of ``batch_size`` pairs of one kind, BatchNorm on each
    batch's own statistics. (The running averages mix the three kinds of batches the discriminator sees;
    in eval mode a StackGAN discriminator typically rejects nearly everything.)"""
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
    """One coloured matrix per split, counts written in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(matrices), figsize=(4.2 * len(matrices), 3.4), squeeze=False)
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
    plt.close(figure)


# ----------------------------------------------------------------------------------------------------------
# Markdown -> HTML -> PDF
# ----------------------------------------------------------------------------------------------------------


def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def slug(title: str) -> str:
    """The anchor GitHub and Python-Markdown give a heading: punctuation dropped, spaces to hyphens."""
    return re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", title.lower()).strip())


def table_of_contents(markdown: str) -> str:
    entries = []
    for level, title in re.findall(r"^(#{2,3}) (.+)$", markdown, flags=re.MULTILINE):
        if title != "Contents":
            entries.append(f"{'  ' * (len(level) - 2)}- [{title}](#{slug(title)})")
    return "\n".join(entries) + "\n"


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
