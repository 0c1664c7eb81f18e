"""What the two StackGAN discriminators share: the text path, the logit heads and the forward pass.

The text reaches the heads through the discriminator's own compression of the raw embedding
(``text_embedding_dim`` an int, the paper) or as the generator's CA mean (``None``, StackGAN-Pytorch).
Heads (``conditional_head_type``): ``"concat"`` (the paper), ``"projection"`` (Miyato and Koyama, 2018), or
both summed (``"concat_projection"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers.configuration_utils import register_to_config
from diffusers.utils import BaseOutput
from torch import nn

from .layers import conv3x3, init_stackgan_weights_

CONDITIONAL_HEADS = ("concat", "projection", "concat_projection")


@dataclass
class StackGANDiscriminatorOutput(BaseOutput):
    """``features`` ``[B, 8 * base_channels, 4, 4]``; ``conditional_logits`` ``[B]`` (when a condition
    was given)."""

    features: torch.Tensor
    conditional_logits: torch.Tensor | None = None


def check_discriminator_options(conditional_head_type: str) -> None:
    if conditional_head_type not in CONDITIONAL_HEADS:
        raise ValueError(
            f"conditional_head_type must be one of {CONDITIONAL_HEADS}, got {conditional_head_type!r}."
        )


def down_block(in_channels: int, out_channels: int, batch_norm: bool = True) -> nn.Sequential:
    """Halves the resolution: 4x4 conv, stride 2, then BatchNorm (optional) and LeakyReLU(0.2).

    ``[B, in_channels, H, W] -> [B, out_channels, H/2, W/2]``.
    """
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1, bias=False)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


def conv_block(in_channels: int, out_channels: int, batch_norm: bool = True) -> nn.Sequential:
    """3x3 conv (stride 1), BatchNorm (optional), LeakyReLU(0.2): ``[B, in, H, W] -> [B, out, H, W]``."""
    layers: list[nn.Module] = [conv3x3(in_channels, out_channels)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


class DiscriminatorLogits(nn.Module):
    """One ``[B]`` logit per image from ``[B, C, 4, 4]`` features, optionally conditioned on a text code.

    Conditional: the ``[B, condition_dim]`` code is tiled to 4x4, concatenated with the features and mixed by
    a 3x3 conv (+ BN) + LeakyReLU; a 4x4 conv gives the logits, without a sigmoid (the losses use
    ``BCEWithLogits``).
    """

    def __init__(self, feature_channels: int, condition_dim: int = 0):
        super().__init__()
        self.condition_dim = condition_dim
        if condition_dim > 0:
            self.joint = conv_block(feature_channels + condition_dim, feature_channels)
        else:
            self.joint = nn.Identity()
        self.to_logit = nn.Conv2d(feature_channels, 1, kernel_size=4, stride=4)

    def forward(self, features: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        if self.condition_dim > 0:
            if condition is None:
                raise ValueError(
                    "This logits head is conditional: pass a `condition` of shape [B, condition_dim]."
                )
            tiled = condition[:, :, None, None].expand(-1, -1, features.shape[2], features.shape[3])
            features = torch.cat([features, tiled.to(features.dtype)], dim=1)
        return self.to_logit(self.joint(features)).flatten()


class ProjectionLogits(nn.Module):
    """Projection head (Miyato and Koyama, 2018): ``psi(features) + <embed(code), sum over x, y of
    features>``; ``[B, C, 4, 4]`` features and a ``[B, condition_dim]`` code -> ``[B]`` logits.
    ``with_concat``: ``psi`` is the concat head (:class:`DiscriminatorLogits`), which also sees the code."""

    def __init__(self, feature_channels: int, condition_dim: int, with_concat: bool = False):
        super().__init__()
        self.condition_dim = condition_dim
        self.with_concat = with_concat
        if with_concat:
            self.concat = DiscriminatorLogits(feature_channels, condition_dim)
        else:
            self.to_logit = nn.Conv2d(feature_channels, 1, kernel_size=4, stride=4)
        self.embed = nn.Linear(condition_dim, feature_channels, bias=False)

    def joint_embeddings(self, features: torch.Tensor, condition: torch.Tensor):
        """The projection term's two sides: the features summed over positions ``[B, C]`` and the code
        embedded in the same space ``[B, C]``, both float32 (the term is their inner product)."""
        pooled = features.float().sum(dim=(2, 3))
        return pooled, self.embed(condition.to(self.embed.weight.dtype)).float()

    def forward(self, features: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        if condition is None:
            raise ValueError(
                "This logits head is conditional: pass a `condition` of shape [B, condition_dim]."
            )
        pooled, embedded = self.joint_embeddings(features, condition)
        projection = (embedded * pooled).sum(dim=1)
        base = self.concat(features, condition) if self.with_concat else self.to_logit(features).flatten()
        return base + projection.to(features.dtype)


def build_heads(module: nn.Module, feature_channels: int, config) -> None:
    """Sets ``text_projection`` and ``conditional_head`` on a discriminator from its config
    (``text_embedding_dim``, ``condition_dim``, ``conditional_head_type``)."""
    module.text_projection = None
    if config.text_embedding_dim is not None:
        module.text_projection = nn.Sequential(
            nn.Linear(config.text_embedding_dim, config.condition_dim), nn.LeakyReLU(0.2)
        )
    if config.conditional_head_type in ("projection", "concat_projection"):
        with_concat = config.conditional_head_type == "concat_projection"
        module.conditional_head = ProjectionLogits(feature_channels, config.condition_dim, with_concat)
    else:
        module.conditional_head = DiscriminatorLogits(feature_channels, config.condition_dim)


class StackGANDiscriminatorMixin:
    """What the two discriminators share: the constructor (config, text path, heads, initialization) and the
    forward pass: ``encode`` the image, compress the text (when the model owns that projection), then apply
    the logit heads.

    Subclasses set ``image_size`` and say which layers take an image to ``[B, 8 Nd, 4, 4]`` features
    (:meth:`encoder_layers`); the constructor's arguments are documented on them.
    """

    image_size: int

    @register_to_config
    def __init__(
        self,
        condition_dim: int = 128,
        base_channels: int = 64,
        text_embedding_dim: int | None = None,
        conditional_head_type: str = "concat",
    ):
        super().__init__()
        check_discriminator_options(conditional_head_type)
        self.image_encoder = nn.Sequential(*self.encoder_layers(base_channels))
        build_heads(self, base_channels * 8, self.config)
        init_stackgan_weights_(self)

    @staticmethod
    def encoder_layers(ndf: int) -> list[nn.Module]:
        """The image encoder's layers for width ``ndf``: ``[B, 3, S, S]`` -> ``[B, 8 ndf, 4, 4]``."""
        raise NotImplementedError

    @property
    def takes_text_embeddings(self) -> bool:
        """True: ``forward``'s ``condition`` is the raw text embedding; False: the generator's CA mean."""
        return self.config.text_embedding_dim is not None

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        size = self.image_size
        if images.ndim != 4 or tuple(images.shape[1:]) != (3, size, size):
            raise ValueError(f"images must have shape [B, 3, {size}, {size}], got {list(images.shape)}.")
        return self.image_encoder(images)

    def joint_embeddings(self, features: torch.Tensor, condition: torch.Tensor):
        """The projection head's two sides, for a contrastive loss: the image's features summed over
        positions ``[B, C]`` and the text's embedding in the same space ``[B, C]`` (``condition`` as for
        :meth:`forward`; ``features`` as it returns them). Projection heads only."""
        head = self.conditional_head
        if not isinstance(head, ProjectionLogits):
            raise ValueError(
                "joint_embeddings needs a projection discriminator head (conditional_head_type "
                f"'projection' or 'concat_projection'), not {self.config.conditional_head_type!r}."
            )
        return head.joint_embeddings(features, self._head_condition(condition))

    def conditional_logits(self, features: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """The conditional head's ``[B]`` logits for ``features`` as :meth:`forward` returns them and a
        ``condition`` as it takes: more captions for images already encoded, without encoding them again."""
        return self.conditional_head(features, self._head_condition(condition))

    def _head_condition(self, condition: torch.Tensor) -> torch.Tensor:
        """What the heads see: the model's own compression of the raw text embedding when it has one, else
        ``condition`` itself (the generator's CA mean)."""
        if self.text_projection is None:
            return condition
        return self.text_projection(condition.to(self.text_projection[0].weight.dtype))

    def forward(
        self,
        images: torch.Tensor,
        condition: torch.Tensor | None = None,
        return_dict: bool = True,
    ) -> StackGANDiscriminatorOutput | tuple:
        """Scores images, and (image, text) pairs when a ``condition`` is given.

        Args:
            images: ``[B, 3, S, S]`` in ``[-1, 1]``, ``S`` the model's ``image_size``.
            condition: the matching text's embedding ``[B, text_embedding_dim]`` when the model has its own
                text projection, else the generator's CA mean ``mu`` ``[B, condition_dim]``; ``None`` for
                features only.
            return_dict: return a :class:`StackGANDiscriminatorOutput` rather than a tuple.

        Returns:
            :class:`StackGANDiscriminatorOutput`, or the tuple ``(features, conditional_logits)``: features
            ``[B, 8 Nd, 4, 4]`` and ``[B]`` logits (``None`` without a condition).
        """
        features = self.encode(images)
        conditional = None
        if condition is not None:
            if self.text_projection is not None:
                expected = self.config.text_embedding_dim
                if condition.ndim != 2 or condition.shape[1] != expected:
                    raise ValueError(
                        f"This discriminator takes the text embedding [B, {expected}] as its condition, "
                        f"got {list(condition.shape)}."
                    )
            conditional = self.conditional_logits(features, condition)
        if not return_dict:
            return features, conditional
        return StackGANDiscriminatorOutput(features=features, conditional_logits=conditional)


def unwrap_discriminator(discriminator: nn.Module) -> nn.Module:
    """The model itself under DDP's ``module`` and torch.compile's ``_orig_mod`` wrappers."""
    model = getattr(discriminator, "module", discriminator)
    return getattr(model, "_orig_mod", model)


def discriminator_condition(discriminator: nn.Module, text_embeddings: torch.Tensor, mu: torch.Tensor):
    """What ``discriminator`` (possibly DDP-wrapped) is conditioned on: the raw text embeddings when it owns
    a text projection, else the generator's CA mean, detached (the discriminator must not train the CA)."""
    return text_embeddings if unwrap_discriminator(discriminator).takes_text_embeddings else mu.detach()
