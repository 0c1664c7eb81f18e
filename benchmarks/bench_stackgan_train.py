"""StackGAN training throughput: one full step (D update on real/matching, real/mismatched and fake pairs,
then G update with the KL term) at the official birds widths, plain path against fast path, in one process.

    python benchmarks/bench_stackgan_train.py --stage 1|2 --batch_size N --device cpu|cuda [--steps K]

plain: fp32, eager, contiguous (NCHW) tensors, the default (foreach) Adam.
fast:  channels-last, bf16 autocast (GPUs; CPUs with native bf16), fused Adam on CUDA, --compile optional.
Prints one JSON line: plain_images_per_s, fast_images_per_s, speedup, hardware; on a GPU also the step's
FLOPs and the share of the GPU's measured bf16 matrix-multiply rate that the fast step reaches.
"""

from __future__ import annotations

import argparse
import contextlib

import torch
from common import emit, fast_autocast_dtype, hardware, synchronize, time_per_call

from stackgan_hf.models import (
    StackGANStage1Discriminator,
    StackGANStage1Generator,
    StackGANStage2Discriminator,
    StackGANStage2Generator,
)
from stackgan_hf.training import StackGANTrainingConfig
from stackgan_hf.training.step import StackGANGame, StepBatch, StepHooks, stackgan_step

TEXT_DIM = 1024  # char-CNN-RNN embeddings


def build(stage: int, device: str, fast: bool, compile_models: bool):
    torch.manual_seed(0)
    defaults = StackGANTrainingConfig()
    stage1 = StackGANStage1Generator(text_embedding_dim=TEXT_DIM, base_channels=defaults.generator_channels)
    if stage == 1:
        generator, frozen = stage1, None
        discriminator = StackGANStage1Discriminator(base_channels=defaults.discriminator_channels)
    else:
        frozen = stage1.requires_grad_(False).eval()
        generator = StackGANStage2Generator(
            text_embedding_dim=TEXT_DIM, base_channels=defaults.generator_channels
        )
        discriminator = StackGANStage2Discriminator(base_channels=defaults.discriminator_channels)
    memory_format = torch.channels_last if fast else torch.contiguous_format
    for model in (generator, discriminator, frozen):
        if model is not None:
            model.to(device=device, memory_format=memory_format)
    if fast and compile_models:
        generator.compile()
        discriminator.compile()
    fused = {"fused": True} if fast and device == "cuda" else {}
    g_opt = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999), **fused)
    d_opt = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999), **fused)
    return generator, discriminator, frozen, g_opt, d_opt, memory_format


def make_step(stage, batch_size, device, fast, compile_models=False):
    generator, discriminator, frozen, g_opt, d_opt, memory_format = build(stage, device, fast, compile_models)
    size = 64 if stage == 1 else 256
    data = torch.Generator(device="cpu").manual_seed(1)
    real = torch.rand(batch_size, 3, size, size, generator=data).mul(2).sub(1).to(device)
    mismatched = torch.rand(batch_size, 3, size, size, generator=data).mul(2).sub(1).to(device)
    real, mismatched = (x.contiguous(memory_format=memory_format) for x in (real, mismatched))
    text = torch.randn(batch_size, TEXT_DIM, generator=data).to(device)
    dtype = fast_autocast_dtype(device) if fast else None

    def autocast():
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device, dtype=dtype)

    rng = torch.Generator(device=device).manual_seed(0)
    game = StackGANGame(generator, discriminator, noise_dim=100, stage1_generator=frozen)
    batch, hooks = StepBatch(text, real, mismatched), StepHooks(autocast=autocast)

    def step():
        return stackgan_step(game, g_opt, d_opt, batch, rng, hooks)

    return step, (str(dtype).replace("torch.", "") if dtype else "fp32")


def step_flops(step) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        step()
    return counter.get_total_flops()


def bf16_matmul_rate(device: str, n: int = 8192, repeats: int = 20) -> float:
    """Measured bf16 matrix-multiply FLOP/s of this GPU (the practical peak the step is compared with)."""
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    seconds = time_per_call(lambda: a @ b, device, repeats, 3)
    return 2 * n**3 / seconds


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stage", type=int, choices=[1, 2], default=1)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument(
        "--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu"
    )
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="torch.compile both networks on the fast path")
    parser.add_argument("--output", default=None, help="also append the JSON line to this file")
    args = parser.parse_args(argv)
    if args.device == "cuda":
        torch.backends.cudnn.benchmark = True
    record = {
        "benchmark": "stackgan_train",
        "stage": args.stage,
        "batch_size": args.batch_size,
        "steps": args.steps,
        **hardware(args.device),
    }
    for path in ("plain", "fast"):
        step, precision = make_step(args.stage, args.batch_size, args.device, path == "fast", args.compile)
        seconds = time_per_call(step, args.device, args.steps, args.warmup)
        record[f"{path}_images_per_s"] = round(args.batch_size / seconds, 2)
        record[f"{path}_precision"] = precision
        if path == "fast" and args.device == "cuda":
            flops = step_flops(step)
            synchronize(args.device)
            peak = bf16_matmul_rate(args.device)
            record["step_tflop"] = round(flops / 1e12, 3)
            record["fast_tflops"] = round(flops / seconds / 1e12, 2)
            record["bf16_matmul_tflops_measured"] = round(peak / 1e12, 1)
            record["share_of_bf16_matmul_rate"] = round(flops / seconds / peak, 3)
        del step
    record["fast_path"] = (
        "channels_last"
        + ("+" + record["fast_precision"] if record["fast_precision"] != "fp32" else "")
        + ("+fused_adam" if args.device == "cuda" else "")
        + ("+compile" if args.compile else "")
    )
    record["speedup"] = round(record["fast_images_per_s"] / record["plain_images_per_s"], 2)
    record["output"] = args.output
    emit(record)
    return record


if __name__ == "__main__":
    main()
