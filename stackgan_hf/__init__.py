"""StackGAN text-to-image GANs, packaged the Hugging Face way."""

from .models import (
    ConditioningAugmentation,
    StackGANStage1Discriminator,
    StackGANStage1Generator,
    StackGANStage2Discriminator,
    StackGANStage2Generator,
)
from .pipeline_stackgan import StackGANPipeline, StackGANPipelineOutput
from .text import HashedBagOfWordsEncoder, encode_prompts, load_text_encoder

__version__ = "0.1.0"

__all__ = [
    "ConditioningAugmentation",
    "HashedBagOfWordsEncoder",
    "StackGANPipeline",
    "StackGANPipelineOutput",
    "StackGANStage1Discriminator",
    "StackGANStage1Generator",
    "StackGANStage2Discriminator",
    "StackGANStage2Generator",
    "encode_prompts",
    "load_text_encoder",
]
