"""StackGAN training under accelerate: both stages, 2-process CPU DDP, exact resume, NaN, bad config, Hub."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import PIL.Image
import pytest
import torch
import yaml
from conftest import TINY_TRAINING
from cub_fixture import make_cub_tree

import stackgan_hf.training.step as step_module
import stackgan_hf.training.trainer as train_module
from stackgan_hf import StackGANPipeline, StackGANStage2Generator
from stackgan_hf.data import prepare_cub
from stackgan_hf.training import StackGANTrainingConfig, TrainingDivergedError, train
from stackgan_hf.training.trainer import read_history
from stackgan_hf.utils.config import ConfigError
from stackgan_hf.visualization import plot_training_history

REPO = Path(__file__).resolve().parents[1]
TINY = dict(
    TINY_TRAINING,
    logging_steps=1,
    mixed_precision="no",  # exact comparisons; bf16 has its own tests (test_fast_path.py)
)


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("cub-train")
    tree = make_cub_tree(root, num_classes=4, images_per_class=4, embedding_dim=8)
    prepare_cub(tree["cub_dir"], tree["birds_dir"], root / "prepared", image_size=304)
    return str(root / "prepared")


def _config(tmp_path, dataset, **overrides) -> StackGANTrainingConfig:
    values = dict(TINY, output_dir=str(tmp_path / "run"), dataset=dataset, stage="1", max_train_steps=4)
    values.update(overrides)
    return StackGANTrainingConfig(**values)


def test_stage1_then_stage2_train_and_save_a_loadable_pipeline(tmp_path, tiny_dataset, monkeypatch):
    config = _config(
        tmp_path,
        tiny_dataset,
        stage="both",
        max_train_steps=3,
        checkpointing_steps=2,
        sample_steps=3,
        upsample_mode="bilinear",
    )
    output = train(config)
    pipe = StackGANPipeline.from_pretrained(output)
    assert pipe.stage2_generator is not None and pipe.text_encoder is not None
    out = pipe("a bird", generator=torch.Generator().manual_seed(0), output_type="np")
    assert out.images.shape == (1, 256, 256, 3) and out.stage1_images.shape == (1, 64, 64, 3)
    # Stage-II trained on top of the saved Stage-I, which stayed frozen.
    stage1 = StackGANPipeline.from_pretrained(output / "stage1").stage1_generator
    for name, tensor in stage1.state_dict().items():
        torch.testing.assert_close(pipe.stage1_generator.state_dict()[name], tensor, rtol=0, atol=0)
    # Checkpoints hold the models as save_pretrained folders: the last one opens without the trainer.
    checkpoint = StackGANStage2Generator.from_pretrained(output / "checkpoint-3" / "generator")
    for name, tensor in checkpoint.state_dict().items():
        torch.testing.assert_close(pipe.stage2_generator.state_dict()[name], tensor, rtol=0, atol=0)
    assert (output / "stage1" / "checkpoint-3" / "discriminator" / "config.json").is_file()
    assert not list((output / "checkpoint-3").glob("model*.safetensors"))  # not also in accelerate's files
    for stage, run in ((1, output / "stage1"), (2, output)):
        history = read_history(run / f"stage{stage}_history.jsonl")
        assert [r["step"] for r in history] == [1, 2, 3]
        assert all(0 <= r["d_acc_real"] <= 1 and r["kl"] >= 0 for r in history)
        assert sorted(p.name for p in run.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-3"]
        assert (run / "samples" / f"stage{stage}_step000003.png").is_file()
        plot_training_history(history, tmp_path / f"curves{stage}.png", title=f"Stage {stage}", smooth=2)
        assert PIL.Image.open(tmp_path / f"curves{stage}.png").size[0] > 500
    card = (output / "README.md").read_text()
    assert "pipeline_tag: text-to-image" in card and "library_name: diffusers" in card
    # The two-stage pipeline carries both stages' records, and its card names both stages' options.
    assert json.loads((output / "stage1_summary.json").read_text())["stage"] == 1
    assert "- Stage-I: bilinear upsampling" in card and "- Stage-II: bilinear upsampling" in card
    assert "halved every 100 epochs in Stage-I and every 100 epochs in Stage-II" in card
    # The card's loading snippet runs as written (offline, the model id being this run's folder).
    snippet = card.split("```python\n", 1)[1].split("```", 1)[0]
    namespace = {}
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "model card snippet", "exec"), namespace)
    assert namespace["out"].images[0].size == (256, 256) and (tmp_path / "bird.png").is_file()


def test_checkpoints_total_limit_keeps_the_newest(tmp_path, tiny_dataset):
    train(
        _config(tmp_path, tiny_dataset, max_train_steps=5, checkpointing_steps=1, checkpoints_total_limit=2)
    )
    assert sorted(p.name for p in (tmp_path / "run").glob("checkpoint-*")) == ["checkpoint-4", "checkpoint-5"]


def test_precomputed_embeddings_and_ema(tmp_path, tiny_dataset):
    output = train(
        _config(tmp_path, tiny_dataset, text_encoder="precomputed", use_ema=True, max_train_steps=2)
    )
    pipe = StackGANPipeline.from_pretrained(output)
    assert pipe.text_encoder is None and pipe.stage1_generator.config.text_embedding_dim == 8
    images = pipe(prompt_embeds=torch.randn(2, 8), output_type="np").images
    assert images.shape == (2, 64, 64, 3)


def test_batch_norm_statistics_are_re_estimated_for_the_weights_a_model_has_now():
    from stackgan_hf.utils.training_utils import recalibrate_batch_norm

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU())
    batches = [torch.randn(16, 3, 12, 12) * 3 + 1 for _ in range(2)]
    model.train()(batches[0])  # live running statistics for these weights
    with torch.no_grad():
        model[0].weight.mul_(2.0)  # other weights (an average, say): the live statistics no longer fit
    stale = model.eval()(batches[0])
    train_mode = model.train()(batches[0]).detach()
    assert not torch.allclose(stale, train_mode, atol=1e-2)
    recalibrate_batch_norm(model.eval(), [lambda: model(batches[0])])
    assert not model.training and model[1].momentum == 0.1
    torch.testing.assert_close(model(batches[0]), train_mode, atol=2e-3, rtol=0)
    recalibrate_batch_norm(model.train(), [lambda b=b: model(b) for b in batches])  # a plain average
    features = [model[0](b).detach() for b in batches]
    expected_mean = torch.stack([f.mean(dim=(0, 2, 3)) for f in features]).mean(dim=0)
    torch.testing.assert_close(model[1].running_mean, expected_mean, atol=1e-5, rtol=0)
    assert model.training and int(model[1].num_batches_tracked) == 2


def test_resume_after_a_kill_gives_the_same_losses_step_for_step(tmp_path, tiny_dataset, monkeypatch):
    # 8 images / batch 4 = 2 steps per epoch: 7 steps cross epochs, and the kill falls mid-epoch.
    kwargs = dict(max_train_steps=7, checkpointing_steps=3, use_ema=True)
    reference = train(_config(tmp_path / "a", tiny_dataset, **kwargs))
    expected = read_history(reference / "stage1_history.jsonl")

    real_save = train_module.save_checkpoint

    def save_then_die(accelerator, run_dir, step, limit):
        real_save(accelerator, run_dir, step, limit)
        if step == 3:
            raise KeyboardInterrupt("killed after checkpoint-3")

    monkeypatch.setattr(train_module, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(_config(tmp_path / "b", tiny_dataset, **kwargs))
    monkeypatch.setattr(train_module, "save_checkpoint", real_save)
    run = tmp_path / "b" / "run"
    assert not (run / "model_index.json").exists()
    resumed = train(_config(tmp_path / "b", tiny_dataset, resume_from_checkpoint="latest", **kwargs))
    actual = read_history(resumed / "stage1_history.jsonl")
    assert [r["step"] for r in actual] == list(range(1, 8))
    for want, got in zip(expected, actual):
        for key in ("d_loss", "g_loss", "kl", "d_acc_real", "lr"):
            assert got[key] == pytest.approx(want[key], rel=1e-5, abs=1e-6), (want["step"], key)
    ref_state = StackGANPipeline.from_pretrained(reference).stage1_generator.state_dict()
    for name, tensor in StackGANPipeline.from_pretrained(resumed).stage1_generator.state_dict().items():
        torch.testing.assert_close(tensor, ref_state[name], rtol=1e-5, atol=1e-6)


def test_gradient_accumulation_groups_batches_into_updates_and_resumes_step_for_step(
    tmp_path, tiny_dataset, monkeypatch
):
    # 8 images / batch 2 = 4 batches per epoch; 3 per update: updates of 3 and 1 batches, 2 per epoch.
    kwargs = dict(train_batch_size=2, gradient_accumulation_steps=3, max_train_steps=5, checkpointing_steps=3)
    sizes = []
    real_step = train_module.accumulated_stackgan_step

    def counting_step(*args, **step_kwargs):
        sizes.append([batch.real.shape[0] for batch in args[3]])  # (game, g_opt, d_opt, batches, ...)
        return real_step(*args, **step_kwargs)

    monkeypatch.setattr(train_module, "accumulated_stackgan_step", counting_step)
    reference = train(_config(tmp_path / "a", tiny_dataset, **kwargs))
    assert sizes == [[2, 2, 2], [2], [2, 2, 2], [2], [2, 2, 2]]
    expected = read_history(reference / "stage1_history.jsonl")
    assert [r["step"] for r in expected] == [1, 2, 3, 4, 5] and [r["epoch"] for r in expected] == [
        0,
        0,
        1,
        1,
        2,
    ]

    real_save = train_module.save_checkpoint

    def save_then_die(accelerator, run_dir, step, limit):
        real_save(accelerator, run_dir, step, limit)
        if step == 3:
            raise KeyboardInterrupt("killed after checkpoint-3")

    monkeypatch.setattr(train_module, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(_config(tmp_path / "b", tiny_dataset, **kwargs))
    monkeypatch.setattr(train_module, "save_checkpoint", real_save)
    del sizes[:]
    resumed = train(_config(tmp_path / "b", tiny_dataset, resume_from_checkpoint="latest", **kwargs))
    assert sizes == [[2], [2, 2, 2]]  # the rest of epoch 1 (its 4th batch), then epoch 2's first update
    actual = read_history(resumed / "stage1_history.jsonl")
    for want, got in zip(expected, actual, strict=True):
        for key in ("d_loss", "g_loss", "kl", "d_acc_real", "lr"):
            assert got[key] == pytest.approx(want[key], rel=1e-5, abs=1e-6), (want["step"], key)
    ref_state = StackGANPipeline.from_pretrained(reference).stage1_generator.state_dict()
    for name, tensor in StackGANPipeline.from_pretrained(resumed).stage1_generator.state_dict().items():
        torch.testing.assert_close(tensor, ref_state[name], rtol=1e-5, atol=1e-6)


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, tiny_dataset, monkeypatch):
    calls = {"n": 0}
    real_kl = step_module.kl_divergence

    def kl_that_explodes(mu, logvar):
        calls["n"] += 1
        value = real_kl(mu, logvar)
        return value * float("nan") if calls["n"] == 3 else value

    monkeypatch.setattr(step_module, "kl_divergence", kl_that_explodes)
    config = _config(tmp_path, tiny_dataset, max_train_steps=6, checkpointing_steps=2)
    with pytest.raises(
        TrainingDivergedError, match=r"diverged at step 3.*last good checkpoint is .*checkpoint-2"
    ):
        train(config)
    run = tmp_path / "run"
    assert [p.name for p in run.glob("checkpoint-*")] == ["checkpoint-2"]
    assert not (run / "model_index.json").exists()


def test_overwrite_output_dir_keeps_the_earlier_run_until_the_new_one_saves(
    tmp_path, tiny_dataset, monkeypatch
):
    train(_config(tmp_path, tiny_dataset, max_train_steps=3, checkpointing_steps=3, sample_steps=3))
    run = tmp_path / "run"
    # A new run that diverges at its first step: the earlier run's files wait in .previous-run-1.
    monkeypatch.setattr(step_module, "kl_divergence", lambda mu, logvar: mu.sum() * float("nan"))
    with pytest.raises(TrainingDivergedError, match="diverged at step 1"):
        train(_config(tmp_path, tiny_dataset, overwrite_output_dir=True, max_train_steps=2))
    aside = run / ".previous-run-1"
    for name in (
        "checkpoint-3",
        "stage1_history.jsonl",
        "stage1_summary.json",
        "samples/stage1_step000003.png",
    ):
        assert (aside / name).exists(), name
    assert (run / "model_index.json").is_file()  # the earlier pipeline stays until the new one replaces it
    monkeypatch.undo()
    # A new run that saves: every earlier file is gone, and what is left is the new run's.
    train(
        _config(tmp_path, tiny_dataset, overwrite_output_dir=True, max_train_steps=2, checkpointing_steps=2)
    )
    assert not list(run.glob(".previous-run-*"))
    assert [record["step"] for record in read_history(run / "stage1_history.jsonl")] == [1, 2]
    assert sorted(p.name for p in run.glob("checkpoint-*")) == ["checkpoint-2"]
    assert json.loads((run / "stage1_summary.json").read_text())["steps"] == 2
    assert not (run / "samples" / "stage1_step000003.png").exists()


def test_unknown_key_and_wrong_type_are_rejected_by_the_script(tmp_path):
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import train_stackgan
    finally:
        sys.path.pop(0)
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({"max_train_step": 3}))
    with pytest.raises(ConfigError, match="Unknown key.*max_train_step"):
        train_stackgan.main(["--config", str(config)])
    config.write_text(yaml.safe_dump({"train_batch_size": "lots"}))
    with pytest.raises(ConfigError, match="`train_batch_size` must be an integer, got 'lots'"):
        train_stackgan.main(["--config", str(config)])
    with pytest.raises(ConfigError, match="`stage` must be one of"):
        train_stackgan.main(["--stage", "3", "--output_dir", str(tmp_path / "x")])
    assert not (tmp_path / "x").exists()


def test_push_to_hub_without_a_token_fails_before_training(tmp_path, tiny_dataset, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "hf-home" / "stored_tokens"))
    from stackgan_hf.utils.hub import HubTokenError

    config = _config(tmp_path, tiny_dataset, push_to_hub=True, hub_model_id="me/stackgan")
    with pytest.raises(HubTokenError, match="needs a Hugging Face token"):
        train(config)
    assert not (tmp_path / "run").exists()


def test_two_process_cpu_ddp(tmp_path, tiny_dataset):
    config = dict(TINY, output_dir=str(tmp_path / "ddp"), dataset=tiny_dataset, stage="1", max_train_steps=3)
    config_file = tmp_path / "ddp.yaml"
    config_file.write_text(yaml.safe_dump(config))
    env = dict(os.environ, ACCELERATE_USE_CPU="1", OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2"]
    command += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    command += [str(REPO / "scripts" / "train_stackgan.py"), "--config", str(config_file)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "ddp" / "stage1_summary.json").read_text())
    assert summary["processes"] == 2 and summary["steps"] == 3
    assert "2 process(es)" in result.stdout + result.stderr
    assert StackGANPipeline.from_pretrained(tmp_path / "ddp").stage1_generator is not None
