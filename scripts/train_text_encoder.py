"""Train a char-CNN-RNN text encoder (Reed et al. 2016) on captioned images, jointly with an image encoder.

    python scripts/train_text_encoder.py [--config FILE.yaml] [--key value ...]
    accelerate launch scripts/train_text_encoder.py --dataset .data/cub50 --output_dir outputs/char_cnn_rnn

Every field of `stackgan_hf.training.text_encoder.TextEncoderTrainingConfig` is a flag (`--help` lists them).
`--dataset` takes `synthetic-birds`, a `prepare_cub.py` folder or any `datasets` image + caption set
(`--image_column`, `--caption_column`, `--class_column`); `--loss ds-sje` (Reed's, needs class labels) or
`infonce` (CLIP's). The output folder is the text encoder and its tokenizer (use it as `--text_encoder` in
training, in `prepare_cub.py`, or with `stackgan_hf.text.load_text_encoder`), the image encoder in
`image_encoder/`, `metrics.json` (retrieval R@1 and zero-shot accuracy on `--eval_split`) and a model card.
Resume with `--resume_from_checkpoint latest`; an output folder that holds another run is refused unless the
run resumes it or `--overwrite_output_dir true` replaces it. Bad input (an option out of range or for another
mode, a split that does not exist, unusable checkpoints, a NaN loss) ends with one `error: ...` line and exit
code 2, before anything is trained or saved.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from pathlib import Path

from stackgan_hf.data.loading import UnknownSplitError
from stackgan_hf.training.text_encoder import TextEncoderTrainingConfig, train_text_encoder
from stackgan_hf.utils.cli import USER_ERRORS, run_script
from stackgan_hf.utils.config import ConfigError, option, parse_config
from stackgan_hf.utils.run_dir import check_output_dir, remove_previous_runs, set_aside_previous_run

SYNTHETIC_SPLITS = ("train", "test")


@dataclass
class TextEncoderScriptConfig(TextEncoderTrainingConfig):
    """The trainer's config and the flags of this script alone; every field is a flag."""

    overwrite_output_dir: bool = option(
        False,
        "Start a new run in an output_dir that holds another run (a saved encoder, checkpoints): its "
        "checkpoints and logs are moved aside and removed once the new encoder is saved.",
    )

    def __post_init__(self):
        super().__post_init__()
        for name, minimum in (("learning_rate", 0), ("weight_decay", None)):
            value = getattr(self, name)
            ok = math.isfinite(value) and (value > 0 if minimum == 0 else value >= 0)
            if not ok:
                raise ConfigError(
                    f"`{name}` must be a number {'> 0' if minimum == 0 else '>= 0'}, got {value!r}."
                )
        if any(channels < 1 for channels in self.conv_channels):
            raise ConfigError(f"`conv_channels` must be at least 1 each, got {self.conv_channels!r}.")


def _split_names(dataset: str) -> list[str] | None:
    """The splits of ``dataset`` where they can be read without loading it; None: unknown here."""
    if dataset.startswith("synthetic-birds"):
        return list(SYNTHETIC_SPLITS)
    index = Path(dataset) / "dataset_dict.json"
    if index.is_file():
        return list(json.loads(index.read_text())["splits"])
    return None


def check_config(config: TextEncoderScriptConfig) -> None:
    """What spans several options or the dataset, before anything is read or trained (the evaluation split
    is loaded only after training). ``ConfigError`` naming the options."""
    defaults = {item.name: item.default for item in fields(config)}
    unused = []
    if config.image_model:
        unused.append(
            ("image_channels", config.image_channels != defaults["image_channels"], "image_model is set")
        )
    else:
        unused.append(("train_image_model", config.train_image_model, "no image_model is set"))
    synthetic = config.dataset.startswith("synthetic-birds")
    changed = config.synthetic_num_images != defaults["synthetic_num_images"]
    unused.append(("synthetic_num_images", changed and not synthetic, f"dataset is {config.dataset}"))
    changed = config.num_eval_candidates != defaults["num_eval_candidates"]
    unused.append(("num_eval_candidates", changed and not config.eval_split, "eval_split is none"))
    for name, is_set, reason in unused:
        if is_set:
            raise ConfigError(f"`{name}` does not apply: {reason}. Leave it out or change the mode.")
    splits = _split_names(config.dataset)
    for name in ("train_split", "eval_split"):
        split = getattr(config, name)
        if split and splits is not None and split not in splits:
            raise UnknownSplitError(
                f"`{name}` {split!r}: {config.dataset} has no such split (splits: {splits})."
            )


def main(argv: list[str] | None = None) -> None:
    config = parse_config(TextEncoderScriptConfig, argv, description=__doc__)
    check_config(config)
    check_output_dir(config.output_dir, config.resume_from_checkpoint, config.overwrite_output_dir)
    from accelerate import PartialState

    state = PartialState()
    if config.overwrite_output_dir and state.is_main_process:
        aside = set_aside_previous_run(config.output_dir, config.logging_dir)
        if aside is not None:
            print(
                f"--overwrite_output_dir: the earlier run's checkpoints and logs are in {aside} until saved."
            )
    state.wait_for_everyone()
    result = train_text_encoder(config)
    if state.is_main_process:
        remove_previous_runs(config.output_dir)
    print(f"Trained {result.global_step} steps in {result.seconds / 60:.1f} min: {result.metrics}")


if __name__ == "__main__":
    run_script(main, (*USER_ERRORS, UnknownSplitError))
