"""StackGAN networks as diffusers models (``ModelMixin`` + ``ConfigMixin``)."""

from .conditioning import ConditioningAugmentation, ConditioningAugmentationOutput
from .discriminator import StackGANDiscriminatorOutput, discriminator_condition
from .stage1 import (
    StackGANGeneratorOutput,
    StackGANStage1Discriminator,
    StackGANStage1Generator,
)
from .stage2 import StackGANStage2Discriminator, StackGANStage2Generator

__all__ = [
    "ConditioningAugmentation",
    "ConditioningAugmentationOutput",
    "StackGANDiscriminatorOutput",
    "StackGANGeneratorOutput",
    "StackGANStage1Discriminator",
    "StackGANStage1Generator",
    "StackGANStage2Discriminator",
    "StackGANStage2Generator",
    "discriminator_condition",
]


def architecture_table(text_embedding_dim: int = 1024) -> str:
    """A Markdown table of the four subnetworks at the default (birds) widths with their parameter counts."""
    rows = [
        (
            "Conditioning augmentation (in each G)",
            ConditioningAugmentation(text_embedding_dim),
            "[B, D] -> 3 x [B, 128]",
        ),
        (
            "Stage-I generator",
            StackGANStage1Generator(text_embedding_dim),
            "[B, D] + [B, 100] -> [B, 3, 64, 64]",
        ),
        (
            "Stage-I discriminator (with its own text projection, as the paper)",
            StackGANStage1Discriminator(text_embedding_dim=text_embedding_dim),
            "[B, 3, 64, 64] + [B, D] -> [B]",
        ),
        (
            "Stage-II generator",
            StackGANStage2Generator(text_embedding_dim),
            "[B, 3, 64, 64] + [B, D] -> [B, 3, 256, 256]",
        ),
        (
            "Stage-II discriminator (with its own text projection, as the paper)",
            StackGANStage2Discriminator(text_embedding_dim=text_embedding_dim),
            "[B, 3, 256, 256] + [B, D] -> [B]",
        ),
        (
            'Stage-I generator, `upsample_mode="pixel_shuffle"`',
            StackGANStage1Generator(text_embedding_dim, upsample_mode="pixel_shuffle"),
            "as above",
        ),
        (
            'Stage-II generator, `upsample_mode="pixel_shuffle"`',
            StackGANStage2Generator(text_embedding_dim, upsample_mode="pixel_shuffle"),
            "as above",
        ),
    ]
    lines = [
        f"| Subnetwork (D = {text_embedding_dim}) | Class | Shapes | Parameters |",
        "|---|---|---|---:|",
    ]
    for title, model, shapes in rows:
        lines.append(f"| {title} | `{type(model).__name__}` | {shapes} | {model.num_parameters():,} |")
    return "\n".join(lines)
