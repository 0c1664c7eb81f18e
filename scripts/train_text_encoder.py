"""Train a char-CNN-RNN text encoder (Reed et al. 2016) on captioned images, jointly with an image encoder.

    python scripts/train_text_encoder.py [--config FILE.yaml] [--key value ...]
    accelerate launch scripts/train_text_encoder.py --dataset .data/cub50 --output_dir outputs/char_cnn_rnn

Every field of `stackgan_hf.text.training.TextEncoderTrainingConfig` is a flag (`--help` lists them).
`--dataset` takes `synthetic-birds`, a `prepare_cub.py` folder or any `datasets` image + caption set
(`--image_column`, `--caption_column`, `--class_column`); `--loss ds-sje` (Reed's, needs class labels) or
`infonce` (CLIP's). The output folder is the text encoder and its tokenizer (use it as `--text_encoder` in
training, in `prepare_cub.py`, or with `stackgan_hf.text.load_text_encoder`), the image encoder in
`image_encoder/`, `metrics.json` (retrieval R@1 and zero-shot accuracy on `--eval_split`) and a model card.
Resume with `--resume_from_checkpoint latest`.
"""

from __future__ import annotations

from stackgan_hf.cli import run_script
from stackgan_hf.config import parse_config
from stackgan_hf.text.training import TextEncoderTrainingConfig, train_text_encoder


def main(argv: list[str] | None = None) -> None:
    result = train_text_encoder(parse_config(TextEncoderTrainingConfig, argv, description=__doc__))
    print(f"Trained {result.global_step} steps in {result.seconds / 60:.1f} min: {result.metrics}")


if __name__ == "__main__":
    run_script(main)
