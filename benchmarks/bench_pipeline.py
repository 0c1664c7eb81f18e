"""StackGANPipeline sampling throughput (images/s) at 64x64 (Stage-I) and 256x256 (Stage-I + Stage-II), at
the official birds widths, from 1024-d prompt embeddings; plain path against fast path in one process.

    python benchmarks/bench_pipeline.py --device cpu|cuda [--batch_size 16] [--steps 5]

plain: contiguous (NCHW) weights, fp32. fast: channels-last weights (the pipeline's default), bf16 autocast
on GPUs and on CPUs with native bf16. Both run under the pipeline's torch.inference_mode.
"""

from __future__ import annotations

import argparse
import contextlib

import torch
from common import emit, fast_autocast_dtype, hardware, time_per_call

from stackgan_hf import StackGANPipeline, StackGANStage1Generator, StackGANStage2Generator


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu"
    )
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    stage1 = StackGANStage1Generator(text_embedding_dim=1024)
    stage2 = StackGANStage2Generator(text_embedding_dim=1024)
    embeds = torch.randn(args.batch_size, 1024)
    records = []
    for resolution, second in ((64, None), (256, stage2)):
        record = {
            "benchmark": "pipeline_sampling",
            "resolution": resolution,
            "batch_size": args.batch_size,
            **hardware(args.device),
        }
        pipe = StackGANPipeline(stage1_generator=stage1, stage2_generator=second).to(args.device)
        for path in ("plain", "fast"):
            memory_format = torch.channels_last if path == "fast" else torch.contiguous_format
            for model in (pipe.stage1_generator, pipe.stage2_generator):
                if model is not None:
                    model.to(memory_format=memory_format)
            dtype = fast_autocast_dtype(args.device) if path == "fast" else None

            def sample(pipe=pipe, dtype=dtype):
                context = torch.autocast(args.device, dtype=dtype) if dtype else contextlib.nullcontext()
                with context:
                    return pipe(
                        prompt_embeds=embeds, generator=torch.Generator().manual_seed(0), output_type="pt"
                    )

            seconds = time_per_call(sample, args.device, args.steps, args.warmup)
            record[f"{path}_images_per_s"] = round(args.batch_size / seconds, 2)
            record[f"{path}_precision"] = str(dtype).replace("torch.", "") if dtype else "fp32"
        record["speedup"] = round(record["fast_images_per_s"] / record["plain_images_per_s"], 2)
        record["output"] = args.output
        emit(record)
        records.append(record)
    return records


if __name__ == "__main__":
    main()
