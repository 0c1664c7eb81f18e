"""Stage-II of StackGAN: refines a Stage-I 64x64 image into a 256x256 one (section 3.3)."""

from __future__ import annotations

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from .conditioning import ConditioningAugmentation
from .discriminator import StackGANDiscriminatorMixin, conv_block, down_block
from .layers import ResidualBlock, UpBlock, check_upsample_mode, conv3x3, init_stackgan_weights_
from .stage1 import StackGANGeneratorOutput

IMAGE_SKIP_MODES = ("bilinear", "bicubic")


class StackGANStage2Generator(ModelMixin, ConfigMixin):
    """Stage-II generator: corrects Stage-I's defects and adds detail, conditioned on the text again.

    The Stage-I image is encoded to 16x16, joined with this generator's own tiled CA code, refined by residual
    blocks and upsampled to 256x256. It takes no noise: the randomness comes from Stage-I and the CA.

    Args:
        text_embedding_dim: ``D``, width of the text embedding (same as Stage-I's).
        condition_dim: width of the CA code (128).
        base_channels: generator width ``Ng`` (128).
        num_residual_blocks: residual blocks at 16x16 (4 in the official birds configuration).
        upsample_mode: ``"nearest"`` (the paper), ``"bilinear"`` or ``"pixel_shuffle"``.
        ca_activation: ``"leaky_relu"`` (TF StackGAN) or ``"relu"`` (StackGAN-Pytorch).
        image_skip: not in StackGAN-v1 (off by default): predict a change to the upsampled Stage-I image,
            ``tanh(atanh(up(stage1)) + out)``, starting from exactly that image.
        image_skip_mode: how the image skip upsamples Stage-I: ``"bilinear"`` or ``"bicubic"`` (the baseline
            a Stage-II has to beat).

    Shapes: ``stage1_images [B, 3, 64, 64]`` in ``[-1, 1]``, ``text_embeddings [B, D]`` -> ``images [B, 3,
    256, 256]`` in ``[-1, 1]``, ``mu, logvar [B, condition_dim]``.
    """

    @register_to_config
    def __init__(
        self,
        text_embedding_dim: int = 1024,
        condition_dim: int = 128,
        base_channels: int = 128,
        num_residual_blocks: int = 4,
        upsample_mode: str = "nearest",
        ca_activation: str = "leaky_relu",
        image_skip: bool = False,
        image_skip_mode: str = "bilinear",
    ):
        super().__init__()
        check_upsample_mode(upsample_mode)
        if image_skip_mode not in IMAGE_SKIP_MODES:
            raise ValueError(f"image_skip_mode must be one of {IMAGE_SKIP_MODES}, got {image_skip_mode!r}.")
        if base_channels % 4:
            raise ValueError(f"base_channels must be a multiple of 4, got {base_channels}.")
        ngf = base_channels
        self.conditioning = ConditioningAugmentation(text_embedding_dim, condition_dim, ca_activation)
        self.image_encoder = nn.Sequential(
            conv3x3(3, ngf),
            nn.ReLU(inplace=True),  # 64x64
            nn.Conv2d(ngf, ngf * 2, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(inplace=True),  # 32x32
            nn.Conv2d(ngf * 2, ngf * 4, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(inplace=True),  # 16x16
        )
        self.joint = nn.Sequential(
            conv3x3(ngf * 4 + condition_dim, ngf * 4),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(inplace=True),
        )
        self.residual_blocks = nn.Sequential(*[ResidualBlock(ngf * 4) for _ in range(num_residual_blocks)])
        self.up_blocks = nn.Sequential(
            UpBlock(ngf * 4, ngf * 2, upsample_mode),  # 32x32
            UpBlock(ngf * 2, ngf, upsample_mode),  # 64x64
            UpBlock(ngf, ngf // 2, upsample_mode),  # 128x128
            UpBlock(ngf // 2, ngf // 4, upsample_mode),  # 256x256
        )
        self.to_image = nn.Sequential(conv3x3(ngf // 4, 3), nn.Tanh())
        init_stackgan_weights_(self)
        if image_skip:
            nn.init.zeros_(self.to_image[0].weight)  # start as exactly the upsampled Stage-I image

    def forward(
        self,
        stage1_images: torch.Tensor,
        text_embeddings: torch.Tensor,
        generator: torch.Generator | list[torch.Generator] | None = None,
        return_dict: bool = True,
    ) -> StackGANGeneratorOutput | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Refines Stage-I images into 256x256 images.

        Args:
            stage1_images: ``[B, 3, 64, 64]`` in ``[-1, 1]``.
            text_embeddings: ``[B, D]`` text embeddings.
            generator: seeds this stage's conditioning-augmentation noise.
            return_dict: return a :class:`StackGANGeneratorOutput` rather than a tuple.

        Returns:
            :class:`StackGANGeneratorOutput`, or the tuple ``(images, mu, logvar)``: images ``[B, 3, 256,
            256]`` in ``[-1, 1]``, ``mu`` and ``logvar`` ``[B, condition_dim]``.
        """
        if stage1_images.ndim != 4 or tuple(stage1_images.shape[1:]) != (3, 64, 64):
            raise ValueError(
                f"stage1_images must have shape [B, 3, 64, 64], got {list(stage1_images.shape)}."
            )
        condition, mu, logvar = self.conditioning(text_embeddings, generator=generator, return_dict=False)
        image_code = self.image_encoder(stage1_images.to(condition.dtype))
        tiled = condition[:, :, None, None].expand(-1, -1, image_code.shape[2], image_code.shape[3])
        hidden = self.joint(torch.cat([image_code, tiled], dim=1))
        features = self.up_blocks(self.residual_blocks(hidden))
        if self.config.image_skip:
            base = nn.functional.interpolate(
                stage1_images.to(features.dtype),
                size=features.shape[-2:],
                mode=self.config.image_skip_mode,
                align_corners=False,
            )
            images = torch.tanh(torch.atanh(base.clamp(-0.999, 0.999)) + self.to_image[0](features))
        else:
            images = self.to_image(features)
        if not return_dict:
            return images, mu, logvar
        return StackGANGeneratorOutput(images=images, mu=mu, logvar=logvar)


class StackGANStage2Discriminator(StackGANDiscriminatorMixin, ModelMixin, ConfigMixin):
    """Stage-II matching-aware discriminator for 256x256 images.

    Six stride-2 down-blocks take the image to ``[B, 32 * base_channels, 4, 4]``; two 3x3 conv blocks bring
    it back to ``8 * base_channels`` channels; the same heads and options as Stage-I
    (:class:`~stackgan_hf.models.StackGANStage1Discriminator`).

    Shapes: ``images [B, 3, 256, 256]``, ``condition [B, D]`` (or ``[B, condition_dim]``) -> ``features
    [B, 8 Nd, 4, 4]``, ``conditional_logits [B]``.
    """

    image_size = 256

    @staticmethod
    def encoder_layers(ndf: int) -> list[nn.Module]:
        return [
            down_block(3, ndf, batch_norm=False),  # 128x128
            down_block(ndf, ndf * 2),  # 64x64
            down_block(ndf * 2, ndf * 4),  # 32x32
            down_block(ndf * 4, ndf * 8),  # 16x16
            down_block(ndf * 8, ndf * 16),  # 8x8
            down_block(ndf * 16, ndf * 32),  # 4x4
            conv_block(ndf * 32, ndf * 16),
            conv_block(ndf * 16, ndf * 8),
        ]
