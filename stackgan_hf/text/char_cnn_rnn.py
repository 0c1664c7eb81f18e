"""A char-CNN-RNN text encoder (Reed et al., CVPR 2016), the encoder behind StackGAN's text embeddings.

It reads a caption's UTF-8 bytes (201) through three temporal convolutions with max-pooling, a ReLU RNN,
the mean of its states and a linear layer, as Reed's ``HybridCNNLong``; trainable on your own captions and
saved inside a pipeline. Design: docs/theory.md, "The char-CNN-RNN in code".
"""

from __future__ import annotations

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

__all__ = ["CharCNNRNNEncoder", "char_ids", "char_tokenizer"]


def char_tokenizer(max_length: int = 201):
    """The character vocabulary: a byte-level ``ByT5Tokenizer`` (UTF-8 bytes + pad, eos and unk; no
    sentinel ids) that truncates at ``max_length``. It is saved and loaded with the pipeline like any
    transformers tokenizer."""
    from transformers import ByT5Tokenizer

    return ByT5Tokenizer(extra_ids=0, model_max_length=max_length)


def char_ids(tokenizer, prompts, max_length: int, device=None) -> torch.Tensor:
    """``[B, max_length]`` character ids of ``prompts``, always padded to the full width: the convolutions
    and the RNN's average run over every position, padding included (as Reed's), so padding to the longest
    prompt would change a caption's embedding."""
    ids = tokenizer(
        list(prompts), padding="max_length", max_length=max_length, truncation=True, return_tensors="pt"
    )
    return ids["input_ids"].to(device) if device is not None else ids["input_ids"]


class CharCNNRNNEncoder(ModelMixin, ConfigMixin):
    """Character ids ``[B, L]`` -> standardized text embeddings ``[B, embedding_dim]``.

    Args:
        vocab_size: number of character ids (259 for :func:`char_tokenizer`).
        max_length: characters read per caption (Reed: 201); shorter inputs are padded, longer cut.
        char_embedding_dim: width of the learned character embedding.
        conv_channels: output channels of the three temporal convolutions (Reed: 384, 512, 256).
        kernel_size, pool_size: the convolutions' kernel and the max-pooling window/stride (Reed: 4, 3).
        rnn_hidden_dim: the recurrent layer's width (Reed: 256, as the last convolution).
        embedding_dim: the output width (StackGAN's char-CNN-RNN embeddings: 1024).
        pad_token_id: the padding id, embedded as zeros.
    """

    @register_to_config
    def __init__(
        self,
        vocab_size: int = 259,
        max_length: int = 201,
        char_embedding_dim: int = 64,
        conv_channels: tuple[int, int, int] = (384, 512, 256),
        kernel_size: int = 4,
        pool_size: int = 3,
        rnn_hidden_dim: int = 256,
        embedding_dim: int = 1024,
        pad_token_id: int = 0,
    ):
        super().__init__()
        if len(conv_channels) != 3:
            raise ValueError(f"conv_channels must hold three widths, got {list(conv_channels)}.")
        if self.positions_after_convolutions(max_length, kernel_size, pool_size) < 1:
            raise ValueError(
                f"max_length {max_length} is too short for three convolutions of kernel {kernel_size} "
                f"with pooling {pool_size}."
            )
        self.char_embedding = nn.Embedding(vocab_size, char_embedding_dim, padding_idx=pad_token_id)
        widths = [char_embedding_dim, *conv_channels]
        layers: list[nn.Module] = []
        for i in range(3):
            layers += [nn.Conv1d(widths[i], widths[i + 1], kernel_size), nn.ReLU()]
            if i < 2:
                layers.append(nn.MaxPool1d(pool_size, pool_size))
        self.convolutions = nn.Sequential(*layers)
        self.rnn = nn.RNN(conv_channels[-1], rnn_hidden_dim, nonlinearity="relu", batch_first=True)
        self.projection = nn.Linear(rnn_hidden_dim, embedding_dim)
        # Output standardization (identity until :meth:`standardize_` sets it from training captions).
        self.register_buffer("output_shift", torch.zeros(embedding_dim))
        self.register_buffer("output_scale", torch.ones(embedding_dim))

    @staticmethod
    def positions_after_convolutions(length: int, kernel_size: int, pool_size: int) -> int:
        """Sequence positions left for the RNN (Reed: 201 -> 18)."""
        for i in range(3):
            length = length - kernel_size + 1
            if i < 2:
                length //= pool_size
        return length

    @torch.no_grad()
    def standardize_(self, input_ids: torch.Tensor, batch_size: int = 256) -> None:
        """Sets the output standardization from (training) captions' ids: each embedding dimension gets
        mean 0 and standard deviation 1 over them, the scale conditioning augmentation expects. The joint
        text-image space stays available as ``forward(ids, standardized=False)``."""
        raw = torch.cat(
            [
                self(input_ids[i : i + batch_size], standardized=False)
                for i in range(0, len(input_ids), batch_size)
            ]
        )
        self.output_shift.copy_(raw.mean(dim=0))
        self.output_scale.copy_(raw.std(dim=0).clamp(min=1e-6))

    def forward(self, input_ids: torch.Tensor, standardized: bool = True) -> torch.Tensor:
        """Encodes character ids.

        Args:
            input_ids: ``[B, L]`` character ids, padded or cut to ``max_length`` here.
            standardized: apply the standardization of :meth:`standardize_`; ``False`` gives the joint
                text-image space.

        Returns:
            ``[B, embedding_dim]`` float embeddings.
        """
        if input_ids.ndim != 2:
            raise ValueError(f"input_ids must have shape [B, L], got {list(input_ids.shape)}.")
        length = self.config.max_length
        if input_ids.shape[1] > length:
            input_ids = input_ids[:, :length]
        elif input_ids.shape[1] < length:
            input_ids = nn.functional.pad(
                input_ids, (0, length - input_ids.shape[1]), value=self.config.pad_token_id
            )
        hidden = self.char_embedding(input_ids).transpose(1, 2)  # [B, C, L]
        hidden = self.convolutions(hidden).transpose(1, 2)  # [B, T, C]
        states, _ = self.rnn(hidden)
        embeddings = self.projection(states.mean(dim=1))
        return (embeddings - self.output_shift) / self.output_scale if standardized else embeddings
