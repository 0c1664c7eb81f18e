"""Builds CUB-200-2011 (StackGAN layout) into a `datasets.DatasetDict` saved with `save_to_disk`.

    python scripts/prepare_cub.py --cub_dir DIR --birds_dir DIR [--split stackgan|cub] [--image_size 304] \
        --output_dir OUT [--embeddings_file NAME] [--text_encoder PATH] [--skip_corrupt] \
        [--push_to_hub --hub_dataset_id ID]

--cub_dir holds images.txt, bounding_boxes.txt, train_test_split.txt and images/; --birds_dir holds
{train,test}/filenames.pickle, class_info.pickle, text_c10/ and, when available, the char-CNN-RNN embeddings.
--text_encoder PATH writes the `embeddings` column with a text encoder instead (a char-CNN-RNN trained with
scripts/train_text_encoder.py on data that has no embeddings pickle, or a transformers sentence encoder).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from stackgan_hf.data import CubFormatError, UnsafePickleError, prepare_cub
from stackgan_hf.data.cub import EMBEDDINGS_FILE
from stackgan_hf.hub import HubTokenError, require_hub_token


def main(argv=None) -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--cub_dir", required=True)
    parser.add_argument("--birds_dir", required=True)
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--split", choices=["stackgan", "cub"], default="stackgan")
    parser.add_argument("--image_size", type=int, default=304)
    parser.add_argument("--embeddings_file", default=EMBEDDINGS_FILE)
    parser.add_argument(
        "--text_encoder",
        default=None,
        help="embed the captions with this text encoder (e.g. a scripts/train_text_encoder.py folder)",
    )
    parser.add_argument("--skip_corrupt", action="store_true", help="skip unreadable images and count them")
    parser.add_argument("--push_to_hub", action="store_true")
    parser.add_argument("--hub_dataset_id", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    if args.push_to_hub:
        if not args.hub_dataset_id:
            parser.error("--push_to_hub needs --hub_dataset_id")
        try:
            require_hub_token()
        except HubTokenError as error:
            parser.error(str(error))
    try:
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
