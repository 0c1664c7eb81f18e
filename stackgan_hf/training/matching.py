"""A text-image matching loss for the generator (an option beyond StackGAN-v1).

AttnGAN (Xu et al., CVPR 2018) adds to the generator's loss the DAMSM loss: a text encoder and an image
encoder, trained beforehand to put matching captions and images close together, score how well each
generated image matches its caption, and the generator is pushed to be matched. The adversarial loss alone
only tells the generator that the discriminator noticed a mismatch; this term tells it, per image, which
caption its picture should be retrieved by. Here the two encoders are the char-CNN-RNN and the image encoder
that ``scripts/train_text_encoder.py`` trains jointly (Reed et al.'s DS-SJE, sentence level: this is
DAMSM's sentence term, without its word-attention term), both frozen, and the loss is the one they were
trained with, applied to the generated images. The text side needs no extra work: the conditioning
embeddings are the same encoder's output, standardised, so the joint-space embedding is recovered exactly.

Because the term optimises the generator for these encoders, an R-precision measured with the same
encoders afterwards is no longer an independent judge of the result; the offline judge
(``stackgan_hf.evaluation``) is a separate classifier.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from ..config import ConfigError
from ..text.char_cnn_rnn import CharCNNRNNEncoder

MATCHING_IMAGE_SIZE = 64  # the image encoder is trained on the 64x64 crops of Stage-I


class TextImageMatchingLoss(torch.nn.Module):
    """``loss(images, text, class_ids)``: Reed's symmetric hinge between the frozen image encoder's
    embedding of each generated image and its caption's joint-space embedding, with class-level prototypes
    where the batch has class ids (``-1`` everywhere: each pair is its own class).

    Args:
        text_encoder: the char-CNN-RNN whose standardised output conditions the generator.
        image_encoder: the image encoder trained jointly with it.
    """

    def __init__(self, text_encoder: CharCNNRNNEncoder, image_encoder: torch.nn.Module):
        super().__init__()
        self.register_buffer("shift", text_encoder.output_shift.detach().clone())
        self.register_buffer("scale", text_encoder.output_scale.detach().clone())
        self.image_encoder = image_encoder.eval().requires_grad_(False)

    @classmethod
    def from_text_encoder_folder(cls, path: str | Path) -> TextImageMatchingLoss:
        """From a ``scripts/train_text_encoder.py`` output folder (its ``image_encoder/`` beside the text
        encoder); a clear error for any other text encoder."""
        path = Path(path)
        if not (path / "image_encoder" / "config.json").is_file():
            raise ConfigError(
                "text_image_matching_coefficient needs --text_encoder to be a folder written by "
                f"scripts/train_text_encoder.py; {path} has no image_encoder/config.json."
            )
        from ..text.training import load_image_encoder  # text.training imports this package's utilities

        return cls(CharCNNRNNEncoder.from_pretrained(path), load_image_encoder(path / "image_encoder"))

    def train(self, mode: bool = True) -> TextImageMatchingLoss:
        super().train(mode)
        self.image_encoder.eval()  # frozen, BatchNorm included
        return self

    def forward(self, images: torch.Tensor, text: torch.Tensor, class_ids: torch.Tensor) -> torch.Tensor:
        from ..text.training import ds_sje_loss

        if images.shape[-1] != MATCHING_IMAGE_SIZE:
            images = F.interpolate(images, size=MATCHING_IMAGE_SIZE, mode="area")
        image_embeds = self.image_encoder(images.float())
        text_embeds = text.float() * self.scale + self.shift  # undo the encoder's standardisation
        labels = (
            class_ids if bool((class_ids >= 0).all()) else torch.arange(len(images), device=images.device)
        )
        return ds_sje_loss(image_embeds, text_embeds, labels.to(images.device))
