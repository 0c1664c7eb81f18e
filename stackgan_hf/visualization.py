"""Image grids with captions, for training samples, `scripts/generate.py` and the report."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import PIL.Image
import PIL.ImageDraw
import PIL.ImageFont


def captioned_grid(
    columns: Sequence[Sequence[PIL.Image.Image]],
    captions: Sequence[str],
    cell_size: int = 128,
    caption_lines: int = 4,
) -> PIL.Image.Image:
    """A grid with one column per caption: each column stacks its images (e.g. Stage-I over Stage-II),
    resized to ``cell_size`` with nearest-neighbor (so 64x64 pixels stay visible), and the caption below.
    """
    if len(columns) != len(captions):
        raise ValueError(f"{len(columns)} image columns for {len(captions)} captions.")
    font = PIL.ImageFont.load_default()
    line_height = 12
    rows = max(len(column) for column in columns)
    text_height = caption_lines * line_height + 6
    grid = PIL.Image.new("RGB", (len(columns) * cell_size, rows * cell_size + text_height), "white")
    draw = PIL.ImageDraw.Draw(grid)
    chars_per_line = max(8, cell_size // 6)
    for x, (column, caption) in enumerate(zip(columns, captions)):
        for y, image in enumerate(column):
            grid.paste(
                image.convert("RGB").resize((cell_size, cell_size), PIL.Image.NEAREST),
                (x * cell_size, y * cell_size),
            )
        lines = textwrap.wrap(caption, chars_per_line)[:caption_lines]
        for k, line in enumerate(lines):
            draw.text(
                (x * cell_size + 3, rows * cell_size + 3 + k * line_height), line, fill="black", font=font
            )
    return grid


def plot_training_history(records: Sequence[dict], path, title: str = "", smooth: int = 25) -> None:
    """Loss curves (D, G, KL) and discriminator accuracies (real / mismatched / fake) of a run's per-step
    records (``read_history``), as one PNG; curves are running means over ``smooth`` steps."""
    import numpy as np
    from matplotlib.figure import Figure  # no pyplot: the caller's matplotlib backend is left alone

    steps = np.array([record["step"] for record in records])

    def curve(key):
        values = np.array([record[key] for record in records], dtype=float)
        window = max(1, min(smooth, len(values)))
        return np.convolve(values, np.ones(window) / window, mode="valid"), steps[window - 1 :]

    figure = Figure(figsize=(11, 3.8))
    losses, accuracy = figure.subplots(1, 2)
    for key, label in (("d_loss", "D loss"), ("g_loss", "G loss"), ("kl", "KL")):
        values, x = curve(key)
        losses.plot(x, values, label=label)
    losses.set_xlabel("step")
    losses.legend()
    losses.set_title(f"{title} losses".strip())
    for key, label in (
        ("d_acc_real", "real/matching -> real"),
        ("d_acc_mismatched", "real/mismatched -> fake"),
        ("d_acc_fake", "fake -> fake"),
    ):
        values, x = curve(key)
        accuracy.plot(x, values, label=label)
    accuracy.set_ylim(0, 1.02)
    accuracy.set_xlabel("step")
    accuracy.legend(loc="lower right")
    accuracy.set_title(f"{title} discriminator accuracy".strip())
    figure.tight_layout()
    figure.savefig(path, dpi=110)
