"""Memorisation check: generated birds beside their nearest training images, in pixel space and in the
judge's feature space, and the mean nearest-neighbor distance of generated images against that of real
test images (a model that copies its training set sits far below the real test images).

    python scripts/nearest_neighbors.py --model results/cub50/pipeline --dataset .data/cub50 \
        --classifier outputs/eval_classifiers/JUDGE --num_samples 983 --output_dir results/cub50/memorization

Writes ``nearest_neighbors.png`` (per column, top to bottom: a generated Stage-I image, its nearest
training image in pixels, its nearest in judge features) and ``nearest_neighbors.json``. Distances are
computed at 64x64 (the training crops' center, in [-1, 1]; pixel distance: root mean square per pixel)
and between the judge's features (cosine distance).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from diffusers.utils import pt_to_pil

from stackgan_hf import StackGANPipeline
from stackgan_hf.data import load_stackgan_dataset
from stackgan_hf.data.loading import UnknownSplitError
from stackgan_hf.data.transforms import center_crops
from stackgan_hf.evaluation import ClassifierFeatures, ImageClassifier
from stackgan_hf.evaluation.stackgan import _captions_for, generate_for_captions
from stackgan_hf.utils.cli import USER_ERRORS, non_negative_int, positive_int, run_script
from stackgan_hf.utils.hub import check_model_path
from stackgan_hf.visualization import captioned_grid


def nearest(queries: torch.Tensor, keys: torch.Tensor, metric: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(distance, index) of each query's nearest key: ``"rms"`` per-pixel RMS or ``"cosine"``."""
    queries, keys = queries.flatten(1).float(), keys.flatten(1).float()
    if metric == "cosine":
        similarity = (
            torch.nn.functional.normalize(queries, dim=1) @ torch.nn.functional.normalize(keys, dim=1).T
        )
        best, index = similarity.max(dim=1)
        return 1 - best, index
    distances = torch.cdist(queries, keys) / queries.shape[1] ** 0.5
    return distances.min(dim=1)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="StackGANPipeline folder")
    parser.add_argument("--dataset", required=True, help="prepare_cub.py folder")
    parser.add_argument("--classifier", required=True, help="the judge's folder (scripts/evaluate.py)")
    parser.add_argument(
        "--split", default="test", help="captions to draw from, and the real images to compare"
    )
    parser.add_argument("--num_samples", type=positive_int, default=983)
    parser.add_argument("--num_shown", type=positive_int, default=10, help="columns of the figure")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--output_dir", required=True)
    args = parser.parse_args(argv)
    if args.num_shown > args.num_samples:
        parser.error(f"--num_shown {args.num_shown}: expected at most --num_samples ({args.num_samples})")
    check_model_path(args.model)
    check_model_path(args.classifier, index_file="config.json")
    pipeline = StackGANPipeline.from_pretrained(args.model)
    judge = ImageClassifier.from_pretrained(args.classifier).eval()
    train = load_stackgan_dataset(args.dataset, split="train")
    test = load_stackgan_dataset(args.dataset, split=args.split)

    indices, captions, _ = _captions_for(test, args.num_samples, args.seed)
    generated = generate_for_captions(pipeline, captions, args.seed)["stage1"] * 2 - 1
    train_images = center_crops(train["image"], 64)
    real_test = center_crops(test.select(sorted(set(indices)))["image"], 64)
    features = ClassifierFeatures(judge)

    def judge_features(images):
        with torch.inference_mode():
            return torch.cat([features((batch + 1) / 2) for batch in images.split(256)])

    train_features = judge_features(train_images)
    results = {"model": args.model, "split": args.split, "num_generated": len(generated)}
    neighbors = {}
    for name, queries in (("generated", generated), ("real_test", real_test)):
        pixel, by_pixel = nearest(queries, train_images, "rms")
        feature, by_feature = nearest(judge_features(queries), train_features, "cosine")
        neighbors[name] = (by_pixel, by_feature)
        results[name] = {
            "num_images": len(queries),
            "mean_nn_pixel_rms": round(float(pixel.mean()), 4),
            "mean_nn_feature_cosine": round(float(feature.mean()), 4),
        }
    shown = slice(0, args.num_shown)
    by_pixel, by_feature = (index[shown] for index in neighbors["generated"])
    rows = [
        pt_to_pil(images) for images in (generated[shown], train_images[by_pixel], train_images[by_feature])
    ]
    columns = [list(column) for column in zip(*rows)]
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    grid = captioned_grid(columns, captions[: args.num_shown])
    grid.save(output / "nearest_neighbors.png")
    (output / "nearest_neighbors.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    run_script(main, (*USER_ERRORS, UnknownSplitError))
