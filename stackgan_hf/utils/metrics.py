"""FID, Inception Score and CLIP score through torchmetrics, with any feature network.

Images are float ``[N, 3, H, W]`` in ``[0, 1]`` (``StackGANPipeline(..., output_type="pt")``). The network is
:func:`inception_network` (needs ``torch-fidelity``; offline, give ``weights_path``) or any ``nn.Module``
mapping images to features (FID) or logits (IS), e.g. :class:`~stackgan_hf.utils.judge.ClassifierFeatures`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

CLIPLoader = Callable[[], tuple[nn.Module, object]]


def inception_network(weights_path: str | None = None, output: str = "2048") -> nn.Module:
    """torchmetrics' Inception-v3: ``output="2048"`` pool features for FID, ``"logits_unbiased"`` for IS.

    Raises ``ModuleNotFoundError`` with the fix when torch-fidelity is missing."""
    try:
        from torchmetrics.image.fid import NoTrainInceptionV3

        return NoTrainInceptionV3(
            name="inception-v3-compat", features_list=[output], feature_extractor_weights_path=weights_path
        )
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            "Inception features need torch-fidelity: `pip install -e '.[metrics]'` (and, offline, "
            "--inception_weights PATH to pt_inception-2015-12-05-6726825d.pth). Without it, use the "
            "offline classifier features (--feature classifier)."
        ) from error


def _uint8(images: torch.Tensor) -> torch.Tensor:
    return (images.clamp(0, 1) * 255).round().to(torch.uint8)


def _batches(images: torch.Tensor, batch_size: int):
    for start in range(0, len(images), batch_size):
        yield images[start : start + batch_size]


@torch.inference_mode()
def frechet_distance(
    real: torch.Tensor, fake: torch.Tensor, feature: nn.Module, batch_size: int = 128
) -> float:
    """FID between two image sets under ``feature`` (Inception or a custom module). The Inception network
    takes uint8 images; custom modules get the ``[0, 1]`` floats."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    if len(real) < 2 or len(fake) < 2:
        raise ValueError(f"FID needs at least 2 images per set, got {len(real)} real and {len(fake)} fake.")
    inception = type(feature).__name__ == "NoTrainInceptionV3"
    metric = FrechetInceptionDistance(feature=feature, normalize=not inception)
    for is_real, images in ((True, real), (False, fake)):
        for batch in _batches(images, batch_size):
            metric.update(_uint8(batch) if inception else batch.float(), real=is_real)
    return float(metric.compute())


@torch.inference_mode()
def inception_score(
    fake: torch.Tensor, logits: nn.Module, splits: int = 10, batch_size: int = 128
) -> tuple[float, float]:
    """Inception Score (mean, std over ``splits``) of ``fake`` under a network returning class logits."""
    from torchmetrics.image.inception import InceptionScore

    inception = type(logits).__name__ == "NoTrainInceptionV3"
    metric = InceptionScore(feature=logits, splits=min(splits, len(fake)), normalize=False)
    for batch in _batches(fake, batch_size):
        metric.update(_uint8(batch) if inception else batch.float())
    with torch.random.fork_rng(devices=[]):  # torchmetrics shuffles before splitting: make it repeatable
        torch.manual_seed(0)
        mean, std = metric.compute()
    return float(mean), float(std)


def clip_loader(model: str | CLIPLoader) -> CLIPLoader:
    """A torchmetrics CLIP loader: a callable returning ``(model, processor)``, or a local folder / Hub id
    loaded with ``transformers.CLIPModel`` and ``CLIPProcessor``."""
    if callable(model):
        return model

    def load():
        from transformers import CLIPModel, CLIPProcessor

        return CLIPModel.from_pretrained(model).eval(), CLIPProcessor.from_pretrained(model)

    return load


def _embedding(output) -> torch.Tensor:
    """transformers 4 returns the projected features; transformers 5 wraps them (``pooler_output``)."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


@torch.inference_mode()
def clip_score(
    images: torch.Tensor, captions: Sequence[str], model: str | CLIPLoader, batch_size: int = 64
) -> float:
    """Mean CLIP score (Hessel et al., 2021, as torchmetrics defines it): ``100 * max(cos(image, caption),
    0)`` between CLIP's projected image and text embeddings. Computed here rather than by torchmetrics'
    ``CLIPScore``, which does not unwrap the outputs of transformers 5; captions longer than CLIP's
    context are truncated."""
    if len(images) != len(captions):
        raise ValueError(f"{len(images)} images but {len(captions)} captions.")
    clip, processor = clip_loader(model)()
    clip.eval()
    device = next(clip.parameters()).device
    scores = []
    for start in range(0, len(images), batch_size):
        inputs = processor(
            text=list(captions[start : start + batch_size]),
            images=list(_uint8(images[start : start + batch_size]).cpu()),
            return_tensors="pt",
            padding=True,
            truncation=True,
        ).to(device)
        image_features = _embedding(clip.get_image_features(pixel_values=inputs["pixel_values"]))
        text_features = _embedding(
            clip.get_text_features(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
        )
        cosine = torch.nn.functional.cosine_similarity(image_features.float(), text_features.float())
        scores.append((100 * cosine).clamp(min=0).cpu())
    return float(torch.cat(scores).mean())
