"""Standardises a char-CNN-RNN saved before standardisation existed, over its training captions, in place."""

import json
import sys
from pathlib import Path

from transformers import AutoTokenizer

from stackgan_hf.text import CharCNNRNNEncoder
from stackgan_hf.training.text_encoder import TextEncoderTrainingConfig, _load_split, _training_caption_ids

path = sys.argv[1]
cfg = json.loads(Path(path, "metrics.json").read_text())["config"]
config = TextEncoderTrainingConfig(**{k: (tuple(v) if k == "conv_channels" else v) for k, v in cfg.items()})
encoder = CharCNNRNNEncoder.from_pretrained(path).eval()
tokenizer = AutoTokenizer.from_pretrained(path)
rows = _load_split(config, config.train_split)
encoder.standardize_(_training_caption_ids(rows, tokenizer, config, "cpu"))
encoder.save_pretrained(path)
print(path, encoder.output_scale[:4], encoder.output_shift[:4])
