"""Prompt -> ``[B, D]`` text embeddings, for every kind of text encoder the pipeline accepts.

A transformers text model with its tokenizer (CLIP's pooled output, or a sentence encoder's masked mean),
:class:`~stackgan_hf.text.HashedBagOfWordsEncoder`, :class:`~stackgan_hf.text.CharCNNRNNEncoder` with its
character tokenizer, or none: precomputed embeddings passed as ``prompt_embeds``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch

from .bag_of_words import HashedBagOfWordsEncoder
from .char_cnn_rnn import CharCNNRNNEncoder, char_ids

logger = logging.getLogger(__name__)

POOLING_MODES = ("auto", "pooled", "mean")


def resolve_pooling(text_encoder, pooling: str = "auto") -> str:
    """``"auto"`` picks ``"pooled"`` for CLIP text models (their pooled output is the end-of-text token, the
    one CLIP trains) and ``"mean"`` (masked mean of token states, as sentence-transformers does) otherwise."""
    if pooling not in POOLING_MODES:
        raise ValueError(f"text pooling must be one of {POOLING_MODES}, got {pooling!r}.")
    if pooling != "auto":
        return pooling
    model_type = getattr(getattr(text_encoder, "config", None), "model_type", "")
    return "pooled" if model_type.startswith("clip") else "mean"


def text_embedding_dim(text_encoder) -> int:
    """Width ``D`` of the embeddings :func:`encode_prompts` returns for ``text_encoder``."""
    if isinstance(text_encoder, (HashedBagOfWordsEncoder, CharCNNRNNEncoder)):
        return text_encoder.config.embedding_dim
    config = text_encoder.config
    if hasattr(text_encoder, "text_projection") and getattr(config, "projection_dim", None):
        return config.projection_dim
    return config.hidden_size


def max_prompt_tokens(text_encoder, tokenizer) -> int:
    """The longest token sequence the encoder takes: the tokenizer's limit, capped by the position table."""
    config = getattr(text_encoder, "config", None)
    limits = [getattr(tokenizer, "model_max_length", None)]
    limits += [getattr(config, "max_position_embeddings", None), getattr(config, "max_length", None)]
    limits = [int(limit) for limit in limits if limit is not None and limit < 1_000_000]
    if not limits:
        raise ValueError("Cannot tell the text encoder's maximum length: set tokenizer.model_max_length.")
    return min(limits)


def truncated_prompts(prompts: Sequence[str], tokenizer, max_length: int) -> list[int]:
    """Indices of the prompts that are longer than ``max_length`` tokens (special tokens included)."""
    lengths = [len(ids) for ids in tokenizer(list(prompts), truncation=False)["input_ids"]]
    return [i for i, length in enumerate(lengths) if length > max_length]


@torch.no_grad()
def encode_prompts(
    prompts: Sequence[str],
    text_encoder,
    tokenizer=None,
    pooling: str = "auto",
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Encodes ``B`` prompts with any text encoder the pipeline accepts.

    Prompts longer than a transformers encoder's limit are truncated, with a warning naming them.

    Args:
        prompts: the captions.
        text_encoder: a transformers text model, a :class:`HashedBagOfWordsEncoder` or a
            :class:`CharCNNRNNEncoder`.
        tokenizer: the encoder's tokenizer (not needed by the bag-of-words encoder).
        pooling: ``"auto"``, ``"pooled"`` or ``"mean"`` (see :func:`resolve_pooling`).
        device: the embeddings' device (default: the encoder's).

    Returns:
        A float tensor ``[B, D]``.
    """
    prompts = list(prompts)
    if isinstance(text_encoder, HashedBagOfWordsEncoder):
        embeddings = text_encoder(prompts)
        return embeddings.to(device) if device is not None else embeddings
    if tokenizer is None:
        raise ValueError(f"{type(text_encoder).__name__} needs a tokenizer: pass `tokenizer`.")
    device = device if device is not None else text_encoder.device
    max_length = max_prompt_tokens(text_encoder, tokenizer)
    too_long = truncated_prompts(prompts, tokenizer, max_length)
    if too_long:
        logger.warning(
            "%d prompt(s) are longer than the text encoder's limit of %d tokens and were truncated: %s",
            len(too_long),
            max_length,
            ", ".join(repr(prompts[i][:60] + "...") for i in too_long),
        )
    if isinstance(text_encoder, CharCNNRNNEncoder):
        return text_encoder(char_ids(tokenizer, prompts, max_length, device)).float()
    # Pad to the longest prompt, not to the limit: mean pooling is masked and CLIP's attention is causal, so
    # the embeddings are the same at a fraction of the cost for encoders with long limits (512 for BERTs).
    inputs = tokenizer(
        prompts, padding="longest", max_length=max_length, truncation=True, return_tensors="pt"
    )
    input_ids = inputs["input_ids"].to(device)
    attention_mask = inputs["attention_mask"].to(device)
    outputs = text_encoder(input_ids=input_ids, attention_mask=attention_mask)
    mode = resolve_pooling(text_encoder, pooling)
    if mode == "pooled":
        embeds = getattr(outputs, "text_embeds", None)
        if embeds is None:
            embeds = outputs.pooler_output
        if embeds is None:
            raise ValueError(f"{type(text_encoder).__name__} has no pooled output: use pooling='mean'.")
        return embeds.float()
    states = outputs.last_hidden_state.float()
    mask = attention_mask[:, :, None].to(states.dtype)
    return (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


def load_text_encoder(name_or_path: str, **kwargs):
    """Loads a text encoder and its tokenizer from a local path or a Hub id.

    A folder written by ``scripts/train_text_encoder.py`` loads as a :class:`CharCNNRNNEncoder`, CLIP
    checkpoints as ``CLIPTextModel``, anything else with ``AutoModel``.

    Args:
        name_or_path: a local folder or a Hub id such as ``openai/clip-vit-base-patch32``.
        **kwargs: passed to both ``from_pretrained`` calls.

    Returns:
        ``(text_encoder, tokenizer)``.
    """
    from transformers import AutoConfig, AutoModel, AutoTokenizer, CLIPTextModel

    if _is_char_cnn_rnn_folder(name_or_path):
        text_encoder = CharCNNRNNEncoder.from_pretrained(name_or_path).eval()
        return text_encoder, AutoTokenizer.from_pretrained(name_or_path)
    path = Path(name_or_path).expanduser()
    if not path.exists() and (
        path.is_absolute() or name_or_path.startswith((".", "~")) or name_or_path.count("/") > 1
    ):
        raise FileNotFoundError(
            f"text encoder {name_or_path}: no such folder (nor a Hub id such as user/name)"
        )
    try:
        config = AutoConfig.from_pretrained(name_or_path, **kwargs)
    except (OSError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise FileNotFoundError(
            f"text encoder {name_or_path!r}: not a local model folder, and not a transformers model that "
            f"could be loaded from the Hub ({reason})"
        ) from None
    model_class = CLIPTextModel if config.model_type.startswith("clip") else AutoModel
    text_encoder = model_class.from_pretrained(name_or_path, **kwargs).eval()
    tokenizer = AutoTokenizer.from_pretrained(name_or_path, **kwargs)
    return text_encoder, tokenizer


def _is_char_cnn_rnn_folder(name_or_path: str) -> bool:
    import json
    from pathlib import Path

    config = Path(name_or_path) / "config.json"
    if not config.is_file():
        return False
    try:
        return json.loads(config.read_text()).get("_class_name") == CharCNNRNNEncoder.__name__
    except (OSError, ValueError):
        return False
