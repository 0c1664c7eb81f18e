"""Generates birds from captions with a saved StackGANPipeline (a local folder or a Hub repo id).

    python scripts/generate.py --model DIR_OR_REPO_ID (--prompt TEXT [TEXT ...] | --prompts_file FILE) \
        [--num_images 4] [--seed 0] [--batch_size 64] [--grid_images 16] [--output_dir outputs/generated] \
        [--overwrite]

Writes every Stage-I (64x64) and Stage-II (256x256) image as PNG, a captioned grid.png of the first
--grid_images images and images.json. Images are generated and written --batch_size at a time (memory does
not grow with --num_images). Files of an earlier run in --output_dir are never replaced without --overwrite.
"""

from __future__ import annotations

import argparse

from stackgan_hf.generation import MAX_SEED, generate_to_folder, read_prompts
from stackgan_hf.utils.cli import bounded_int, positive_int, run_script


def main(argv=None) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--model", default="outputs/quickstart", help="pipeline folder or Hub repo id")
    parser.add_argument("--prompt", nargs="+", default=None)
    parser.add_argument("--prompts_file", default=None, help="UTF-8 text file, one prompt a line")
    parser.add_argument("--num_images", type=positive_int, default=4, help="images per prompt")
    parser.add_argument(
        "--seed", type=bounded_int(0, MAX_SEED), default=0, help="image k is drawn with seed + k"
    )
    parser.add_argument("--batch_size", type=positive_int, default=64, help="images generated at a time")
    parser.add_argument("--grid_images", type=positive_int, default=16, help="images shown in grid.png")
    parser.add_argument("--output_dir", default="outputs/generated")
    parser.add_argument("--overwrite", action="store_true", help="replace files of an earlier run")
    args = parser.parse_args(argv)
    try:  # one line, not a traceback, for a bad prompt, model or output folder
        prompts = read_prompts(args.prompt, args.prompts_file)
        from stackgan_hf import StackGANPipeline

        pipe = StackGANPipeline.from_pretrained(args.model)
        pipe.check_inputs(prompts, None)
        pipe.encode_prompt(prompts, pipe.device)  # a prompt the encoder cannot read fails before any image
        result = generate_to_folder(
            pipe,
            prompts,
            args.num_images,
            args.seed,
            args.output_dir,
            batch_size=args.batch_size,
            grid_images=args.grid_images,
            overwrite=args.overwrite,
        )
    except (ValueError, OSError) as error:  # OSError: FileNotFoundError, FileExistsError, a full disk
        parser.error(str(error))
    print(f"Wrote {len(result['images'])} image(s) and {result['grid']}")


if __name__ == "__main__":
    run_script(main)
