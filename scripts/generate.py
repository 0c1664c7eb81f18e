"""Generates birds from captions with a saved StackGANPipeline (a local folder or a Hub repo id).

    python scripts/generate.py --model DIR_OR_REPO_ID (--prompt TEXT [TEXT ...] | --prompts_file FILE) \
        [--num_images 4] [--seed 0] [--output_dir outputs/generated]

Writes every Stage-I (64x64) and Stage-II (256x256) image as PNG, a captioned grid.png and images.json.
"""

from __future__ import annotations

import argparse

from stackgan_hf import StackGANPipeline
from stackgan_hf.cli import run_script
from stackgan_hf.generation import generate_to_folder, read_prompts


def main(argv=None) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--model", default="outputs/quickstart", help="pipeline folder or Hub repo id")
    parser.add_argument("--prompt", nargs="+", default=None)
    parser.add_argument("--prompts_file", default=None)
    parser.add_argument("--num_images", type=int, default=4, help="images per prompt")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output_dir", default="outputs/generated")
    args = parser.parse_args(argv)
    try:
        prompts = read_prompts(args.prompt, args.prompts_file)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    if args.num_images < 1:
        parser.error("--num_images must be at least 1")
    try:  # a missing model folder, an empty or wordless prompt: one line, not a traceback
        pipe = StackGANPipeline.from_pretrained(args.model)
        result = generate_to_folder(pipe, prompts, args.num_images, args.seed, args.output_dir)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    print(f"Wrote {len(result['images'])} image(s) and {result['grid']}")


if __name__ == "__main__":
    run_script(main)
