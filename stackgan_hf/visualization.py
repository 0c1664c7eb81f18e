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
    resized to ``cell_size`` with nearest-neighbour (so 64x64 pixels stay visible), and the caption below.
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
