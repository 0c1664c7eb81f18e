"""Builds CUB-200-2011 (StackGAN layout) into a `datasets.DatasetDict` saved with `save_to_disk`.

    python scripts/prepare_cub.py --cub_dir DIR --birds_dir DIR [--split stackgan|cub] [--image_size 304] \
        --output_dir OUT [--embeddings_file NAME] [--text_encoder PATH] [--skip_corrupt] \
        [--overwrite_output_dir] [--push_to_hub --hub_dataset_id ID]

--cub_dir holds images.txt, bounding_boxes.txt, train_test_split.txt and images/; --birds_dir holds
{train,test}/filenames.pickle, class_info.pickle, text_c10/ and, when available, the char-CNN-RNN embeddings.
--text_encoder PATH writes the `embeddings` column with a text encoder instead (a char-CNN-RNN trained with
scripts/train_text_encoder.py on data that has no embeddings pickle, or a transformers sentence encoder).
An existing --output_dir is replaced (once the new dataset is complete) only with --overwrite_output_dir.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from stackgan_hf.data import CubFormatError, UnsafePickleError, prepare_cub
from stackgan_hf.data.cub import EMBEDDINGS_FILE, MAX_IMAGE_SIZE, check_cub_inputs
from stackgan_hf.utils.cli import bounded_int
from stackgan_hf.utils.hub import HubTokenError, require_hub_token


def check_output_dir(output_dir: Path, overwrite: bool) -> None:
    """Refuses an ``output_dir`` that is a file, or a non-empty folder unless ``overwrite``."""
    if output_dir.exists() and not output_dir.is_dir():
        raise CubFormatError(f"--output_dir {output_dir} is a file; expected a new or empty folder.")
    if output_dir.is_dir() and any(output_dir.iterdir()) and not overwrite:
        what = "a prepared dataset" if (output_dir / "build_info.json").is_file() else "other files"
        raise CubFormatError(
            f"--output_dir {output_dir} already holds {what}: pass --overwrite_output_dir to replace it "
            "(once the new dataset is complete), or choose another folder."
        )


def main(argv=None) -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--cub_dir", required=True)
    parser.add_argument("--birds_dir", required=True)
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--split", choices=["stackgan", "cub"], default="stackgan")
    parser.add_argument(
        "--image_size", type=bounded_int(1, MAX_IMAGE_SIZE), default=304, help="side of the stored crops"
    )
    parser.add_argument("--embeddings_file", default=EMBEDDINGS_FILE)
    parser.add_argument(
        "--text_encoder",
        default=None,
        help="embed the captions with this text encoder (e.g. a scripts/train_text_encoder.py folder)",
    )
    parser.add_argument("--skip_corrupt", action="store_true", help="skip unreadable images and count them")
    parser.add_argument(
        "--overwrite_output_dir", action="store_true", help="replace an existing --output_dir"
    )
    parser.add_argument("--push_to_hub", action="store_true")
    parser.add_argument("--hub_dataset_id", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    if args.hub_dataset_id and not args.push_to_hub:
        parser.error("--hub_dataset_id is only used with --push_to_hub; add --push_to_hub or drop it")
    if args.push_to_hub:
        if not args.hub_dataset_id:
            parser.error("--push_to_hub needs --hub_dataset_id")
        try:
            require_hub_token(flag=None)
        except HubTokenError as error:
            parser.error(str(error))
    try:
        check_cub_inputs(args.cub_dir, args.birds_dir, args.image_size)
        check_output_dir(Path(args.output_dir), args.overwrite_output_dir)
        dataset, report = prepare_cub(
            args.cub_dir,
            args.birds_dir,
            args.output_dir,
            text_encoder=args.text_encoder,
            split=args.split,
            image_size=args.image_size,
            embeddings_file=args.embeddings_file,
            skip_corrupt=args.skip_corrupt,
        )
    except (CubFormatError, UnsafePickleError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a full disk, a folder that cannot be written
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(dataset)
    print(json.dumps(report.summary(), indent=2))
    if report.skipped_corrupt:
        skipped = report.skipped_corrupt
        print(f"Skipped {len(skipped)} corrupt image(s), e.g. {', '.join(skipped[:5])}")
    print(f"Saved to {args.output_dir}")
    if args.push_to_hub:
        dataset.push_to_hub(args.hub_dataset_id)
        print(f"Pushed to https://huggingface.co/datasets/{args.hub_dataset_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
