"""Stage-I of StackGAN: a 64x64 text-conditional GAN (Zhang et al., ICCV 2017, section 3.2)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from diffusers.utils import BaseOutput
from torch import nn

from .conditioning import ConditioningAugmentation
from .discriminator import StackGANDiscriminatorMixin, StackGANDiscriminatorOutput, down_block
from .layers import UpBlock, check_upsample_mode, conv3x3, init_stackgan_weights_

__all__ = [
    "StackGANDiscriminatorOutput",
    "StackGANGeneratorOutput",
    "StackGANStage1Discriminator",
    "StackGANStage1Generator",
]


@dataclass
class StackGANGeneratorOutput(BaseOutput):
    """``images`` ``[B, 3, H, W]`` in ``[-1, 1]``; ``mu``, ``logvar`` ``[B, condition_dim]`` from the CA."""

    images: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor


class StackGANStage1Generator(ModelMixin, ConfigMixin):
    """Stage-I generator: sketches the shape and colors of the object at 64x64.

    The text embedding goes through conditioning augmentation; the sampled condition code is concatenated
    with the noise, a linear layer makes a ``[B, 8 * base_channels, 4, 4]`` map and four up-blocks take it
    to ``[B, base_channels // 2, 64, 64]``; a 3x3 conv and tanh give the image.

    Args:
        text_embedding_dim: ``D``, width of the text embedding.
        noise_dim: width of the noise vector ``z`` (100).
        condition_dim: width of the CA code (128).
        base_channels: generator width ``Ng`` (128); the first feature map has ``8 * Ng`` channels.
        upsample_mode: ``"nearest"`` (the paper), ``"bilinear"`` or ``"pixel_shuffle"``.
        ca_activation: the conditioning augmentation's activation, ``"leaky_relu"`` (TF StackGAN) or
            ``"relu"`` (StackGAN-Pytorch); see :class:`ConditioningAugmentation`.

    Shapes: ``text_embeddings [B, D]``, ``noise [B, noise_dim] -> images [B, 3, 64, 64]``, ``mu, logvar
    [B, condition_dim]``.
    """

    @register_to_config
    def __init__(
        self,
        text_embedding_dim: int = 1024,
        noise_dim: int = 100,
        condition_dim: int = 128,
        base_channels: int = 128,
        upsample_mode: str = "nearest",
        ca_activation: str = "leaky_relu",
    ):
        super().__init__()
        check_upsample_mode(upsample_mode)
        if base_channels % 2:
            raise ValueError(f"base_channels must be even, got {base_channels}.")
        width = base_channels * 8
        self.conditioning = ConditioningAugmentation(text_embedding_dim, condition_dim, ca_activation)
        self.project = nn.Sequential(
            nn.Linear(noise_dim + condition_dim, width * 4 * 4, bias=False),
            nn.BatchNorm1d(width * 4 * 4),
            nn.ReLU(inplace=True),
        )
        self.up_blocks = nn.Sequential(
            UpBlock(width, width // 2, upsample_mode),  # 8x8
            UpBlock(width // 2, width // 4, upsample_mode),  # 16x16
            UpBlock(width // 4, width // 8, upsample_mode),  # 32x32
            UpBlock(width // 8, width // 16, upsample_mode),  # 64x64
        )
        self.to_image = nn.Sequential(conv3x3(width // 16, 3), nn.Tanh())
        init_stackgan_weights_(self)

    def forward(
        self,
        text_embeddings: torch.Tensor,
        noise: torch.Tensor,
        generator: torch.Generator | list[torch.Generator] | None = None,
        return_dict: bool = True,
    ) -> StackGANGeneratorOutput | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Generates 64x64 images from text embeddings and noise.

        Args:
            text_embeddings: ``[B, D]`` text embeddings.
            noise: ``[B, noise_dim]``, the GAN's ``z``.
            generator: seeds the conditioning-augmentation noise (one ``torch.Generator`` or one per row).
            return_dict: return a :class:`StackGANGeneratorOutput` rather than a tuple.

        Returns:
            :class:`StackGANGeneratorOutput`, or the tuple ``(images, mu, logvar)``: images ``[B, 3, 64, 64]``
            in ``[-1, 1]``, ``mu`` and ``logvar`` ``[B, condition_dim]``.
        """
        if noise.ndim != 2 or noise.shape[1] != self.config.noise_dim:
            raise ValueError(f"noise must have shape [B, {self.config.noise_dim}], got {list(noise.shape)}.")
        condition, mu, logvar = self.conditioning(text_embeddings, generator=generator, return_dict=False)
        hidden = self.project(torch.cat([noise.to(condition.dtype), condition], dim=1))
        images = self.to_image(self.up_blocks(hidden.view(hidden.shape[0], -1, 4, 4)))
        if not return_dict:
            return images, mu, logvar
        return StackGANGeneratorOutput(images=images, mu=mu, logvar=logvar)


class StackGANStage1Discriminator(StackGANDiscriminatorMixin, ModelMixin, ConfigMixin):
    """Stage-I matching-aware discriminator for 64x64 images.

    Four stride-2 down-blocks encode the image to ``[B, 8 * base_channels, 4, 4]``; the conditional head
    scores (image, text) pairs. Outputs are logits. See :mod:`stackgan_hf.models.discriminator` for the text
    path and heads.

    Args:
        condition_dim: width of the text code the conditional head takes (128).
        base_channels: discriminator width ``Nd`` (64).
        text_embedding_dim: ``D`` to own a text projection (FC + LeakyReLU to ``condition_dim``) and take
            the raw text embedding; ``None`` to take the generator's CA mean instead (StackGAN-Pytorch).
        conditional_head_type: ``"concat"`` (the paper), ``"projection"`` (Miyato and Koyama, 2018) or
            ``"concat_projection"`` (their sum).

    Shapes: ``images [B, 3, 64, 64]``, ``condition [B, D]`` (or ``[B, condition_dim]``) -> ``features
    [B, 8 Nd, 4, 4]``, ``conditional_logits [B]``.
    """

    image_size = 64

    @staticmethod
    def encoder_layers(ndf: int) -> list[nn.Module]:
        return [
            down_block(3, ndf, batch_norm=False),  # 32x32
            down_block(ndf, ndf * 2),  # 16x16
            down_block(ndf * 2, ndf * 4),  # 8x8
            down_block(ndf * 4, ndf * 8),  # 4x4
        ]
