"""Text conditioning: the CA activation, the discriminator's own text projection, the losses pinned to the
official formulas on hand-made logits, the options beyond StackGAN-v1, and the training diagnostics."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from conftest import TINY_D, TINY_TRAINING

from stackgan_hf.data import load_stackgan_dataset
from stackgan_hf.data.synthetic_birds import oracle_embedding
from stackgan_hf.models import (
    ConditioningAugmentation,
    StackGANStage1Discriminator,
    StackGANStage1Generator,
    StackGANStage2Discriminator,
    discriminator_condition,
)
from stackgan_hf.training import StackGANTrainingConfig, train
from stackgan_hf.training.augment import diff_augment, parse_policy
from stackgan_hf.training.diagnostics import mu_statistics
from stackgan_hf.training.losses import (
    discriminator_loss,
    generator_adversarial_loss,
    text_image_contrastive_loss,
)
from stackgan_hf.training.step import (
    AdversarialOptions,
    LossWeights,
    StackGANGame,
    StepBatch,
    stackgan_step,
)

# Hand-made logits and the official formulas written out with plain math on them.
REAL = torch.tensor([2.0, -1.0])
WRONG = torch.tensor([0.5, -3.0])
FAKE = torch.tensor([-2.0, 1.5])


def _bce(logits, target):
    """Binary cross-entropy of sigmoid(logits) against a constant label, averaged (nn.BCELoss)."""
    values = []
    for x in logits.tolist():
        p = 1 / (1 + math.exp(-x))
        values.append(-(target * math.log(p) + (1 - target) * math.log(1 - p)))
    return sum(values) / len(values)


def test_discriminator_loss_is_stackgan_pytorchs():
    losses = discriminator_loss(REAL, WRONG, FAKE)
    expected = _bce(REAL, 1) + (_bce(FAKE, 0) + _bce(WRONG, 0)) * 0.5
    assert losses.total.item() == pytest.approx(expected, rel=1e-6)
    assert losses.real.item() == pytest.approx(_bce(REAL, 1), rel=1e-6)
    assert losses.mismatched.item() == pytest.approx(_bce(WRONG, 0), rel=1e-6)
    assert losses.fake.item() == pytest.approx(_bce(FAKE, 0), rel=1e-6)


def test_generator_loss_is_the_non_saturating_bce():
    assert generator_adversarial_loss(FAKE).item() == pytest.approx(_bce(FAKE, 1), rel=1e-6)


def test_ca_activation_leaky_relu_lets_mu_go_negative_and_relu_does_not():
    torch.manual_seed(0)
    text = torch.randn(64, 16)
    leaky = ConditioningAugmentation(16, 8)
    relu = ConditioningAugmentation(16, 8, activation="relu")
    relu.load_state_dict(leaky.state_dict())
    _, mu, logvar = leaky(text, return_dict=False)
    assert leaky.config.activation == "leaky_relu"
    assert (mu < 0).any() and (logvar < 0).any()
    _, mu_relu, logvar_relu = relu(text, return_dict=False)
    assert (mu_relu >= 0).all() and (logvar_relu >= 0).all()  # sigma >= 1: the parity behavior
    with pytest.raises(ValueError, match="activation"):
        ConditioningAugmentation(16, 8, activation="tanh")


@pytest.mark.parametrize("head", ["concat", "projection", "concat_projection"])
def test_discriminator_with_its_own_text_projection(head, tmp_path):
    torch.manual_seed(0)
    d = StackGANStage1Discriminator(**TINY_D, text_embedding_dim=12, conditional_head_type=head)
    assert d.takes_text_embeddings
    images, text = torch.randn(3, 3, 64, 64), torch.randn(3, 12)
    out = d(images, text)
    assert out.conditional_logits.shape == (3,)
    # The text matters: another text gives other logits for the same images.
    assert not torch.allclose(out.conditional_logits, d(images, torch.randn(3, 12)).conditional_logits)
    with pytest.raises(ValueError, match=r"text embedding \[B, 12\]"):
        d(images, torch.randn(3, 4))
    d.save_pretrained(tmp_path)
    loaded = StackGANStage1Discriminator.from_pretrained(tmp_path)
    d.eval(), loaded.eval()
    torch.testing.assert_close(loaded(images, text).conditional_logits, d(images, text).conditional_logits)


def test_discriminator_condition_picks_text_or_generator_mu():
    text, mu = torch.randn(2, 12), torch.randn(2, 4, requires_grad=True)
    own = StackGANStage2Discriminator(**TINY_D, text_embedding_dim=12)
    parity = StackGANStage2Discriminator(**TINY_D)
    assert discriminator_condition(own, text, mu) is text
    condition = discriminator_condition(parity, text, mu)
    assert torch.equal(condition, mu) and not condition.requires_grad


def test_diffaugment_is_seeded_differentiable_and_shape_preserving():
    assert parse_policy("color, translation,cutout") == ("color", "translation", "cutout")
    assert parse_policy("") == ()
    with pytest.raises(ValueError, match="DiffAugment"):
        parse_policy("rotation")
    images = torch.rand(4, 3, 16, 16, requires_grad=True) * 2 - 1
    policy = parse_policy("color,translation,cutout")
    a = diff_augment(images, policy, torch.Generator().manual_seed(1))
    b = diff_augment(images, policy, torch.Generator().manual_seed(1))
    assert a.shape == images.shape and torch.equal(a, b)
    assert not torch.equal(a, diff_augment(images, policy, torch.Generator().manual_seed(2)))
    a.sum().backward()
    # Cutout zeroes a quarter of each image (a square of half the side, maybe cut by the border).
    cut = diff_augment(torch.ones(8, 1, 16, 16), ("cutout",), torch.Generator().manual_seed(0))
    zeros = (cut == 0).flatten(1).float().mean(1)
    assert ((zeros > 0) & (zeros <= 0.25)).all()
    # Translation moves by whole pixels and fills with zeros.
    ramp = torch.arange(16.0).expand(1, 1, 16, 16).repeat(4, 1, 1, 1) + 1
    moved = diff_augment(ramp, ("translation",), torch.Generator().manual_seed(3))
    assert set(moved.unique().tolist()) <= set(range(0, 17))


def _game(g, d, options=None, **weights) -> StackGANGame:
    weights = LossWeights(**{"kl_coefficient": 1.0, **weights})
    return StackGANGame(g, d, g.config.noise_dim, weights, options or AdversarialOptions())


def _step(d_kwargs, options=None, **weights):
    torch.manual_seed(0)
    g = StackGANStage1Generator(text_embedding_dim=12, noise_dim=8, condition_dim=4, base_channels=16)
    d = StackGANStage1Discriminator(**TINY_D, **d_kwargs)
    g_opt, d_opt = torch.optim.Adam(g.parameters()), torch.optim.Adam(d.parameters())
    batch = StepBatch(torch.randn(4, 12), torch.rand(4, 3, 64, 64) * 2 - 1, torch.rand(4, 3, 64, 64) * 2 - 1)
    return stackgan_step(
        _game(g, d, options, **weights), g_opt, d_opt, batch, torch.Generator().manual_seed(0)
    )


def test_step_with_every_option_trains_both_networks():
    options = AdversarialOptions(diffaugment=("translation", "cutout"))
    out = _step(dict(text_embedding_dim=12, conditional_head_type="projection"), options)
    assert torch.isfinite(out.d_losses.total) and torch.isfinite(out.g_loss)
    assert out.mu.shape == (4, 4)
    assert torch.isfinite(_step({}).g_loss)


def test_contrastive_loss_is_xmc_gans_formula_in_both_directions():
    images = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, -2.0]])
    texts = torch.tensor([[2.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    tau = 0.5

    def cos(a, b):
        return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))

    sims = [[cos(i, t) / tau for t in texts.tolist()] for i in images.tolist()]
    image_to_text = [-(row[k] - math.log(sum(math.exp(v) for v in row))) for k, row in enumerate(sims)]
    columns = [[sims[i][k] for i in range(3)] for k in range(3)]
    text_to_image = [-(col[k] - math.log(sum(math.exp(v) for v in col))) for k, col in enumerate(columns)]
    expected = (sum(image_to_text) / 3 + sum(text_to_image) / 3) / 2
    assert text_image_contrastive_loss(images, texts, tau).item() == pytest.approx(expected, rel=1e-5)
    # scale-free (cosine), lower when each image is nearest its own caption, zero-valued for one image
    assert text_image_contrastive_loss(images * 3, texts, tau).item() == pytest.approx(expected, rel=1e-5)
    assert text_image_contrastive_loss(texts, texts, tau) < text_image_contrastive_loss(
        texts.flip(0), texts, tau
    )
    assert text_image_contrastive_loss(images[:1], texts[:1], tau).item() == 0.0
    # rows of one class are not each other's negatives: rows 0 and 1 share a class, row 2 has none (-1)
    masked = [[v if {i, k} != {0, 1} else -math.inf for k, v in enumerate(row)] for i, row in enumerate(sims)]

    def nll(values, k):
        return -(values[k] - math.log(sum(math.exp(v) for v in values if v != -math.inf)))

    columns = [[masked[i][k] for i in range(3)] for k in range(3)]
    expected = (
        sum(nll(r, k) for k, r in enumerate(masked)) + sum(nll(c, k) for k, c in enumerate(columns))
    ) / 6
    classes = torch.tensor([4, 4, -1])
    assert text_image_contrastive_loss(images, texts, tau, classes).item() == pytest.approx(
        expected, rel=1e-5
    )
    assert text_image_contrastive_loss(
        images, texts, tau, torch.tensor([-1, -1, -1])
    ).item() == pytest.approx(text_image_contrastive_loss(images, texts, tau).item())


def test_contrastive_option_trains_both_networks_through_the_projection_space():
    d_kwargs = dict(text_embedding_dim=12, conditional_head_type="projection")
    out = _step(d_kwargs, contrastive_coefficient=1.0)
    assert out.contrastive is not None and out.contrastive.item() > 0
    assert _step(d_kwargs).contrastive is None
    torch.manual_seed(0)
    d = StackGANStage1Discriminator(**TINY_D, **d_kwargs)
    features = d(torch.rand(4, 3, 64, 64) * 2 - 1, torch.randn(4, 12)).features
    image_embeds, text_embeds = d.joint_embeddings(features, torch.randn(4, 12))
    assert image_embeds.shape == text_embeds.shape == (4, d.conditional_head.embed.out_features)
    with pytest.raises(ValueError, match="needs a projection discriminator head"):
        concat = StackGANStage1Discriminator(**TINY_D, text_embedding_dim=12)
        concat.joint_embeddings(features, torch.randn(4, 12))


def test_contrastive_option_needs_a_projection_head_and_is_named_beyond_stackgan_v1():
    from stackgan_hf.training.config import options_beyond_stackgan_v1
    from stackgan_hf.utils.config import ConfigError

    with pytest.raises(ConfigError, match="`contrastive_coefficient` needs a projection head"):
        StackGANTrainingConfig(contrastive_coefficient=1.0)
    with pytest.raises(ConfigError, match="`contrastive_coefficient` must be at least 0, got -1.0"):
        StackGANTrainingConfig(contrastive_coefficient=-1.0, discriminator_head="projection")
    config = StackGANTrainingConfig(contrastive_coefficient=0.5, discriminator_head="projection")
    notes = options_beyond_stackgan_v1(config)
    assert "image-caption contrastive loss in the projection head's space (XMC-GAN), weight 0.5" in notes


def test_mu_statistics_count_units_without_text_information():
    mu = torch.zeros(8, 4)
    mu[:, 0] = torch.arange(8.0)
    mu[:, 1] = 3.0  # constant: no information either
    stats = mu_statistics(mu)
    assert stats["ca_dead_units"] == pytest.approx(0.75)
    assert stats["mu_norm"] == pytest.approx(torch.linalg.norm(mu, dim=1).mean().item())


def test_oracle_embeddings_are_the_standardized_attribute_one_hots():
    code = oracle_embedding(0, 1, 7)
    assert code.shape == (24,)
    assert set(np.flatnonzero(code > 0).tolist()) == {0, 9, 23}
    assert code.mean() == pytest.approx(0.0, abs=1e-6)
    rows = load_stackgan_dataset("synthetic-birds-oracle", synthetic_num_images=8, synthetic_image_size=76)
    first = rows[0]
    np.testing.assert_allclose(
        np.asarray(first["embeddings"])[3],
        oracle_embedding(first["crown_color"], first["wing_color"], first["breast_color"]),
    )


def _train_tiny_stage1(tmp_path, **overrides) -> None:
    """A tiny Stage-I run on synthetic birds in ``tmp_path / "run"``; ``overrides`` are config values."""
    values = {**TINY_TRAINING, "stage": "1", "dataset": "synthetic-birds", "checkpointing_steps": 100}
    train(StackGANTrainingConfig(**{**values, **overrides}, output_dir=str(tmp_path / "run")))


def test_training_logs_the_conditioning_diagnostics(tmp_path):
    _train_tiny_stage1(
        tmp_path,
        train_batch_size=8,
        synthetic_num_images=32,
        max_train_steps=4,
        logging_steps=2,
        diffaugment="translation",
    )
    records = [
        json.loads(line) for line in (tmp_path / "run" / "stage1_history.jsonl").read_text().splitlines()
    ]
    logged = [r for r in records if r["step"] % 2 == 0]
    for record in logged:
        for key in (
            "ca_dead_units",
            "mu_norm",
            "heldout_acc_real",
            "heldout_acc_mismatched",
        ):
            assert key in record, key
        assert 0 <= record["heldout_acc_mismatched"] <= 1
    saved = json.loads((tmp_path / "run" / "discriminator" / "config.json").read_text())
    assert saved["text_embedding_dim"] == 256  # the bag-of-words encoder's
    generator = json.loads((tmp_path / "run" / "stage1_generator" / "config.json").read_text())
    assert generator["ca_activation"] == "leaky_relu"


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_stage2_image_skip_starts_from_the_upsampled_stage1_image(mode):
    from stackgan_hf.models import StackGANStage2Generator

    torch.manual_seed(0)
    plain = StackGANStage2Generator(
        text_embedding_dim=8, condition_dim=4, base_channels=8, num_residual_blocks=1
    )
    assert plain.config.image_skip is False  # StackGAN-v1
    skip = StackGANStage2Generator(
        text_embedding_dim=8,
        condition_dim=4,
        base_channels=8,
        num_residual_blocks=1,
        image_skip=True,
        image_skip_mode=mode,
    )
    low = torch.rand(2, 3, 64, 64) * 1.6 - 0.8
    images = skip(low, torch.randn(2, 8)).images
    upsampled = torch.nn.functional.interpolate(low, size=256, mode=mode, align_corners=False)
    assert images.shape == (2, 3, 256, 256)
    torch.testing.assert_close(images, upsampled.clamp(-0.999, 0.999), atol=1e-5, rtol=0)
    assert not torch.allclose(plain(low, torch.randn(2, 8)).images, upsampled, atol=0.05)
    with pytest.raises(ValueError, match="image_skip_mode must be one of"):
        StackGANStage2Generator(image_skip=True, image_skip_mode="nearest")


def test_ablation_variants_are_the_paper_plus_one_option():
    from stackgan_hf.evaluation.compare import conditioning_variants, stage2_variants

    variants = {v.name: v.overrides for v in conditioning_variants(["paper", "ema+projection"])}
    assert variants["paper"] == {"stage": "1"}
    assert (
        variants["ema+projection"]["use_ema"]
        and variants["ema+projection"]["discriminator_head"] == "projection"
    )
    with pytest.raises(ValueError, match="Unknown conditioning variant"):
        conditioning_variants(["bigger_is_better"])
    stage2 = {v.name: v.overrides for v in stage2_variants("some/stage1")}
    assert stage2["v1"]["color_consistency_coefficient"] == 0.0 and stage2["v1"]["stage2_image_skip"] is False
    assert stage2["image_skip"]["stage2_image_skip"] and stage2["image_skip"]["stage1_model"] == "some/stage1"


@pytest.mark.parametrize("name", ["cub_stage1.yaml", "cub_stage2.yaml"])
def test_the_paper_configs_stay_stackgan_v1(name):
    from pathlib import Path

    from stackgan_hf.training.config import options_beyond_stackgan_v1
    from stackgan_hf.utils.config import parse_config

    path = Path(__file__).resolve().parents[1] / "configs" / "stackgan" / name
    config = parse_config(StackGANTrainingConfig, ["--config", str(path)])
    assert options_beyond_stackgan_v1(config) == []


def test_the_quickstart_names_its_options_beyond_stackgan_v1():
    from pathlib import Path

    from stackgan_hf.training.config import options_beyond_stackgan_v1
    from stackgan_hf.utils.config import parse_config

    path = Path(__file__).resolve().parents[1] / "configs" / "stackgan" / "quickstart.yaml"
    notes = options_beyond_stackgan_v1(parse_config(StackGANTrainingConfig, ["--config", str(path)]))
    assert any("projection" in note for note in notes)
    assert any("image skip" in note for note in notes)
    assert "generator learning rate 0.0016 instead of the paper's 0.0002" in notes
    assert "discriminator learning rate 0.0004 instead of the paper's 0.0002" in notes
    assert any(note.startswith("mismatched pairs from captions (DF-GAN)") for note in notes)
    assert "KL weight 0.1 instead of the TF original's 2" in notes
    assert "image-caption contrastive loss in the projection head's space (XMC-GAN), weight 16" in notes
    assert any("hard negative" in n and "as mismatched pairs" in n for n in notes)


def test_ablation_tables_carry_the_end_of_training_diagnostics(tmp_path):
    from stackgan_hf.evaluation.compare import collect_record, diagnostics_table, final_diagnostics

    run = tmp_path / "variant"
    run.mkdir()
    history = [
        {"step": 1, "d_acc_fake": 0.5, "g_loss_adversarial": 1.0},
        {
            "step": 2,
            "d_acc_fake": 0.75,
            "g_loss_adversarial": 2.0,
            "heldout_acc_real": 0.9,
            "heldout_acc_mismatched": 0.8,
            "ca_dead_units": 0.0,
            "mu_norm": 3.0,
        },
        {"step": 3, "d_acc_fake": 1.0, "g_loss_adversarial": 3.0},
    ]
    (run / "stage1_history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in history))
    found = final_diagnostics(run)
    assert found["stage1"]["step"] == 2 and found["stage1"]["heldout_acc_mismatched"] == 0.8
    (run / "evaluation.json").write_text(json.dumps({"variant": "v", "metrics": {"stages": {}}}))
    record = collect_record(run)
    assert record["diagnostics"] == found
    table = diagnostics_table([record])
    assert "| v | stage1 | 2 | 0.900 | 0.800 | 0.000 | 3.000 | 0.750 | 2.000 |" in table
    assert diagnostics_table([{"variant": "old", "metrics": {}}]) == ""


def test_low_resolution_consistency_is_zero_for_an_upsampled_stage1_image_and_sees_where_colors_are():
    from stackgan_hf.training.losses import color_consistency_loss, low_resolution_consistency_loss

    low = torch.rand(2, 3, 64, 64) * 2 - 1
    high = torch.nn.functional.interpolate(low, scale_factor=4, mode="nearest")
    assert low_resolution_consistency_loss(high, low).item() == pytest.approx(0.0, abs=1e-6)
    mirrored = high.flip(-1)  # same colors, other places: the global color statistics cannot tell
    assert color_consistency_loss(mirrored, low).item() == pytest.approx(0.0, abs=1e-5)
    assert low_resolution_consistency_loss(mirrored, low).item() > 0.1


def test_heldout_matching_accuracy_over_a_whole_split(tmp_path):
    from stackgan_hf import StackGANPipeline
    from stackgan_hf.training.diagnostics import heldout_matching_accuracy

    _train_tiny_stage1(tmp_path, synthetic_num_images=24, max_train_steps=2)
    pipeline = StackGANPipeline.from_pretrained(tmp_path / "run")
    discriminator = StackGANStage1Discriminator.from_pretrained(tmp_path / "run" / "discriminator")
    test = load_stackgan_dataset(
        "synthetic-birds", split="test", synthetic_num_images=24, synthetic_image_size=76
    )
    before = {k: v.clone() for k, v in discriminator.state_dict().items()}
    values = heldout_matching_accuracy(pipeline, discriminator, test, batch_size=4)
    assert set(values) == {"heldout_acc_real", "heldout_acc_mismatched"}
    assert all(0.0 <= v <= 1.0 for v in values.values())
    for key, value in discriminator.state_dict().items():
        assert torch.equal(value, before[key]), key  # scoring leaves the discriminator as it was


def test_color_negatives_put_the_captions_own_colors_on_other_parts():
    from stackgan_hf.training.negatives import copy_color_word, parse_negative_kinds, swap_color_words

    rng = np.random.default_rng(0)
    caption = "this bird has a black crown, red wings and an orange breast"
    seen = set()
    for _ in range(40):
        swapped = swap_color_words(caption, rng)
        words = swapped.replace(",", "").split()
        colors = [w for w in words if w in ("black", "red", "orange")]
        assert sorted(colors) == ["black", "orange", "red"] and swapped != caption
        seen.add(swapped)
    assert seen == {
        "this bird has a red crown, black wings and an orange breast",
        "this bird has an orange crown, red wings and a black breast",
        "this bird has a black crown, orange wings and a red breast",
    }
    # "an"/"a" follow the color, capitals are kept, and a caption with one color has no such negative
    assert (
        swap_color_words("An orange crown and a Black breast.", rng) == "A Black crown and an orange breast."
    )
    assert swap_color_words("a mostly red bird with red wings", rng) is None
    assert swap_color_words("a small bird with a short beak", rng) is None
    # colors listed for one part keep their meaning when swapped: no swap there, but other pairs still swap
    assert swap_color_words("a black and white bird", rng) is None
    assert swap_color_words("wings of black, white or gray", rng) is None
    assert swap_color_words("black and white wings, a red crown", rng) in {
        "red and white wings, a black crown",
        "black and red wings, a white crown",
    }
    copies = {copy_color_word("a red crown, blue wings and an orange breast", rng) for _ in range(60)}
    assert len(copies) == 6 and "a red crown, red wings and an orange breast" in copies
    assert "an orange crown, blue wings and an orange breast" in copies
    assert copy_color_word("a mostly red bird with red wings", rng) is None
    assert parse_negative_kinds(" swap, copy") == ("swap", "copy") and parse_negative_kinds("") == ()
    with pytest.raises(ValueError, match="color_negatives: expected a comma-separated subset of swap, copy"):
        parse_negative_kinds("swap,shuffle")
    a = swap_color_words(caption, np.random.default_rng(5))
    assert a == swap_color_words(caption, np.random.default_rng(5))


def test_contrastive_loss_hard_negatives_join_each_images_captions():
    images = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    texts = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    hard = torch.tensor([[1.0, 1.0], [1.0, -1.0]])
    tau = 0.5
    unit = torch.nn.functional.normalize
    sims = (unit(images) @ unit(texts).t() / tau).tolist()
    extra = ((unit(images) * unit(hard)).sum(1) / tau).tolist()

    def nll(values, k):
        return -(values[k] - math.log(sum(math.exp(v) for v in values)))

    image_to_text = [nll(row + [extra[i]], i) for i, row in enumerate(sims)]
    text_to_image = [nll([sims[i][k] for i in range(2)], k) for k in range(2)]
    expected = (sum(image_to_text) / 2 + sum(text_to_image) / 2) / 2
    loss = text_image_contrastive_loss(images, texts, tau, hard_negative_embeds=hard)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    # a masked row has no hard negative; all rows masked is the loss without them
    plain = text_image_contrastive_loss(images, texts, tau)
    none = torch.tensor([False, False])
    assert text_image_contrastive_loss(
        images, texts, tau, hard_negative_embeds=hard, hard_negative_mask=none
    ).item() == pytest.approx(plain.item(), rel=1e-6)
    first_only = [nll(sims[0] + [extra[0]], 0), nll(sims[1], 1)]
    expected = (sum(first_only) / 2 + sum(text_to_image) / 2) / 2
    assert text_image_contrastive_loss(
        images, texts, tau, hard_negative_embeds=hard, hard_negative_mask=torch.tensor([True, False])
    ).item() == pytest.approx(expected, rel=1e-5)
    # K negatives per image: [B, K, C] with a [B, K] mask; the second one masked is the one-negative loss
    two = torch.stack([hard, -hard], dim=1)
    mask = torch.tensor([[True, False], [True, False]])
    assert text_image_contrastive_loss(
        images, texts, tau, hard_negative_embeds=two, hard_negative_mask=mask
    ).item() == pytest.approx(loss.item(), rel=1e-6)
    assert text_image_contrastive_loss(images, texts, tau, hard_negative_embeds=two) > loss


def test_hard_negatives_as_mismatched_pairs_join_the_matching_aware_term():
    import copy

    from torch.nn import functional as F

    torch.manual_seed(0)
    g = StackGANStage1Generator(text_embedding_dim=12, noise_dim=8, condition_dim=4, base_channels=16)
    d = StackGANStage1Discriminator(**TINY_D, text_embedding_dim=12, conditional_head_type="projection")
    d.eval()  # BatchNorm from running statistics: each pair's logit does not depend on its batch
    text, real, wrong = torch.randn(4, 12), torch.rand(4, 3, 64, 64) * 2 - 1, torch.rand(4, 3, 64, 64) * 2 - 1
    hard = torch.randn(4, 2, 12)
    mask = torch.tensor([[True, True], [True, False], [False, False], [False, True]])
    with torch.no_grad():
        for parameter in d.parameters():
            parameter.mul_(4)  # logits away from 0, so that the pairs' terms differ
        random_logits = d(wrong, text).conditional_logits
        hard_logits = d(real.repeat_interleave(2, dim=0), hard.flatten(0, 1)).conditional_logits

    def mismatched_term(with_hard_negatives):
        networks = copy.deepcopy(g), copy.deepcopy(d)
        optimizers = [torch.optim.Adam(n.parameters()) for n in networks]
        extra = dict(hard_negative_text=hard, hard_negative_mask=mask) if with_hard_negatives else {}
        batch = StepBatch(text, real, wrong, **extra)
        rng = torch.Generator().manual_seed(0)
        return stackgan_step(_game(*networks), *optimizers, batch, rng).d_losses.mismatched.item()

    def bce_fake(logits):
        return F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits)).item()

    # the four random pairs and the four existing hard pairs, each scored "fake", in one mean
    expected = bce_fake(torch.cat([random_logits, hard_logits[mask.flatten()]]))
    assert mismatched_term(True) == pytest.approx(expected, rel=1e-5)
    assert mismatched_term(False) == pytest.approx(bce_fake(random_logits), rel=1e-5)
    assert abs(expected - bce_fake(random_logits)) > 1e-3


@pytest.mark.parametrize("head", ["projection", "concat", "concat_projection"])
def test_more_captions_for_encoded_images_score_as_a_forward_pass_of_the_repeated_images(head):
    """The step scores each real image with its K hard negative captions from the real batch's features;
    in training mode (batch statistics) that is what encoding the repeated images gives."""
    torch.manual_seed(0)
    d = StackGANStage1Discriminator(**TINY_D, text_embedding_dim=12, conditional_head_type=head).train()
    real, hard = torch.rand(4, 3, 64, 64) * 2 - 1, torch.randn(8, 12)
    features = d(real, torch.randn(4, 12)).features
    reused = d.conditional_logits(features.repeat_interleave(2, dim=0), hard)
    encoded = d(real.repeat_interleave(2, dim=0), hard).conditional_logits
    torch.testing.assert_close(reused, encoded, rtol=1e-4, atol=1e-5)
    assert reused.std() > 1e-3  # the captions matter: a head that ignored them would pass trivially
    # the same images in another batch (other statistics) give other features: valid for the same batch only
    other = d(torch.cat([real[:2], real[:2]]), torch.randn(4, 12)).features
    assert not torch.allclose(other[:2], features[:2], atol=1e-3)


def test_color_negatives_train_and_need_their_requirements(tmp_path):
    from stackgan_hf.training.config import options_beyond_stackgan_v1
    from stackgan_hf.utils.config import ConfigError

    projection = dict(contrastive_coefficient=1.0, discriminator_head="projection")
    with pytest.raises(ConfigError, match="`color_negatives` needs the contrastive loss"):
        StackGANTrainingConfig(color_negatives="swap", discriminator_head="projection")
    with pytest.raises(ConfigError, match="expected a comma-separated subset"):
        StackGANTrainingConfig(color_negatives="swop", **projection)
    notes = options_beyond_stackgan_v1(StackGANTrainingConfig(color_negatives="swap,copy", **projection))
    assert any("hard negative captions (swap,copy)" in n for n in notes)
    assert not any("hard negative" in note for note in options_beyond_stackgan_v1(StackGANTrainingConfig()))
    tiny = dict(train_batch_size=8, synthetic_num_images=32, max_train_steps=3, logging_steps=1, **projection)
    first_losses = {}
    for kinds in ("", "swap", "swap,copy"):
        _train_tiny_stage1(tmp_path / f"n{kinds}", color_negatives=kinds, **tiny)
        history = (tmp_path / f"n{kinds}" / "run" / "stage1_history.jsonl").read_text().splitlines()
        records = [json.loads(line) for line in history]
        assert len(records) == 3 and all(math.isfinite(r["d_loss_contrastive"]) for r in records)
        first_losses[kinds] = records[0]["d_loss_contrastive"]
    # the same first batch and weights: more negatives per image can only raise the first step's loss
    assert first_losses[""] < first_losses["swap"] < first_losses["swap,copy"]
    with pytest.raises(ConfigError, match="needs a text encoder"):
        _train_tiny_stage1(
            tmp_path / "oracle",
            dataset="synthetic-birds-oracle",
            text_encoder="precomputed",
            color_negatives="swap",
            **tiny,
        )


def test_the_generator_step_computes_no_discriminator_weight_gradients():
    """The generator's backward pass goes through the discriminator for its inputs only: each of the
    discriminator's weights gets one gradient per step (its own step's), and it is trainable again after."""
    torch.manual_seed(0)
    g = StackGANStage1Generator(text_embedding_dim=12, noise_dim=8, condition_dim=4, base_channels=16)
    d = StackGANStage1Discriminator(**TINY_D, text_embedding_dim=12, conditional_head_type="projection")
    counts = {name: 0 for name, _ in d.named_parameters()}
    for name, parameter in d.named_parameters():
        parameter.register_hook(lambda grad, name=name: counts.__setitem__(name, counts[name] + 1))
    g_before = [p.detach().clone() for p in g.parameters()]
    text, real, wrong = torch.randn(4, 12), torch.rand(4, 3, 64, 64) * 2 - 1, torch.rand(4, 3, 64, 64) * 2 - 1
    optimizers = [torch.optim.Adam(n.parameters()) for n in (g, d)]
    game = _game(g, d, contrastive_coefficient=1.0)
    stackgan_step(game, *optimizers, StepBatch(text, real, wrong), torch.Generator().manual_seed(0))
    assert set(counts.values()) == {1}
    assert all(p.requires_grad for p in d.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(g_before, g.parameters(), strict=True))  # G still learns


def test_other_class_rows_pick_the_next_row_of_another_class():
    from stackgan_hf.training.step import other_class_rows

    assert other_class_rows(4, None).tolist() == [1, 2, 3, 0]
    assert other_class_rows(5, torch.tensor([7, 7, 3, 7, 3])).tolist() == [2, 2, 3, 4, 0]
    assert other_class_rows(3, torch.tensor([1, 1, 1])).tolist() == [-1, -1, -1]
    assert other_class_rows(1, None).tolist() == [-1]


def test_mismatched_captions_score_each_real_image_with_another_class_caption(tmp_path):
    """``mismatched_pairs="captions"`` (DF-GAN): the mismatched term is each real image with the next
    other-class caption, from the real images' features: what a forward pass of those pairs gives."""
    import copy

    from torch.nn import functional as F

    from stackgan_hf.training.config import options_beyond_stackgan_v1

    torch.manual_seed(0)
    g = StackGANStage1Generator(text_embedding_dim=12, noise_dim=8, condition_dim=4, base_channels=16)
    d = StackGANStage1Discriminator(**TINY_D, text_embedding_dim=12, conditional_head_type="projection")
    d.eval()  # BatchNorm from running statistics: each pair's logit does not depend on its batch
    text, real = torch.randn(4, 12), torch.rand(4, 3, 64, 64) * 2 - 1
    class_ids = torch.tensor([5, 5, 6, 5])  # rows 0, 1 and 3 pair with row 2's caption, row 2 with row 3's
    with torch.no_grad():
        for parameter in d.parameters():
            parameter.mul_(4)
        expected = d(real, text[[2, 2, 3, 2]]).conditional_logits
    networks = copy.deepcopy(g), copy.deepcopy(d)
    step = stackgan_step(
        _game(*networks, AdversarialOptions(mismatched_pairs="captions")),
        *[torch.optim.Adam(n.parameters()) for n in networks],
        StepBatch(text, real, None, class_ids=class_ids),
        torch.Generator().manual_seed(0),
    )
    torch.testing.assert_close(step.mismatched_logits, expected, rtol=1e-4, atol=1e-5)
    bce = F.binary_cross_entropy_with_logits(expected, torch.zeros_like(expected)).item()
    assert step.d_losses.mismatched.item() == pytest.approx(bce, rel=1e-5)

    notes = options_beyond_stackgan_v1(StackGANTrainingConfig(mismatched_pairs="captions"))
    assert any("mismatched pairs from captions (DF-GAN)" in note for note in notes)
    assert not any(
        "captions (DF-GAN)" in note for note in options_beyond_stackgan_v1(StackGANTrainingConfig())
    )
    tiny = dict(train_batch_size=8, synthetic_num_images=32, max_train_steps=3, logging_steps=1)
    _train_tiny_stage1(tmp_path, mismatched_pairs="captions", **tiny)
    records = [
        json.loads(line) for line in (tmp_path / "run" / "stage1_history.jsonl").read_text().splitlines()
    ]
    assert len(records) == 3 and all(math.isfinite(r["d_loss_mismatched"]) for r in records)


def test_the_view_leaves_out_mismatched_images_when_asked():
    from stackgan_hf.data.transforms import StackGANTrainingView, collate_training_batch

    dataset = load_stackgan_dataset("synthetic-birds", synthetic_num_images=8, seed=0)
    with_images = StackGANTrainingView(dataset, seed=0).as_dataset()
    without = StackGANTrainingView(dataset, seed=0, mismatched_images=False).as_dataset()
    rows = [without[i] for i in range(4)]
    assert "mismatched_pixel_values" not in rows[0]
    batch = collate_training_batch(rows)
    assert "mismatched_pixel_values" not in batch
    full = collate_training_batch([with_images[i] for i in range(4)])
    torch.testing.assert_close(batch["pixel_values"], full["pixel_values"])  # the same crops and captions
    assert batch["caption"] == full["caption"]
