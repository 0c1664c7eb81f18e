"""How much can the 128-px judge reward detail? The most a perfect Stage-II could gain over bicubic
upsampling.

Real photographs stand in for a Stage-II that restores every detail: the judge's FID against the 983 real test
images (128-px center crops, as evaluate.py) of
  sharp: real images at 256 px (the training view's center crop);
  bicubic: the same images downsampled to 64 px (antialiased bicubic, as the dataset's Stage-I view) and
           upsampled to 256 px bicubically: the baseline Stage-II has to beat, for real content.
Two sets of real images: the 983 test images themselves (sharp would score 0 but for the resampling: the
reference crops are resized to 128 px directly, the 256-px crops by the judge) and 983 training images
(random, seed 0; other classes, as generated images are not the test images either).
The gap bicubic - sharp is the judge's whole reward for detail at this content.

python results/cub50/judge_detail/judge_sees_detail.py > results/cub50/judge_detail/judge_sees_detail.json
"""

import json

import numpy as np
import torch
import torch.nn.functional as F

from stackgan_hf.data import load_stackgan_dataset
from stackgan_hf.data.transforms import center_crops
from stackgan_hf.evaluation.stackgan import bicubic_upsample
from stackgan_hf.utils.judge import ClassifierFeatures, ImageClassifier
from stackgan_hf.utils.metrics import frechet_distance

JUDGES = {"128 px": "results/cub50/judges/a_star_128px", "A* (64 px)": "results/cub50/judges/a_star_64px"}


def bicubic_round_trip(images: torch.Tensor) -> torch.Tensor:
    """``[-1, 1]`` images -> ``[0, 1]``: downsampled to 64 px, then upsampled as evaluate.py's baseline is."""
    low = F.interpolate(images, size=64, mode="bicubic", antialias=True).clamp(-1, 1)
    return bicubic_upsample((low + 1) / 2, images.shape[-1])


def main():
    torch.manual_seed(0)
    test = load_stackgan_dataset(".data/cub50", split="test")
    train = load_stackgan_dataset(".data/cub50", split="train")
    picks = np.random.default_rng(0).choice(len(train), size=len(test), replace=False).tolist()
    reference = (center_crops(test["image"], 128) + 1) / 2
    sets = {
        "test": center_crops(test["image"], 256),
        "train": center_crops(train.select(picks)["image"], 256),
    }
    out = {"num_reference": len(test)}
    for judge_name, folder in JUDGES.items():
        feature = ClassifierFeatures(ImageClassifier.from_pretrained(folder))
        for set_name, images in sets.items():
            for kind, x in (("sharp", (images + 1) / 2), ("bicubic", bicubic_round_trip(images))):
                out[f"{judge_name} | {set_name} | {kind}"] = round(frechet_distance(reference, x, feature), 3)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
