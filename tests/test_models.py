"""The StackGAN subnetworks: shapes, paper initialisation, PixelShuffle, save/load, determinism."""

from __future__ import annotations

import pytest
import torch
from conftest import TINY_D, TINY_G1, TINY_G2
from torch import nn

from stackgan_hf import (
    ConditioningAugmentation,
    StackGANStage1Discriminator,
    StackGANStage1Generator,
    StackGANStage2Discriminator,
    StackGANStage2Generator,
)
from stackgan_hf.models.layers import PixelShuffleUpsample, UpBlock

EMBED = 12


@pytest.mark.parametrize("upsample_mode", ["nearest", "bilinear", "pixel_shuffle"])
def test_shapes_of_all_models(upsample_mode):
    batch = 3
    text = torch.randn(batch, EMBED)
    g1 = StackGANStage1Generator(text_embedding_dim=EMBED, upsample_mode=upsample_mode, **TINY_G1)
    out1 = g1(text, torch.randn(batch, TINY_G1["noise_dim"]))
    assert out1.images.shape == (batch, 3, 64, 64)
    assert out1.mu.shape == out1.logvar.shape == (batch, TINY_G1["condition_dim"])
    assert out1.images.min() >= -1 and out1.images.max() <= 1

    d1 = StackGANStage1Discriminator(**TINY_D)
    scores = d1(out1.images, out1.mu)
    assert scores.features.shape == (batch, 8 * TINY_D["base_channels"], 4, 4)
    assert scores.conditional_logits.shape == (batch,)

    g2 = StackGANStage2Generator(text_embedding_dim=EMBED, upsample_mode=upsample_mode, **TINY_G2)
    out2 = g2(out1.images, text)
    assert out2.images.shape == (batch, 3, 256, 256)
    assert out2.mu.shape == (batch, TINY_G2["condition_dim"])

    d2 = StackGANStage2Discriminator(**TINY_D)
    scores2 = d2(out2.images, out2.mu)
    assert scores2.features.shape == (batch, 8 * TINY_D["base_channels"], 4, 4)
    assert scores2.conditional_logits.shape == (batch,)


def test_discriminator_logits_are_unbounded_logits_not_probabilities():
    d1 = StackGANStage1Discriminator(**TINY_D).eval()
    with torch.no_grad():
        d1.conditional_head.to_logit.bias.fill_(5.0)
        logits = d1(torch.zeros(2, 3, 64, 64), torch.zeros(2, TINY_D["condition_dim"])).conditional_logits
    assert (logits > 1).all()


def test_default_configuration_is_the_official_birds_one():
    g1 = StackGANStage1Generator()
    assert (g1.config.noise_dim, g1.config.condition_dim, g1.config.base_channels) == (100, 128, 128)
    assert g1.config.text_embedding_dim == 1024
    g2 = StackGANStage2Generator()
    assert g2.config.num_residual_blocks == len(g2.residual_blocks) == 4
    assert StackGANStage1Discriminator().config.base_channels == 64
    # Stage-I's first map is 4x4 with 8 * Ng channels, its last 64x64 with Ng / 2.
    assert g1.project[0].out_features == 128 * 8 * 16
    assert g1.to_image[0].in_channels == 64


