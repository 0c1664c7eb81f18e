"""Building blocks shared by the StackGAN generators and discriminators.

Shapes use ``B`` for the batch, ``C`` for channels and ``H``/``W`` for the spatial size.
"""

from __future__ import annotations

import torch
from torch import nn

UPSAMPLE_MODES = ("nearest", "bilinear", "pixel_shuffle")


def conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    """3x3 convolution, stride 1, padding 1, no bias (every one is followed by a BatchNorm or a tanh)."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=1, padding=1, bias=False)


def check_upsample_mode(upsample_mode: str) -> None:
    if upsample_mode not in UPSAMPLE_MODES:
        raise ValueError(f"upsample_mode must be one of {UPSAMPLE_MODES}, got {upsample_mode!r}.")


class PixelShuffleUpsample(nn.Module):
    """Sub-pixel convolution (Shi et al., 2016): a 3x3 conv to ``4 * out_channels``, then ``PixelShuffle(2)``.

    ``[B, in_channels, H, W] -> [B, out_channels, 2H, 2W]``. ICNR-initialized (Aitken et al., 2017), so it
    starts as "3x3 conv, then nearest-neighbor upsampling", without checkerboard patterns; call
    :meth:`icnr_init_` after any generic re-initialization.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = conv3x3(in_channels, out_channels * 4)
        self.shuffle = nn.PixelShuffle(2)

    @torch.no_grad()
    def icnr_init_(self, std: float = 0.02) -> None:
        out_channels = self.conv.out_channels // 4
        kernel = torch.empty(
            out_channels,
            *self.conv.weight.shape[1:],
            device=self.conv.weight.device,
            dtype=self.conv.weight.dtype,
        )
        kernel.normal_(0.0, std)
        # PixelShuffle maps input channel c*4 + k to output channel c, sub-pixel k.
        self.conv.weight.copy_(kernel.repeat_interleave(4, dim=0))

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(hidden_states))


class UpBlock(nn.Module):
    """Doubles the resolution: ``[B, in_channels, H, W] -> [B, out_channels, 2H, 2W]``.

    ``"nearest"``: nearest-neighbor upsampling then a 3x3 conv (StackGAN's ``upBlock``); ``"bilinear"``:
    the same with bilinear upsampling (no block edges); ``"pixel_shuffle"``: :class:`PixelShuffleUpsample`.
    All are followed by BatchNorm and ReLU.
    """

    def __init__(self, in_channels: int, out_channels: int, upsample_mode: str = "nearest"):
        super().__init__()
        check_upsample_mode(upsample_mode)
        if upsample_mode in ("nearest", "bilinear"):
            self.upsample = nn.Sequential(
                nn.Upsample(scale_factor=2, mode=upsample_mode), conv3x3(in_channels, out_channels)
            )
        else:
            self.upsample = PixelShuffleUpsample(in_channels, out_channels)
        self.norm = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU(inplace=True)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.upsample(hidden_states)))


class ResidualBlock(nn.Module):
    """``x -> ReLU(x + BN(conv(ReLU(BN(conv(x))))))``, shape preserved: ``[B, C, H, W] -> [B, C, H, W]``."""

    def __init__(self, channels: int):
        super().__init__()
        self.block = nn.Sequential(
            conv3x3(channels, channels),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            conv3x3(channels, channels),
            nn.BatchNorm2d(channels),
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.act(hidden_states + self.block(hidden_states))


@torch.no_grad()
def init_stackgan_weights_(model: nn.Module, std: float = 0.02) -> None:
    """StackGAN's initialization: conv/linear weights ~ N(0, std), biases 0, BatchNorm scale ~ N(1, std).

    Sub-pixel convolutions are then re-initialized with ICNR so they start free of checkerboard artifacts.
    """
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            module.weight.normal_(0.0, std)
            if module.bias is not None:
                module.bias.zero_()
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            module.weight.normal_(1.0, std)
            module.bias.zero_()
    for module in model.modules():
        if isinstance(module, PixelShuffleUpsample):
            module.icnr_init_(std)
