"""Shared fixtures: tiny models built from configs; nothing is downloaded."""

from __future__ import annotations

import json
import os
import runpy
import string
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from stackgan_hf import (  # noqa: E402
    HashedBagOfWordsEncoder,
    StackGANPipeline,
    StackGANStage1Generator,
    StackGANStage2Generator,
)


def reset_accelerate_state() -> None:
    """Forgets accelerate's process-wide singletons, so that the next training run starts from scratch."""
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(True)
    GradientState._reset_state()


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    """accelerate keeps process-wide singletons; each test's training runs start from scratch."""
    yield
    reset_accelerate_state()


SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def run_script(
    script: str, argv: list[str], capsys, in_process: bool = True, timeout: int = 300
) -> tuple[int, str, str]:
    """Runs ``scripts/<script>`` with ``argv``, in this process (``runpy``, ``sys.argv`` patched) or as a real
    process (offline, one thread); returns its exit code (0 when it returns), stderr and stdout."""
    path = SCRIPTS / script
    if not in_process:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
        result = subprocess.run(
            [sys.executable, str(path), *argv], capture_output=True, text=True, env=env, timeout=timeout
        )
        return result.returncode, result.stderr, result.stdout
    old_argv = sys.argv
    sys.argv = [str(path), *argv]
    try:
        runpy.run_path(str(path), run_name="__main__")
        code = 0
    except SystemExit as exit_info:
        code = exit_info.code if isinstance(exit_info.code, int) else 1
    finally:
        sys.argv = old_argv
    captured = capsys.readouterr()
    return code, captured.err, captured.out


# Tiny StackGAN training values shared by the training, evaluation and report tests.
TINY_TRAINING = dict(
    condition_dim=4,
    generator_channels=16,
    discriminator_channels=4,
    num_residual_blocks=1,
    train_batch_size=4,
    sample_steps=1000,
    report_to="none",
)

CAPTIONS = [
    "this bird has a red crown and blue wings",
    "a small yellow bird with a short black beak",
    "the bird is white with grey wings and a long beak",
]

TINY_G1 = dict(noise_dim=8, condition_dim=4, base_channels=16)
TINY_G2 = dict(condition_dim=4, base_channels=8, num_residual_blocks=1)
TINY_D = dict(condition_dim=4, base_channels=4)


def write_tiny_clip_tokenizer(directory) -> dict[str, int]:
    """A character-level CLIP BPE vocabulary (no merges) saved as vocab.json + merges.txt."""
    chars = list(string.ascii_lowercase + string.digits + ".,!?'-")
    vocab: dict[str, int] = {}
    for suffix in ("", "</w>"):
        for char in chars:
            vocab[char + suffix] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "vocab.json"), "w") as f:
        json.dump(vocab, f)
    with open(os.path.join(directory, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n")
    return vocab


def tiny_clip_text_kwargs(vocab: dict[str, int], num_hidden_layers: int) -> dict:
    """A 32-wide CLIP text configuration (32 positions) for the character-level vocabulary ``vocab``."""
    return dict(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=4,
        max_position_embeddings=32,
        bos_token_id=vocab["<|startoftext|>"],
        eos_token_id=vocab["<|endoftext|>"],
        pad_token_id=vocab["<|endoftext|>"],
    )


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory):
    """A 2-layer, 32-wide CLIPTextModel (32 positions) and its character-level tokenizer."""
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    directory = tmp_path_factory.mktemp("tiny-clip")
    vocab = write_tiny_clip_tokenizer(directory)
    tokenizer = CLIPTokenizer.from_pretrained(directory, model_max_length=32)
    config = CLIPTextConfig(**tiny_clip_text_kwargs(vocab, num_hidden_layers=2))
    torch.manual_seed(0)
    return CLIPTextModel(config).eval(), tokenizer


@pytest.fixture(scope="session")
def tiny_sentence_encoder(tmp_path_factory):
    """A 2-layer, 24-wide BertModel with a word-level WordPiece vocabulary (a sentence encoder's shape)."""
    from transformers import BertConfig, BertModel, BertTokenizer

    directory = tmp_path_factory.mktemp("tiny-bert")
    words = sorted(set(" ".join(CAPTIONS).split()))
    with open(directory / "vocab.txt", "w") as f:
        f.write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]))
    tokenizer = BertTokenizer.from_pretrained(directory, model_max_length=16)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=24,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=16,
    )
    torch.manual_seed(0)
    return BertModel(config).eval(), tokenizer


@pytest.fixture(scope="session")
def bag_of_words():
    vocabulary = HashedBagOfWordsEncoder.build_vocabulary(CAPTIONS)
    return HashedBagOfWordsEncoder(vocabulary=vocabulary, embedding_dim=24, num_hash_buckets=64)


def make_tiny_pipeline(
    text_encoder=None, tokenizer=None, embedding_dim=None, stage2=True, upsample_mode="nearest"
):
    """A pipeline with tiny, randomly initialised generators (seeded, so two calls build the same one)."""
    if embedding_dim is None:
        from stackgan_hf.text import text_embedding_dim

        embedding_dim = text_embedding_dim(text_encoder)
    torch.manual_seed(0)
    stage1 = StackGANStage1Generator(text_embedding_dim=embedding_dim, upsample_mode=upsample_mode, **TINY_G1)
    stage2_generator = (
        StackGANStage2Generator(text_embedding_dim=embedding_dim, upsample_mode=upsample_mode, **TINY_G2)
        if stage2
        else None
    )
    return StackGANPipeline(
        stage1_generator=stage1,
        stage2_generator=stage2_generator,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
    )
