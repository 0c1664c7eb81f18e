"""StackGANPipeline: every encoder kind, Stage-I only and Stage-I+II, output types, errors, save/load."""

from __future__ import annotations

import json

import numpy as np
import PIL.Image
import pytest
import torch
from conftest import CAPTIONS, make_tiny_pipeline

from stackgan_hf import StackGANPipeline, StackGANStage2Generator


def _seeded(pipe, **kwargs):
    return pipe(generator=torch.Generator().manual_seed(0), **kwargs)


@pytest.mark.parametrize("stage2", [False, True], ids=["stage1_only", "stage1_and_2"])
@pytest.mark.parametrize("encoder", ["clip", "bag_of_words", "sentence"])
def test_pipeline_generates_with_each_text_encoder(request, encoder, stage2):
    fixture = {"clip": "tiny_clip", "bag_of_words": "bag_of_words", "sentence": "tiny_sentence_encoder"}[
        encoder
    ]
    value = request.getfixturevalue(fixture)
    text_encoder, tokenizer = value if isinstance(value, tuple) else (value, None)
    pipe = make_tiny_pipeline(text_encoder, tokenizer, stage2=stage2)
    out = _seeded(pipe, prompt=CAPTIONS[:2], num_images_per_prompt=2)
    size = 256 if stage2 else 64
    assert len(out.images) == len(out.stage1_images) == 4
    assert all(isinstance(image, PIL.Image.Image) for image in out.images)
    assert out.images[0].size == (size, size) and out.stage1_images[0].size == (64, 64)


def test_output_types_agree_and_are_in_unit_range(bag_of_words):
    pipe = make_tiny_pipeline(bag_of_words)
    pt = _seeded(pipe, prompt=CAPTIONS[0], output_type="pt")
    np_out = _seeded(pipe, prompt=CAPTIONS[0], output_type="np")
    pil = _seeded(pipe, prompt=CAPTIONS[0], output_type="pil")
    assert pt.images.shape == (1, 3, 256, 256) and pt.stage1_images.shape == (1, 3, 64, 64)
    assert np_out.images.shape == (1, 256, 256, 3) and np_out.images.dtype == np.float32
    assert pt.images.min() >= 0 and pt.images.max() <= 1
    np.testing.assert_allclose(pt.images.permute(0, 2, 3, 1).numpy(), np_out.images, atol=0, rtol=0)
    np.testing.assert_array_equal(
        np.asarray(pil.images[0]), (np_out.images[0] * 255).round().astype(np.uint8)
    )
    images, stage1 = pipe(prompt="a bird", output_type="pt", return_dict=False)
    assert images.shape == (1, 3, 256, 256) and stage1.shape == (1, 3, 64, 64)


def test_same_seed_same_pixels_other_seed_other_pixels(tiny_clip):
    pipe = make_tiny_pipeline(*tiny_clip)
    first = _seeded(pipe, prompt=CAPTIONS, output_type="np").images
    second = _seeded(pipe, prompt=CAPTIONS, output_type="np").images
    other = pipe(prompt=CAPTIONS, output_type="np", generator=torch.Generator().manual_seed(1)).images
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


def test_prompt_embeds_path_matches_the_prompt_path(bag_of_words):
    """Precomputed embeddings (the char-CNN-RNN route) go straight to the generators."""
    pipe = make_tiny_pipeline(bag_of_words)
    from_text = _seeded(pipe, prompt=CAPTIONS, output_type="np").images
    embeds = bag_of_words(CAPTIONS)
    encoderless = StackGANPipeline(
        stage1_generator=pipe.stage1_generator, stage2_generator=pipe.stage2_generator
    )
    from_embeds = _seeded(encoderless, prompt_embeds=embeds, output_type="np").images
    np.testing.assert_array_equal(from_text, from_embeds)


def test_num_images_per_prompt_gives_different_images_per_prompt(bag_of_words):
    pipe = make_tiny_pipeline(bag_of_words, stage2=False)
    images = _seeded(pipe, prompt=CAPTIONS[0], num_images_per_prompt=3, output_type="np").images
    assert images.shape[0] == 3
    assert not np.array_equal(images[0], images[1])


def _like_loaded(pipe):
    """from_pretrained puts the generators it builds in channels-last (fast kernels, last-bit differences);
    a caller's own models are never switched, so the tests switch them to compare bit for bit."""
    for model in (pipe.stage1_generator, pipe.stage2_generator):
        if model is not None:
            model.to(memory_format=torch.channels_last)


@pytest.mark.parametrize("with_clip", [False, True], ids=["bag_of_words", "clip"])
def test_save_pretrained_from_pretrained_same_pixels(tmp_path, bag_of_words, tiny_clip, with_clip):
    pipe = make_tiny_pipeline(*tiny_clip) if with_clip else make_tiny_pipeline(bag_of_words)
    pipe.save_pretrained(tmp_path)
    index = json.loads((tmp_path / "model_index.json").read_text())
    assert index["_class_name"] == ["pipeline_stackgan", "StackGANPipeline"]  # code in the folder: diffusers'
    assert index["stage1_generator"] == ["stage1", "StackGANStage1Generator"]  # format (test_pipeline_code)
    assert index["text_pooling"] == "auto"
    weights = sorted(
        p.relative_to(tmp_path).as_posix()
        for p in tmp_path.rglob("*")
        if p.suffix in {".bin", ".safetensors"}
    )
    assert weights and all(w.endswith(".safetensors") for w in weights), weights
    loaded = StackGANPipeline.from_pretrained(tmp_path)
    assert type(loaded.text_encoder) is type(pipe.text_encoder)
    _like_loaded(pipe)
    expected = _seeded(pipe, prompt=CAPTIONS, output_type="np")
    actual = _seeded(loaded, prompt=CAPTIONS, output_type="np")
    np.testing.assert_array_equal(actual.images, expected.images)
    np.testing.assert_array_equal(actual.stage1_images, expected.stage1_images)


