"""DDPM on MNIST: training steps/s (plain against fast path) and sampling time of DDPM-1000 against DDIM-50
from one checkpoint.

    python benchmarks/bench_ddpm.py --device cpu|cuda [--model DDPM_PIPELINE_DIR] [--batch_size 64]
        [--config configs/ddpm/mnist_cpu.yaml] [--resolution 28|32] [--threads N]
        [--data_dir ../shared/data/mnist] [--skip_sampling]

The UNet is --config's (configs/ddpm/mnist.yaml by default) unless --model gives a trained DDPMPipeline
folder. plain: fp32, contiguous; fast: channels-last, bf16 autocast (GPUs; CPUs with native bf16), fused
AdamW on CUDA. With --data_dir it also times one batch of data: PNGs decoded per batch (the old path)
against the in-memory tensors of ``load_mnist_for_training``.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from common import emit, fast_autocast_dtype, hardware, time_per_call

from diffusion.data import images_to_tensor, load_mnist, load_mnist_for_training
from diffusion.sampling import as_ddim, generate_digits
from diffusion.train import DDPMTrainingConfig, build_noise_scheduler, build_unet
from stackgan_hf.utils.config import config_from_dict, load_yaml

ROOT = Path(__file__).resolve().parents[1]


def training_step(config, device, fast, batch_size):
    torch.manual_seed(0)
    unet = build_unet(config).to(device)
    scheduler = build_noise_scheduler(config)
    memory_format = torch.channels_last if fast else torch.contiguous_format
    unet.to(memory_format=memory_format)
    fused = {"fused": True} if fast and device == "cuda" else {}
    optimizer = torch.optim.AdamW(unet.parameters(), lr=1e-4, **fused)
    size = config.resolution
    images = torch.rand(batch_size, 1, size, size) * 2 - 1
    images = images.to(device).contiguous(memory_format=memory_format)
    dtype = fast_autocast_dtype(device) if fast else None

    def step():
        noise = torch.randn_like(images)
        timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (batch_size,), device=device)
        noisy = scheduler.add_noise(images, noise, timesteps)
        with torch.autocast(device, dtype=dtype) if dtype else contextlib.nullcontext():
            loss = F.mse_loss(unet(noisy, timesteps).sample.float(), noise)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step, unet, scheduler


def time_data(data_dir: str, pad_to_32: bool, batch_size: int, batches: int = 20) -> dict:
    """Seconds per batch: decoding the batch's PNGs (the trainer before) against in-memory tensors."""
    mnist = load_mnist(dataset_dir=data_dir)
    start = time.perf_counter()
    tensors = load_mnist_for_training(dataset_dir=data_dir, pad_to_32=pad_to_32)
    load_seconds = time.perf_counter() - start
    order = torch.randperm(len(mnist), generator=torch.Generator().manual_seed(0)).tolist()

    def decoded(index):
        rows = order[index * batch_size : (index + 1) * batch_size]
        return images_to_tensor(mnist[rows]["image"], pad_to_32)

    def in_memory(index):
        rows = order[index * batch_size : (index + 1) * batch_size]
        return torch.utils.data.default_collate([tensors[row] for row in rows])["pixel_values"]

    assert torch.equal(decoded(0), in_memory(0))
    timings = {}
    for name, fetch in (("decode_png", decoded), ("in_memory", in_memory)):
        start = time.perf_counter()
        for index in range(batches):
            fetch(index)
        timings[f"data_{name}_ms_per_batch"] = round(1000 * (time.perf_counter() - start) / batches, 2)
    timings["data_in_memory_load_s"] = round(load_seconds, 1)
    return timings


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu"
    )
    parser.add_argument("--model", default=None, help="a trained DDPMPipeline folder (else a fresh UNet)")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--num_samples", type=int, default=16)
    parser.add_argument("--config", default=str(ROOT / "configs/ddpm/mnist.yaml"))
    parser.add_argument("--resolution", type=int, choices=[28, 32], default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (CPU)")
    parser.add_argument("--data_dir", default=None, help="local MNIST parquet folder: also time the data")
    parser.add_argument("--skip_sampling", action="store_true")
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    config = config_from_dict(DDPMTrainingConfig, load_yaml(args.config))
    if args.resolution:
        config.resolution = args.resolution
    record = {
        "benchmark": "ddpm",
        "config": Path(args.config).name,
        "resolution": config.resolution,
        "batch_size": args.batch_size,
        **hardware(args.device),
    }
    if args.data_dir:
        record.update(time_data(args.data_dir, config.resolution == 32, args.batch_size))
    for path in ("plain", "fast"):
        step, unet, scheduler = training_step(config, args.device, path == "fast", args.batch_size)
        record[f"{path}_train_steps_per_s"] = round(1 / time_per_call(step, args.device, args.steps, 2), 2)
    record["train_speedup"] = round(record["fast_train_steps_per_s"] / record["plain_train_steps_per_s"], 2)
    if args.skip_sampling:
        record["output"] = args.output
        emit(record)
        return record

    from diffusers import DDPMPipeline

    pipeline = (
        DDPMPipeline.from_pretrained(args.model) if args.model else DDPMPipeline(unet.eval(), scheduler)
    )
    pipeline.to(args.device)
    for name, sampler, steps in (("ddpm_1000", pipeline, None), ("ddim_50", as_ddim(pipeline), 50)):

        def sample(sampler=sampler, steps=steps):
            return generate_digits(
                sampler, args.num_samples, num_inference_steps=steps, batch_size=args.num_samples
            )

        seconds = time_per_call(sample, args.device, 1, 0)
        record[f"{name}_seconds_for_{args.num_samples}"] = round(seconds, 2)
    record["ddim_50_speedup"] = round(
        record[f"ddpm_1000_seconds_for_{args.num_samples}"]
        / record[f"ddim_50_seconds_for_{args.num_samples}"],
        1,
    )
    record["output"] = args.output
    emit(record)
    return record


if __name__ == "__main__":
    main()
