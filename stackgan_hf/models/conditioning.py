"""Conditioning augmentation (StackGAN, section 3.1)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor
from torch import nn

from .layers import init_stackgan_weights_

CA_ACTIVATIONS = {"leaky_relu": lambda: nn.LeakyReLU(0.2), "relu": nn.ReLU}


@dataclass
class ConditioningAugmentationOutput(BaseOutput):
    """``condition`` ``[B, condition_dim]`` sampled code; ``mu`` and ``logvar`` ``[B, condition_dim]``."""

    condition: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor


class ConditioningAugmentation(ModelMixin, ConfigMixin):
    """Maps a text embedding to a Gaussian and samples a condition code from it.

    A fully connected layer + an activation gives ``mu`` and ``logvar``; the code is
    ``c = mu + exp(logvar / 2) * eps``, ``eps ~ N(0, I)``. The trainer adds ``KL(N(mu, sigma) || N(0, I))`` to
    the generator loss. LeakyReLU against ReLU: docs/theory.md, section 1.

    Args:
        text_embedding_dim: ``D``, width of the text embedding (1024 for char-CNN-RNN, 512 for CLIP ViT-B/32).
        condition_dim: width of the condition code (128 in StackGAN).
        activation: ``"leaky_relu"`` (TF StackGAN, the default) or ``"relu"`` (StackGAN-Pytorch).

    Shapes: ``text_embeddings [B, D] -> condition, mu, logvar [B, condition_dim]``.
    """

    @register_to_config
    def __init__(
        self, text_embedding_dim: int = 1024, condition_dim: int = 128, activation: str = "leaky_relu"
    ):
        super().__init__()
        if activation not in CA_ACTIVATIONS:
            raise ValueError(f"activation must be one of {tuple(CA_ACTIVATIONS)}, got {activation!r}.")
        self.fc = nn.Linear(text_embedding_dim, condition_dim * 2)
        self.act = CA_ACTIVATIONS[activation]()
        init_stackgan_weights_(self)

    def forward(
        self,
        text_embeddings: torch.Tensor,
        generator: torch.Generator | list[torch.Generator] | None = None,
        return_dict: bool = True,
    ) -> ConditioningAugmentationOutput | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Samples a condition code for each text embedding.

        Args:
            text_embeddings: ``[B, D]`` text embeddings.
            generator: seeds the noise ``eps`` (one ``torch.Generator`` or one per row).
            return_dict: return a :class:`ConditioningAugmentationOutput` rather than a tuple.

        Returns:
            :class:`ConditioningAugmentationOutput`, or the tuple ``(condition, mu, logvar)``, each
            ``[B, condition_dim]``.
        """
        if text_embeddings.ndim != 2 or text_embeddings.shape[1] != self.config.text_embedding_dim:
            raise ValueError(
                f"text_embeddings must have shape [B, {self.config.text_embedding_dim}], "
                f"got {list(text_embeddings.shape)}."
            )
        hidden = self.act(self.fc(text_embeddings.to(self.fc.weight.dtype)))
        mu, logvar = hidden.chunk(2, dim=1)
        eps = randn_tensor(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        condition = mu + torch.exp(0.5 * logvar) * eps
        if not return_dict:
            return condition, mu, logvar
        return ConditioningAugmentationOutput(condition=condition, mu=mu, logvar=logvar)
