"""Offline quickstart: build a StackGAN pipeline, save it, load it back and generate birds from captions.

    python scripts/quickstart.py [--output_dir outputs/quickstart] [--seed 0]

The generators are randomly initialised (training comes with `scripts/train_stackgan.py`), so the images are
noise-like textures: this run checks the whole path caption -> offline text encoder -> Stage-I (64x64) ->
Stage-II (256x256) -> save_pretrained -> from_pretrained -> PNG, with nothing downloaded.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from diffusers.utils import make_image_grid

from stackgan_hf import (
    HashedBagOfWordsEncoder,
    StackGANPipeline,
    StackGANStage1Generator,
    StackGANStage2Generator,
)

CAPTIONS = [
    "this bird has a red crown, black wings and a short pointed beak",
    "a small yellow bird with grey wings and a white belly",
    "the bird is blue with a long tail and a black beak",
    "a brown bird with white spots on its breast and a long beak",
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output_dir", default="outputs/quickstart")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num_images_per_prompt", type=int, default=2)
    args = parser.parse_args()

    start = time.perf_counter()
    torch.manual_seed(args.seed)
    text_encoder = HashedBagOfWordsEncoder(vocabulary=HashedBagOfWordsEncoder.build_vocabulary(CAPTIONS))
    dim = text_encoder.config.embedding_dim
    pipe = StackGANPipeline(
        stage1_generator=StackGANStage1Generator(text_embedding_dim=dim),
        stage2_generator=StackGANStage2Generator(text_embedding_dim=dim),
        text_encoder=text_encoder,
    )
    pipe.save_pretrained(args.output_dir)
    pipe = StackGANPipeline.from_pretrained(args.output_dir)

    out = pipe(
        CAPTIONS,
        num_images_per_prompt=args.num_images_per_prompt,
        generator=torch.Generator().manual_seed(args.seed),
    )
    rows, cols = len(CAPTIONS), args.num_images_per_prompt
    stage1 = [
        image.resize((256, 256), resample=0) for image in out.stage1_images
    ]  # nearest, to compare sizes
    grid = make_image_grid(
        [img for pair in zip(stage1, out.images) for img in pair], rows=rows, cols=2 * cols
    )
    grid_path = os.path.join(args.output_dir, "samples.png")
    grid.save(grid_path)

    print(f"Saved a StackGANPipeline to {args.output_dir} and a sample grid to {grid_path}")
    elapsed = time.perf_counter() - start
    print(f"(rows: captions; columns: Stage-I 64x64 upscaled | Stage-II 256x256) in {elapsed:.1f}s")
    print("Generate from it with:")
    print("  from stackgan_hf import StackGANPipeline")
    print(f"  pipe = StackGANPipeline.from_pretrained({args.output_dir!r})")
    print("  image = pipe('a small bird with a red crown').images[0]")


if __name__ == "__main__":
    main()
