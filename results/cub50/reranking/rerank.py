"""Discriminator reranking: draw K Stage-I candidates per caption and keep the one that the run's final
Stage-I discriminator scores highest with that caption (its matching-aware logit, BatchNorm in eval mode).

Writes, for the 64 test captions of `scripts/stackgan_figures.py --seed 0`, the bicubically upsampled 8x8
grid of the first candidate (`k1_grid.png`, a plain draw), of the reranked pick (`k<K>_grid.png`) and the
scores (`scores_k<K>.json`).

python results/cub50/reranking/rerank.py --model RUN --discriminator RUN/discriminator --output_dir OUT
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from stackgan_hf import StackGANPipeline
from stackgan_hf.data import load_stackgan_dataset
from stackgan_hf.evaluation.stackgan import bicubic_upsample
from stackgan_hf.models import StackGANStage1Discriminator

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
from stackgan_figures import grid_rows, image_grid  # noqa: E402


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--model", required=True, help="a Stage-I StackGANPipeline folder")
    parser.add_argument("--discriminator", required=True, help="its StackGANStage1Discriminator folder")
    parser.add_argument("--dataset", default=".data/cub50")
    parser.add_argument("--num_candidates", type=int, default=16)
    parser.add_argument("--output_dir", required=True)
    args = parser.parse_args()
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)

    pipeline = StackGANPipeline.from_pretrained(args.model)
    generator = pipeline.stage1_generator.float().eval()
    discriminator = StackGANStage1Discriminator.from_pretrained(args.discriminator).float().eval()
    split = load_stackgan_dataset(args.dataset, split="test")
    _, captions = grid_rows(split, seed=0)  # the captions of stackgan_figures.py --seed 0

    seed = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        embeddings = pipeline.encode_prompt(captions, "cpu").float()
        candidates, scores = [], []
        for _ in range(args.num_candidates):
            noise = torch.randn(len(captions), generator.config.noise_dim, generator=seed)
            images = generator(embeddings, noise, generator=seed).images.float()
            candidates.append(images)
            scores.append(discriminator(images, embeddings).conditional_logits)
    candidates, scores = torch.stack(candidates, 1), torch.stack(scores, 1)
    best = scores.argmax(1)
    picked = candidates[torch.arange(len(captions)), best]
    k = args.num_candidates
    for name, images in (("k1", candidates[:, 0]), (f"k{k}", picked)):
        image_grid(bicubic_upsample((images + 1) / 2, 256)).save(output / f"{name}_grid.png")
    record = {"captions": captions, "best": best.tolist(), "scores": scores.tolist()}
    (output / f"scores_k{k}.json").write_text(json.dumps(record))
    first, reranked = scores[:, 0].mean(), scores.max(1).values.mean()
    print(f"mean logit: first candidate {first:.3f}, reranked {reranked:.3f}")


if __name__ == "__main__":
    main()
