"""Figures of a StackGANPipeline on a prepared CUB folder's captions.

    python scripts/stackgan_figures.py --model results/cub50/pipeline --dataset .data/cub50 \
        --output_dir results/cub50 [--split test] [--seed 0]

Writes, for 64 random rows of ``--split`` (seeded) and a random caption of each:

* ``stage2_grid_8x8.png``: 64 Stage-II images (256x256), no captions;
* ``bicubic_grid_8x8.png``: their Stage-I images upsampled bicubically to 256x256, the baseline;
* ``real_grid_8x8.png``: the real images of the same 64 rows, center crops at 256x256;
* ``bicubic_vs_stage2.png``: for the first ``--num_compared`` captions, top to bottom: Stage-I (64x64,
  shown with nearest neighbor), Stage-I upsampled bicubically to 256, and Stage-II.

A Stage-I pipeline (no Stage-II) gets the bicubic and real grids only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import PIL.Image
import torch
from diffusers.utils import numpy_to_pil

from stackgan_hf import StackGANPipeline
from stackgan_hf.data import load_stackgan_dataset
from stackgan_hf.data.loading import UnknownSplitError
from stackgan_hf.data.transforms import center_crops
from stackgan_hf.evaluation.stackgan import bicubic_upsample, generate_for_captions
from stackgan_hf.utils.cli import USER_ERRORS, bounded_int, non_negative_int, run_script
from stackgan_hf.visualization import captioned_grid


def to_pil(images: torch.Tensor) -> list[PIL.Image.Image]:
    """``[N, 3, H, W]`` in ``[0, 1]`` -> RGB images (diffusers' ``numpy_to_pil``)."""
    return numpy_to_pil(images.clamp(0, 1).permute(0, 2, 3, 1).float().numpy())


def image_grid(images: torch.Tensor, columns: int = 8) -> PIL.Image.Image:
    """``[N, 3, S, S]`` in ``[0, 1]`` -> one image of ``columns`` per row, no gaps."""
    size = images.shape[-1]
    rows = -(-len(images) // columns)
    grid = PIL.Image.new("RGB", (columns * size, rows * size), "white")
    for index, image in enumerate(to_pil(images)):
        grid.paste(image, ((index % columns) * size, (index // columns) * size))
    return grid


def grid_rows(split, seed: int = 0) -> tuple[list[int], list[str]]:
    """The grids' 64 rows of ``split`` (sorted, seeded) and a seeded random caption of each."""
    rng = np.random.default_rng(seed)
    indices = sorted(rng.choice(len(split), size=min(64, len(split)), replace=False).tolist())
    return indices, [str(rng.choice(split[i]["captions"])) for i in indices]


def main(argv=None) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--model", required=True, help="a StackGANPipeline folder")
    parser.add_argument("--dataset", required=True, help="prepare_cub.py folder")
    parser.add_argument("--split", default="test")
    parser.add_argument(
        "--num_compared", type=bounded_int(1, 64), default=8, help="columns of bicubic_vs_stage2.png"
    )
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--output_dir", required=True)
    args = parser.parse_args(argv)
    pipeline = StackGANPipeline.from_pretrained(args.model)
    split = load_stackgan_dataset(args.dataset, split=args.split)
    indices, captions = grid_rows(split, args.seed)
    images = generate_for_captions(pipeline, captions, args.seed)
    real = (center_crops(split.select(indices)["image"], 256) + 1) / 2
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    bicubic = bicubic_upsample(images["stage1"], 256)
    image_grid(bicubic).save(output / "bicubic_grid_8x8.png")
    image_grid(real).save(output / "real_grid_8x8.png")
    if "stage2" not in images:
        print(f"Wrote the 8x8 grids (bicubic, real) of a Stage-I pipeline to {output}")
        return
    image_grid(images["stage2"]).save(output / "stage2_grid_8x8.png")
    rows = [to_pil(row[: args.num_compared]) for row in (images["stage1"], bicubic, images["stage2"])]
    columns = [list(column) for column in zip(*rows)]
    captioned_grid(columns, captions[: args.num_compared], cell_size=256, caption_lines=3).save(
        output / "bicubic_vs_stage2.png"
    )
    print(f"Wrote the 8x8 grids (stage2, bicubic, real) and bicubic_vs_stage2.png to {output}")


if __name__ == "__main__":
    run_script(main, (*USER_ERRORS, UnknownSplitError))