def test_stage1_only_pipeline_round_trips_without_optional_components(tmp_path):
    pipe = make_tiny_pipeline(embedding_dim=10, stage2=False)
    pipe.save_pretrained(tmp_path)
    loaded = StackGANPipeline.from_pretrained(tmp_path)
    assert loaded.stage2_generator is None and loaded.text_encoder is None and loaded.tokenizer is None
    embeds = torch.randn(2, 10)
    _like_loaded(pipe)
    np.testing.assert_array_equal(
        _seeded(loaded, prompt_embeds=embeds, output_type="np").images,
        _seeded(pipe, prompt_embeds=embeds, output_type="np").images,
    )


def test_errors_are_clear(bag_of_words):
    pipe = make_tiny_pipeline(bag_of_words)
    with pytest.raises(ValueError, match="got neither"):
        pipe()
    with pytest.raises(ValueError, match="not both"):
        pipe(prompt="a bird", prompt_embeds=torch.randn(1, 24))
    for empty in ["", "   ", [], ["a bird", " "]]:
        with pytest.raises(ValueError, match="`prompt` is empty"):
            pipe(prompt=empty)
    with pytest.raises(ValueError, match=r"shape \[B, 24\]"):
        pipe(prompt_embeds=torch.randn(1, 25))
    with pytest.raises(ValueError, match=r"shape \[B, 24\]"):
        pipe(prompt_embeds=torch.randn(24))
    with pytest.raises(TypeError, match="string or a list of strings"):
        pipe(prompt=42)
    with pytest.raises(ValueError, match="output_type"):
        pipe(prompt="a bird", output_type="latent")
    encoderless = make_tiny_pipeline(embedding_dim=24)
    with pytest.raises(ValueError, match=r"no text encoder.*prompt_embeds.*\[B, 24\]"):
        encoderless(prompt="a bird")


def test_mismatched_components_are_rejected_at_construction(bag_of_words):
    pipe = make_tiny_pipeline(bag_of_words)
    with pytest.raises(ValueError, match="gives 24-d embeddings but stage1_generator expects 10-d"):
        make_tiny_pipeline(bag_of_words, embedding_dim=10)
    with pytest.raises(ValueError, match="same text encoder"):
        StackGANPipeline(
            stage1_generator=pipe.stage1_generator,
            stage2_generator=StackGANStage2Generator(
                text_embedding_dim=11, base_channels=4, num_residual_blocks=1
            ),
        )
    with pytest.raises(ValueError, match="text_pooling"):
        StackGANPipeline(stage1_generator=pipe.stage1_generator, text_pooling="max")


def test_generators_in_training_mode_are_sampled_in_eval_mode(bag_of_words):
    """A batch of one must not hit BatchNorm's training-mode statistics, and the caller's models keep
    their mode and memory format."""
    pipe = make_tiny_pipeline(bag_of_words)
    reference = _seeded(pipe, prompt="a bird", output_type="np").images
    pipe.stage1_generator.train()
    pipe.stage2_generator.train()
    out = _seeded(pipe, prompt="a bird", output_type="np")
    np.testing.assert_array_equal(out.images, reference)
    assert pipe.stage1_generator.training and pipe.stage2_generator.training
    weight = next(p for p in pipe.stage2_generator.parameters() if p.ndim == 4)
    assert weight.is_contiguous()  # not switched to channels-last behind the caller's back


def test_latents_give_the_noise_and_pt_outputs_stay_usable(bag_of_words):
    pipe = make_tiny_pipeline(bag_of_words)
    noise_dim = pipe.stage1_generator.config.noise_dim
    z = torch.randn(2, noise_dim, generator=torch.Generator().manual_seed(3))
    # The same z with two captions: only the text differs (the paper's interpolation figures).
    out = _seeded(pipe, prompt=CAPTIONS[:2], latents=z, output_type="pt")
    again = _seeded(pipe, prompt=CAPTIONS[:2], latents=z, output_type="pt")
    other = _seeded(pipe, prompt=CAPTIONS[:2], latents=torch.zeros_like(z), output_type="pt")
    assert torch.equal(out.images, again.images) and not torch.equal(out.images, other.images)
    assert not out.images.is_inference()  # no_grad, not inference_mode: usable in later autograd code
    (out.images * torch.ones(1, requires_grad=True)).sum().backward()
    with pytest.raises(ValueError, match="latents"):
        pipe(prompt=CAPTIONS[:2], latents=torch.zeros(3, noise_dim))


def test_a_list_of_generators_gives_one_per_image(bag_of_words):
    pipe = make_tiny_pipeline(bag_of_words)
    generators = [torch.Generator().manual_seed(seed) for seed in (5, 6)]
    pair = pipe(prompt=["a bird"] * 2, generator=generators, output_type="np").images
    single = pipe(prompt="a bird", generator=torch.Generator().manual_seed(6), output_type="np").images
    assert not np.array_equal(pair[0], pair[1])
    np.testing.assert_allclose(pair[1], single[0], atol=1e-5)  # image i draws from generator i only
    with pytest.raises(ValueError, match="one generator per image"):
        pipe(prompt="a bird", num_images_per_prompt=3, generator=generators)
