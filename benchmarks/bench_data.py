"""Data loading: images/s the training view delivers (random crop, flip, mismatched image, caption) against
the images/s a Stage-I training step consumes, at batch 64.

    python benchmarks/bench_data.py [--dataset synthetic-birds|PREPARED_DIR] [--num_workers 0 2]

plain: images stored larger than the view's load size (304 px for Stage-I's 76 px, as prepare_cub.py writes
them), decoded and resized for every row of every batch. preresized: the trainer's `preresize_images`
(stored at 76 px once, in memory), still decoded per row. fast: what the trainer does now, the view holding
Stage-I's images decoded in memory (`pixels_in_memory_bytes`) and cropping by slicing; its one-time decoding
is `fast_setup_s`. The step's consumption is measured in the same process with the training benchmark's fast
path.
"""

from __future__ import annotations

import argparse
import time

import torch
from bench_stackgan_train import make_step
from common import emit, hardware, time_per_call

from stackgan_hf.data import (
    StackGANTrainingView,
    collate_training_batch,
    load_stackgan_dataset,
    preresize_images,
)


def delivered_images_per_s(dataset, batch_size, num_workers, batches, in_memory: bool = True) -> float:
    view = StackGANTrainingView(dataset, crop_size=64, **({} if in_memory else {"pixels_in_memory_bytes": 0}))
    loader = torch.utils.data.DataLoader(
        view.as_dataset(),
        batch_size=batch_size,
        shuffle=True,
        num_workers=num_workers,
        collate_fn=collate_training_batch,
        drop_last=True,
    )
    iterator = iter(loader)
    next(iterator)  # workers started, first batch out
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="synthetic-birds")
    parser.add_argument("--num_images", type=int, default=1024, help="synthetic birds only")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--num_workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    stored = load_stackgan_dataset(
        args.dataset, synthetic_num_images=args.num_images, synthetic_image_size=304
    )
    small = preresize_images(stored, 64)
    step, _ = make_step(1, args.batch_size, "cpu", fast=True)
    consumed = args.batch_size / time_per_call(step, "cpu", 3, 1)
    records = []
    for workers in args.num_workers:
        record = {
            "benchmark": "data_loading",
            "dataset": args.dataset,
            "batch_size": args.batch_size,
            "num_workers": workers,
            **hardware("cpu"),
            "stage1_step_consumes_images_per_s": round(consumed, 1),
        }
        record["plain_images_per_s"] = round(
            delivered_images_per_s(stored, args.batch_size, workers, args.batches, in_memory=False), 1
        )
        record["preresized_images_per_s"] = round(
            delivered_images_per_s(small, args.batch_size, workers, args.batches, in_memory=False), 1
        )
        start = time.perf_counter()
        StackGANTrainingView(small, crop_size=64)
        record["fast_setup_s"] = round(time.perf_counter() - start, 2)
        record["fast_images_per_s"] = round(
            delivered_images_per_s(small, args.batch_size, workers, args.batches), 1
        )
        record["speedup"] = round(record["fast_images_per_s"] / record["plain_images_per_s"], 2)
        record["fast_headroom_over_step"] = round(record["fast_images_per_s"] / consumed, 2)
        record["output"] = args.output
        emit(record)
        records.append(record)
    return records


if __name__ == "__main__":
    main()
