"""Stage-I birds of four fixed synthetic-bird captions, six seeds each, beside two real birds of the same
colors: does the model follow the caption, and does its noise change the bird (mode collapse)?

    python scripts/seed_grid.py MODEL_DIR OUT.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from stackgan_hf.data.synthetic_birds import draw_bird
from stackgan_hf.utils.cli import run_script
from stackgan_hf.utils.hub import check_model_path

CAPTIONS = {
    "this bird has a red crown, blue wings and a yellow breast": ("red", "blue", "yellow"),
    "a bird with a yellow crown, green wings and a white breast": ("yellow", "green", "white"),
    "this bird has a black crown, red wings and an orange breast": ("black", "red", "orange"),
    "the bird has a white crown, black wings and a green breast": ("white", "black", "green"),
}


def seed_grid(model: str, seeds: int = 6, real: int = 2) -> np.ndarray:
    from stackgan_hf import StackGANPipeline

    pipeline = StackGANPipeline.from_pretrained(check_model_path(model))
    rows = []
    for caption, (crown, wing, breast) in CAPTIONS.items():
        generators = [torch.Generator().manual_seed(seed) for seed in range(seeds)]
        output = pipeline([caption] * seeds, generator=generators, output_type="np")
        images = np.asarray(output.stage1_images if output.stage1_images is not None else output.images)
        attributes = {"crown_color": crown, "wing_color": wing, "breast_color": breast}
        attributes.update(beak_length="short", size="large", background="sky")
        rng = np.random.default_rng(0)
        birds = [np.asarray(draw_bird(attributes, images.shape[1], rng)) / 255.0 for _ in range(real)]
        rows.append(np.concatenate([*images[..., :3], *birds], axis=1))
    return (np.concatenate(rows, axis=0) * 255).round().clip(0, 255).astype(np.uint8)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model")
    parser.add_argument("output")
    args = parser.parse_args(argv)
    if Path(args.output).suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
        parser.error(f"{args.output}: expected an image file name ending in .png, .jpg or .webp")
    check_model_path(args.model)
    grid = seed_grid(args.model)
    Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.NEAREST).save(args.output)


if __name__ == "__main__":
    run_script(main)
