"""The learned char-CNN-RNN text encoder (issue 13): model, losses, trainer, pipeline round trip."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import TINY_TRAINING

from stackgan_hf import StackGANPipeline
from stackgan_hf.text import CharCNNRNNEncoder, char_tokenizer, encode_prompts, load_text_encoder
from stackgan_hf.training import StackGANTrainingConfig, train
from stackgan_hf.training.text_encoder import (
    TextEncoderTrainingConfig,
    ds_sje_loss,
    info_nce_loss,
    train_text_encoder,
)

TINY_ENCODER = dict(
    conv_channels=(8, 8, 8),
    rnn_hidden_dim=8,
    embedding_dim=16,
    char_embedding_dim=4,
    image_channels=4,
    train_batch_size=8,
    synthetic_num_images=48,
    report_to="none",
    num_eval_candidates=10,
)


def test_standardize_gives_unit_scale_per_dimension():
    torch.manual_seed(0)
    encoder, tokenizer = (
        CharCNNRNNEncoder(conv_channels=(8, 8, 8), rnn_hidden_dim=8, embedding_dim=6),
        char_tokenizer(),
    )
    captions = [
        f"a bird with {c} wings and a {d} crown" for c in ("red", "blue", "green") for d in ("white", "black")
    ]
    ids = tokenizer(captions, padding="max_length", max_length=201, return_tensors="pt")["input_ids"]
    encoder.standardize_(ids, batch_size=4)
    out = encoder(ids)
    assert torch.allclose(out.mean(dim=0), torch.zeros(6), atol=1e-3)
    assert torch.allclose(out.std(dim=0), torch.ones(6), atol=1e-3)


def test_reed_shapes_and_padding_independence():
    assert CharCNNRNNEncoder.positions_after_convolutions(201, 4, 3) == 18  # Reed's 201 -> 18 positions
    torch.manual_seed(0)
    encoder = CharCNNRNNEncoder(conv_channels=(8, 8, 8), rnn_hidden_dim=8, embedding_dim=12).eval()
    tokenizer = char_tokenizer()
    assert len(tokenizer) == encoder.config.vocab_size == 259
    one = encode_prompts(["a red bird"], encoder, tokenizer)
    batch = encode_prompts(
        ["a red bird", "a much longer caption about a blue bird with a long beak"], encoder, tokenizer
    )
    assert one.shape == (1, 12) and torch.allclose(one[0], batch[0], atol=1e-6)  # the batch does not matter
    with pytest.raises(ValueError, match="too short"):
        CharCNNRNNEncoder(max_length=12)


def test_long_prompts_are_cut_with_a_warning(caplog):
    encoder, tokenizer = (
        CharCNNRNNEncoder(conv_channels=(4, 4, 4), rnn_hidden_dim=4, embedding_dim=4),
        char_tokenizer(),
    )
    long = "a bird " * 60
    with caplog.at_level("WARNING"):
        embedded = encode_prompts([long, long + "with a red crown"], encoder, tokenizer)
    assert "truncated" in caplog.text
    assert torch.allclose(embedded[0], embedded[1])  # everything after 201 characters is ignored


def test_ds_sje_is_zero_when_every_class_wins_by_the_margin_and_positive_otherwise():
    labels = torch.tensor([0, 0, 1, 2])
    basis = torch.eye(3) * 2.0
    aligned = basis[labels]
    assert ds_sje_loss(aligned, aligned, labels).item() == 0.0
    swapped = basis[torch.tensor([1, 1, 0, 2])]
    # By hand: image 0 (class 0) scores 0 with its class's text prototype, 4 with class 1's and 0 with class
    # 2's: hinges 1 + 4 - 0 and 1 + 0 - 0, averaged over the 2 other classes = 3. Images 1 and 2 likewise,
    # image 3 wins by 4 > 1: 0. The text side is the mirror image: (3 + 3 + 3 + 0) / 4 twice.
    loss = ds_sje_loss(aligned, swapped, labels)
    assert loss.item() == pytest.approx(2 * (3 + 3 + 3 + 0) / 4)
    assert info_nce_loss(aligned, aligned, torch.tensor(0.0)) < info_nce_loss(
        aligned, swapped, torch.tensor(0.0)
    )


def test_training_learns_resumes_exactly_and_round_trips_through_a_pipeline(tmp_path):
    full = train_text_encoder(
        TextEncoderTrainingConfig(
            output_dir=str(tmp_path / "full"), max_train_steps=6, checkpointing_steps=3, **TINY_ENCODER
        )
    )
    metrics = json.loads((tmp_path / "full" / "metrics.json").read_text())["metrics"]
    assert {"retrieval_r1", "zero_shot_accuracy"} <= set(metrics) and metrics == full.metrics
    assert "char-CNN-RNN" in (tmp_path / "full" / "README.md").read_text()

    # A run resumed from its step-3 checkpoint ends with the same weights.
    part = tmp_path / "part"
    train_text_encoder(
        TextEncoderTrainingConfig(
            output_dir=str(part), max_train_steps=3, checkpointing_steps=3, **TINY_ENCODER
        )
    )
    import shutil

    shutil.copytree(tmp_path / "full" / "checkpoint-3", part / "checkpoint-3")
    train_text_encoder(
        TextEncoderTrainingConfig(
            output_dir=str(part),
            max_train_steps=6,
            checkpointing_steps=3,
            resume_from_checkpoint="latest",
            **TINY_ENCODER,
        )
    )
    a, b = CharCNNRNNEncoder.from_pretrained(tmp_path / "full"), CharCNNRNNEncoder.from_pretrained(part)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    # The saved encoder is standardised over the training captions; the joint space is still there.
    assert not torch.equal(a.output_scale, torch.ones_like(a.output_scale))
    ids = char_tokenizer()(
        ["a red bird", "a blue bird"], padding="max_length", max_length=201, return_tensors="pt"
    )
    raw = a(ids["input_ids"], standardized=False)
    assert torch.allclose(a(ids["input_ids"]), (raw - a.output_shift) / a.output_scale)

    # StackGAN trains with it (--text_encoder PATH); the saved pipeline embeds an unseen sentence identically.
    config = StackGANTrainingConfig(
        **TINY_TRAINING,
        output_dir=str(tmp_path / "gan"),
        stage="1",
        max_train_steps=2,
        synthetic_num_images=16,
        text_encoder=str(tmp_path / "full"),
        mixed_precision="no",
    )
    train(config)
    pipeline = StackGANPipeline.from_pretrained(tmp_path / "gan")
    assert isinstance(pipeline.text_encoder, CharCNNRNNEncoder)
    sentence = ["an unseen sentence: a tiny purple bird with striped wings"]
    encoder, tokenizer = load_text_encoder(str(tmp_path / "full"))
    expected = encode_prompts(sentence, encoder, tokenizer)
    assert torch.equal(pipeline.encode_prompt(sentence, torch.device("cpu")), expected)
    images = pipeline(sentence, generator=torch.Generator().manual_seed(0), output_type="np").images
    assert images.shape == (1, 64, 64, 3)


def test_prepare_cub_writes_embeddings_with_a_trained_encoder(tmp_path):
    from cub_fixture import make_cub_tree

    from stackgan_hf.data import prepare_cub

    tree = make_cub_tree(tmp_path / "cub", embedding_dim=None)
    prepare_cub(tree["cub_dir"], tree["birds_dir"], tmp_path / "plain", image_size=76)
    encoder_dir = tmp_path / "encoder"
    train_text_encoder(
        TextEncoderTrainingConfig(
            **{**TINY_ENCODER, "train_batch_size": 4},
            output_dir=str(encoder_dir),
            dataset=str(tmp_path / "plain"),
            max_train_steps=2,
        )
    )
    dataset, report = prepare_cub(
        tree["cub_dir"],
        tree["birds_dir"],
        tmp_path / "embedded",
        text_encoder=str(encoder_dir),
        image_size=76,
    )
    assert report.has_embeddings and report.embedding_dim == 16
    row = dataset["test"][0]
    encoder, tokenizer = load_text_encoder(str(encoder_dir))
    expected = encode_prompts(row["captions"], encoder, tokenizer)
    assert torch.allclose(torch.tensor(row["embeddings"]), expected, atol=1e-4, rtol=1e-4)
    info = json.loads((tmp_path / "embedded" / "build_info.json").read_text())
    assert info["text_encoder"] == str(encoder_dir) and info["embedding_dim"] == 16


def test_r_precision_ranks_the_generating_caption_first_only_when_image_and_text_agree():
    from stackgan_hf.training.text_encoder import r_precision

    torch.manual_seed(0)
    text_encoder, tokenizer = (
        CharCNNRNNEncoder(conv_channels=(8, 8, 8), rnn_hidden_dim=8, embedding_dim=16),
        char_tokenizer(),
    )
    captions = [
        f"bird number {i} has {'red' if i % 2 else 'blue'} wings and a {i}-striped tail" for i in range(30)
    ]
    text_embeds = encode_prompts(captions, text_encoder, tokenizer)

    class Lookup(torch.nn.Module):  # an "image encoder" that returns the embedding of a given caption
        def __init__(self, order):
            super().__init__()
            self.order, self.calls = order, 0

        def forward(self, batch):
            rows = self.order[self.calls : self.calls + len(batch)]
            self.calls += len(batch)
            return text_embeds[rows]

    images = torch.rand(30, 3, 32, 32)
    aligned = r_precision(
        images, captions, (text_encoder.eval(), tokenizer, Lookup(list(range(30)))), 10, batch_size=8
    )
    shifted = r_precision(
        images, captions, (text_encoder, tokenizer, Lookup([(i + 1) % 30 for i in range(30)])), 10
    )
    assert aligned == 1.0 and shifted < 0.5


@pytest.mark.parametrize("kind", ["vit", "resnet"])
def test_any_local_image_model_can_be_the_image_side(tmp_path, kind):
    """--image_model: a local transformers vision model (a tiny ViT; a tiny ResNet, with BatchNorm), frozen,
    with a learned projection; the run saves it so that it loads without the original folder, for
    evaluation."""
    from transformers import ResNetConfig, ResNetModel, ViTConfig, ViTImageProcessor, ViTModel

    from stackgan_hf.training.text_encoder import PretrainedImageEncoder, load_joint_encoders

    torch.manual_seed(0)
    vit_dir = tmp_path / f"tiny-{kind}"
    if kind == "vit":
        vit = ViTModel(
            ViTConfig(
                image_size=32,
                patch_size=8,
                hidden_size=16,
                num_hidden_layers=1,
                num_attention_heads=2,
                intermediate_size=16,
            )
        )
        ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(vit_dir)
    else:  # no image processor saved: images go in as [-1, 1]
        vit = ResNetModel(ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1]))
    vit.save_pretrained(vit_dir)
    output = tmp_path / "encoder"
    train_text_encoder(
        TextEncoderTrainingConfig(
            **TINY_ENCODER, output_dir=str(output), max_train_steps=3, image_model=str(vit_dir)
        )
    )
    assert json.loads((output / "metrics.json").read_text())["metrics"]["retrieval_candidates"] == 10
    assert f"tiny-{kind}" in (output / "README.md").read_text()
    _, _, image_encoder = load_joint_encoders(output)
    assert isinstance(image_encoder, PretrainedImageEncoder)
    # The backbone stayed frozen (the saved one is the original); the projection learned.
    saved, original = image_encoder.backbone.state_dict(), vit.state_dict()
    assert all(torch.equal(saved[k], original[k]) for k in original)
    fresh = PretrainedImageEncoder.from_backbone(str(vit_dir), embedding_dim=16)
    assert not torch.equal(fresh.projection.weight, image_encoder.projection.weight)
    assert image_encoder(torch.zeros(2, 3, 64, 64)).shape == (2, 16)