def test_weights_follow_the_paper_initialisation():
    torch.manual_seed(0)
    model = StackGANStage2Generator(text_embedding_dim=64, base_channels=32)
    conv_weights = torch.cat([m.weight.flatten() for m in model.modules() if isinstance(m, nn.Conv2d)])
    bn_scales = torch.cat([m.weight for m in model.modules() if isinstance(m, nn.BatchNorm2d)])
    bn_biases = torch.cat([m.bias for m in model.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(conv_weights.mean()) < 1e-3 and abs(conv_weights.std() - 0.02) < 1e-3
    assert abs(bn_scales.mean() - 1) < 0.01 and abs(bn_scales.std() - 0.02) < 0.005
    assert torch.all(bn_biases == 0)


def test_conditioning_augmentation_samples_mu_plus_sigma_eps():
    ca = ConditioningAugmentation(text_embedding_dim=EMBED, condition_dim=6)
    text = torch.randn(4, EMBED)
    out = ca(text, generator=torch.Generator().manual_seed(7))
    eps = torch.randn(out.mu.shape, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(out.condition, out.mu + torch.exp(out.logvar / 2) * eps)
    again = ca(text, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(out.condition, again.condition)
    different = ca(text, generator=torch.Generator().manual_seed(8))
    assert not torch.allclose(out.condition, different.condition)
    torch.testing.assert_close(out.mu, different.mu)


def test_pixel_shuffle_starts_as_nearest_neighbour_upsampling_without_checkerboard():
    block = PixelShuffleUpsample(5, 7)
    block.icnr_init_()
    x = torch.randn(2, 5, 6, 6)
    y = block(x)
    assert y.shape == (2, 7, 12, 12)
    # Each 2x2 output cell repeats one value: a conv followed by nearest-neighbour upsampling.
    low_res = nn.functional.conv2d(x, block.conv.weight[::4], padding=1)
    torch.testing.assert_close(y, nn.functional.interpolate(low_res, scale_factor=2, mode="nearest"))
    # Also after the model-wide initialisation (which re-applies ICNR last).
    g1 = StackGANStage1Generator(text_embedding_dim=EMBED, upsample_mode="pixel_shuffle", **TINY_G1)
    up = g1.up_blocks[0].upsample
    assert isinstance(up, PixelShuffleUpsample)
    torch.testing.assert_close(up.conv.weight[0::4], up.conv.weight[3::4])


def test_unknown_upsample_mode_is_rejected():
    with pytest.raises(ValueError, match="upsample_mode must be one of"):
        UpBlock(4, 4, "bicubic")
    with pytest.raises(ValueError, match="upsample_mode"):
        StackGANStage2Generator(upsample_mode="transposed")


def test_bad_input_shapes_name_the_expected_shape():
    g1 = StackGANStage1Generator(text_embedding_dim=EMBED, **TINY_G1)
    with pytest.raises(ValueError, match=rf"\[B, {EMBED}\]"):
        g1(torch.randn(2, EMBED + 1), torch.randn(2, TINY_G1["noise_dim"]))
    with pytest.raises(ValueError, match="noise must have shape"):
        g1(torch.randn(2, EMBED), torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"\[B, 3, 256, 256\]"):
        StackGANStage2Discriminator(**TINY_D)(torch.randn(1, 3, 64, 64))
    with pytest.raises(ValueError, match="stage1_images"):
        StackGANStage2Generator(text_embedding_dim=EMBED, **TINY_G2)(
            torch.randn(1, 3, 32, 32), torch.randn(1, EMBED)
        )


@pytest.mark.parametrize(
    "factory",
    [
        lambda: StackGANStage1Generator(text_embedding_dim=EMBED, upsample_mode="pixel_shuffle", **TINY_G1),
        lambda: StackGANStage2Generator(text_embedding_dim=EMBED, **TINY_G2),
        lambda: StackGANStage1Discriminator(**TINY_D),
        lambda: StackGANStage2Discriminator(**TINY_D),
    ],
    ids=["stage1_generator", "stage2_generator", "stage1_discriminator", "stage2_discriminator"],
)
def test_save_pretrained_round_trip_gives_identical_outputs(tmp_path, factory):
    model = factory()
    # Move the BatchNorm running statistics away from their defaults so the test sees them saved.
    model.train()
    with torch.no_grad():
        for _ in range(2):
            _run(model, seed=1)
    model.eval()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "diffusion_pytorch_model.safetensors").exists()
    assert not list(tmp_path.glob("*.bin"))
    loaded = type(model).from_pretrained(tmp_path).eval()
    public = {k: v for k, v in loaded.config.items() if not k.startswith("_")}
    assert public == {k: v for k, v in model.config.items() if not k.startswith("_")}
    with torch.no_grad():
        for expected, actual in zip(_run(model, seed=3), _run(loaded, seed=3)):
            if expected is not None:
                torch.testing.assert_close(actual, expected, rtol=0, atol=0)


def test_generators_are_deterministic_with_a_generator():
    g1 = StackGANStage1Generator(text_embedding_dim=EMBED, **TINY_G1).eval()
    text, noise = torch.randn(2, EMBED), torch.randn(2, TINY_G1["noise_dim"])
    first = g1(text, noise, generator=torch.Generator().manual_seed(0)).images
    second = g1(text, noise, generator=torch.Generator().manual_seed(0)).images
    third = g1(text, noise, generator=torch.Generator().manual_seed(1)).images
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    assert not torch.equal(first, third)


def _run(model, seed):
    """One forward of any of the four models on seeded inputs; returns its output tensors."""
    g = torch.Generator().manual_seed(seed)
    if isinstance(model, StackGANStage1Generator):
        text, noise = torch.randn(2, EMBED, generator=g), torch.randn(2, model.config.noise_dim, generator=g)
        return model(text, noise, generator=g, return_dict=False)
    if isinstance(model, StackGANStage2Generator):
        images = torch.rand(2, 3, 64, 64, generator=g) * 2 - 1
        return model(images, torch.randn(2, EMBED, generator=g), generator=g, return_dict=False)
    size = model.image_size
    images = torch.rand(2, 3, size, size, generator=g) * 2 - 1
    return model(images, torch.randn(2, model.config.condition_dim, generator=g), return_dict=False)
