"""Bad input to the DDPM and text-encoder scripts and the DDPM pipelines: one case a row of the table in
docs/troubleshooting.md ("DDPM and text-encoder training"), each run here.

A script case runs the script in this process (``runpy``, ``sys.argv`` patched) or, for a few, as a real
process, and checks the exit code 2, a single ``error: ...`` line holding the expected message, no traceback,
and what is left on disk. An API case calls a pipeline and checks the exception's type and message. Set
``BAD_INPUTS_DDPM_TABLE=FILE`` to append each case's table row (with the full message seen) to FILE.
"""

from __future__ import annotations

import json
import os
import re
import runpy
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from conftest import run_script
from mnist_fixture import synthetic_digits

from diffusion.data import write_mnist_parquet
from stackgan_hf.utils.training_utils import write_checkpoint_marker

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "troubleshooting.md"
SECTION = "## DDPM and text-encoder training"
# Every DDPM training case shares these flags: a tiny UNet on the MNIST fixture, nothing downloaded.
TINY = [
    *("--dataset_dir", "$MNIST", "--cache_dir", "$TMP/cache", "--output_dir", "$RUN"),
    *("--block_out_channels", "8,16", "--layers_per_block", "1", "--attention_head_dim", "4"),
    *("--train_batch_size", "8", "--num_validation_images", "0", "--report_to", "none"),
    *("--mixed_precision", "no", "--cpu_threads", "1"),
]


@dataclass
class Case:
    """One bad input: ``args`` (``TINY`` expanded, ``$MNIST``/``$TMP``/``$RUN`` replaced by paths) for
    ``script``; the ``message`` its error line holds; ``setup`` prepares ``$TMP``; ``kept`` names the check of
    what is on disk afterwards (``nothing``: no ``$RUN``; ``unchanged``: ``$RUN`` as it was; else a function
    of this file)."""

    id: str
    script: str
    args: list[str]
    message: str
    kept: str = "nothing"
    setup: str | None = None
    process: bool = False  # a real subprocess


def case(id, script, args, message, kept="nothing", setup=None, process=False) -> Case:
    args = args.split() if isinstance(args, str) else args
    if script == "train_ddpm_mnist.py":
        args = TINY + args
    return Case(id, script, args, message, kept, setup, process)


D, F, E = "train_ddpm_mnist.py", "ddpm_figures.py", "train_text_encoder.py"
SCRIPT_CASES = [
    case("D01", D, "--learning_rate -1", "`learning_rate` must be a number >= 0, got -1.0."),
    case("D02", D, "--learning_rate nan", "`learning_rate` must be a number >= 0, got nan."),
    case(
        "D03",
        D,
        "--beta_start 0.5 --beta_end 0.01",
        "`beta_start` 0.5 must be below `beta_end` 0.01",
        process=True,
    ),  # fmt: skip
    case("D04", D, "--beta_end 1.5", "`beta_end` must be in (0, 1) (a variance per step), got 1.5."),
    case("D05", D, "--adam_beta2 1", "`adam_beta2` must be in [0, 1), got 1.0."),
    case(
        "D06", D, "--norm_num_groups 3", "`norm_num_groups` 3 must divide every width of `block_out_channels`"
    ),
    case("D07", D, "--resolution 28 --block_out_channels 8,8,8,8", "`resolution` 28 must be divisible by 8"),
    case("D08", D, "--resolution 30", "`resolution` must be one of [28, 32], got '30'."),
    case("D09", D, "--down_block_types DownBlock2D", "`down_block_types` must name one block per level"),
    case("D10", D, "--down_block_types DownBlock2D,FooBlock2D", "FooBlock2D does not exist."),
    case("D11", D, "--attention_head_dim 32", "`attention_head_dim` 32 must be at most 16"),
    case("D12", D, "--lr_scheduler piecewise_constant", "`lr_scheduler` must be one of ['linear', 'cosine'"),
    case("D13", D, "--checkpoints_total_limit 0", "`checkpoints_total_limit` must be at least 1, got 0."),
    case("D14", D, "--guidance_scale 3", "`guidance_scale` does not apply: class_conditional is false."),
    case(
        "D15",
        D,
        "--class_conditional true --class_dropout_prob 0",
        "`guidance_scale` 2.0 needs the unconditional model",
    ),  # fmt: skip
    case("D16", D, "--class_dropout_prob 1", "`class_dropout_prob` must be in [0, 1), got 1.0."),
    case("D17", D, "--use_ema false --ema_power 0.5", "`ema_power` does not apply: use_ema is false."),
    case(
        "D18", D, "--sample_steps 10", "`sample_steps` does not apply: report_to 'none' has no tensorboard."
    ),
    case(
        "D19",
        D,
        "--validation_inference_steps 2000",
        "`validation_inference_steps` 2000 must be at most `num_train_timesteps` 1000.",
    ),  # fmt: skip
    case("D20", D, "--seed -1", "`seed` must be in [0, 2**32), got -1."),
    case("D21", D, "--hub_private true", "`hub_private` does not apply: push_to_hub is false."),
    case("D22", D, "--push_to_hub true", "--push_to_hub needs --hub_model_id"),
    case("D23", D, "--train_batch_size 0", "`train_batch_size` must be at least 1, got 0."),
    case("D24", D, "--max_train_steps 2.5", "`max_train_steps` must be an integer, got '2.5'."),
    case("D25", D, "--dataset_dir $TMP/no-such-mnist", "MNIST directory $TMP/no-such-mnist does not exist"),
    case(
        "D26",
        D,
        "--dataset_dir $TMP/empty",
        "$TMP/empty/train-00000-of-00001.parquet: not a readable parquet file (Parquet file size is 0 bytes)",
        setup="empty_parquet",
    ),  # fmt: skip
    case(
        "D27",
        D,
        "--dataset_dir $TMP/junk",
        "$TMP/junk/train-00000-of-00001.parquet: not a readable parquet file",
        setup="junk_parquet",
    ),  # fmt: skip
    case("D28", D, "--dataset_split validation", "No parquet file for split 'validation' in MNIST directory"),
    case("D29", D, "--max_train_samples 4", "`train_batch_size` 8 is larger than the 4 images of $MNIST"),
    case("D30", D, ["--dataset_dir", "none"], "`dataset` 'ylecun/mnist', split 'train': could not be loaded"),
    case(
        "D31",
        D,
        "--pretrained_model_name_or_path $TMP/not-a-pipeline",
        "$TMP/not-a-pipeline has no model_index.json: not a saved pipeline",
        setup="empty_folder",
    ),  # fmt: skip
    case(
        "D32",
        D,
        "--resume_from_checkpoint $TMP/no-such-checkpoint",
        "--resume_from_checkpoint $TMP/no-such-checkpoint: no such checkpoint folder",
    ),  # fmt: skip
    case(
        "D33",
        D,
        "",
        "`output_dir` $RUN already holds another run (a saved model (model_index.json); 1 "
        "checkpoint(s): checkpoint-2)",
        kept="unchanged",
        setup="saved_run",
        process=True,
    ),  # fmt: skip
    case(
        "D34",
        D,
        "--resume_from_checkpoint latest",
        "--resume_from_checkpoint latest: no checkpoint in $RUN "
        "can be loaded ($RUN/checkpoint-4/model.safetensors is truncated (10 bytes, 64 written); "
        "$RUN/checkpoint-2: no checkpoint_complete.json",
        kept="unchanged",
        setup="corrupt_checkpoints",
        process=True,
    ),  # fmt: skip
    case(
        "D35",
        D,
        "--resume_from_checkpoint latest",
        "--resume_from_checkpoint latest: $RUN holds a saved model but no checkpoint to resume from",
        kept="unchanged",
        setup="saved_model_only",
    ),  # fmt: skip
    case(
        "D36",
        D,
        "--resume_from_checkpoint latest --overwrite_output_dir true",
        "`overwrite_output_dir` starts a new run and `resume_from_checkpoint` continues one",
        kept="unchanged",
        setup="saved_run",
    ),  # fmt: skip
    case("D37", D, "", "`output_dir` $RUN is a file", kept="unchanged", setup="file_output"),
    case("D38", D, "--config $TMP/bad.yaml", "not valid YAML", setup="bad_yaml"),
    case(
        "D39",
        D,
        "--learning_rate 1e30 --lr_scheduler constant --lr_warmup_steps 0 --max_train_steps 6",
        "The DDPM diverged at step 2: a NaN or infinite loss",
        kept="empty_run",
    ),  # fmt: skip
    case(
        "D40",
        D,
        "--overwrite_output_dir true --learning_rate 1e30 --lr_scheduler constant "
        "--lr_warmup_steps 0 --max_train_steps 6",
        "The DDPM diverged at step 2",
        kept="earlier_run_set_aside",
        setup="saved_run",
    ),  # fmt: skip
    case(
        "F01",
        F,
        "--pipeline_dir $TMP/not-a-pipeline --dataset_dir $MNIST",
        "$TMP/not-a-pipeline has no model_index.json: not a saved pipeline",
        setup="empty_folder",
    ),  # fmt: skip
    case(
        "F02",
        F,
        "--pipeline_dir $TMP/pipe --dataset_dir $MNIST",
        "$TMP/pipe: It looks like the config file",
        setup="bad_index",
    ),  # fmt: skip
    case(
        "F03",
        F,
        "--pipeline_dir $TMP/pipe --dataset_dir $MNIST",
        "$TMP/pipe holds a StackGANPipeline; expected "
        "one of DDPMPipeline, ClassConditionalDDPMPipeline, AutoGuidedDDPMPipeline.",
        setup="stackgan_index",
    ),  # fmt: skip
    case("F04", F, "--num_samples 0", "`num_samples` must be at least 1, got 0."),
    case("F05", F, "--eta -1", "`eta` must be a number >= 0, got -1.0."),
    case(
        "F06",
        F,
        "--guidance_interval 580,80",
        "`guidance_interval`: guidance_interval must be (low, high) with low < high; got (580.0, 80.0).",
    ),  # fmt: skip
    case(
        "F07",
        F,
        "--pipeline_dir $TMP/pipe --dataset_dir $MNIST --guidance_scale 3",
        "`guidance_scale` does not apply: $TMP/pipe holds a DDPMPipeline, which has no guidance.",
        setup="plain_pipeline",
    ),  # fmt: skip
    case(
        "F08",
        F,
        "--pipeline_dir $TMP/pipe --dataset_dir $MNIST --test_index 99",
        "`test_index` 99 is past the end of $MNIST's 'test' split (4 images).",
        setup="plain_pipeline",
    ),  # fmt: skip
    case(
        "F09",
        F,
        "--pipeline_dir $TMP/pipe --dataset_dir $MNIST --num_inference_steps 5000",
        "`num_inference_steps` 5000 must be at most the model's 1000 training timesteps.",
        setup="plain_pipeline",
    ),  # fmt: skip
    case(
        "F10",
        F,
        "--pipeline_dir $TMP/pipe --dataset_dir $MNIST --sampler ddpm --eta 0.5",
        "`eta` does not apply: it is DDIM's; the sampler is ddpm.",
        setup="plain_pipeline",
    ),  # fmt: skip
    case(
        "F11",
        F,
        "--pipeline_dir $TMP/pipe --dataset_dir $MNIST --training_dir $TMP/no-such-run",
        "`training_dir` $TMP/no-such-run: no such folder",
        setup="plain_pipeline",
    ),  # fmt: skip
    case(
        "F12",
        F,
        "--pipeline_dir $TMP/pipe --dataset_dir $TMP/no-such-mnist",
        "MNIST directory $TMP/no-such-mnist does not exist",
        setup="plain_pipeline",
    ),  # fmt: skip
    case("T01", E, "--output_dir $RUN --learning_rate 0", "`learning_rate` must be a number > 0, got 0.0."),
    case(
        "T02", E, "--output_dir $RUN --weight_decay -0.1", "`weight_decay` must be a number >= 0, got -0.1."
    ),
    case("T03", E, "--output_dir $RUN --conv_channels 8,0,8", "`conv_channels` must be at least 1 each"),
    case(
        "T04",
        E,
        "--output_dir $RUN --train_image_model true",
        "`train_image_model` does not apply: no image_model is set.",
    ),  # fmt: skip
    case(
        "T05",
        E,
        "--output_dir $RUN --dataset some/captions --synthetic_num_images 64",
        "`synthetic_num_images` does not apply: dataset is some/captions.",
    ),  # fmt: skip
    case(
        "T06",
        E,
        "--output_dir $RUN --eval_split none --num_eval_candidates 10",
        "`num_eval_candidates` does not apply: eval_split is none.",
    ),  # fmt: skip
    case(
        "T07",
        E,
        "--output_dir $RUN --eval_split validation",
        "`eval_split` 'validation': synthetic-birds has no such split (splits: ['train', 'test']).",
    ),  # fmt: skip
    case(
        "T08",
        E,
        "--output_dir $RUN",
        "`output_dir` $RUN already holds another run (a saved model (config.json); "
        "1 checkpoint(s): checkpoint-2)",
        kept="unchanged",
        setup="saved_encoder",
        process=True,
    ),  # fmt: skip
    case(
        "T09",
        E,
        "--output_dir $RUN --resume_from_checkpoint latest",
        "--resume_from_checkpoint latest: no checkpoint in $RUN can be loaded",
        kept="unchanged",
        setup="corrupt_checkpoints",
    ),  # fmt: skip
    case(
        "T10",
        E,
        "--output_dir $RUN --config $TMP/bad.yaml",
        "not valid YAML",
        setup="bad_yaml",
    ),  # fmt: skip
]

# Pipeline calls: `cc` is a tiny ClassConditionalDDPMPipeline, `ag` a tiny AutoGuidedDDPMPipeline.
API_CASES = [
    ("A01", "cc(class_labels=[2.5])", TypeError, "`class_labels` must be ints (digits 0-9), got 2.5."),
    (
        "A02",
        "cc(class_labels=torch.tensor([1.0]))",
        TypeError,
        "`class_labels` must hold integers, got a tensor of torch.float32.",
    ),  # fmt: skip
    ("A03", "cc(class_labels=[])", ValueError, "class_labels must be digits 0-9; got []."),
    ("A04", "cc(class_labels=[3, 10])", ValueError, "class_labels must be digits 0-9; got [3, 10]."),
    (
        "A05",
        "cc(class_labels='3')",
        TypeError,
        "`class_labels` must be an int, a list of ints or an integer tensor, got str.",
    ),  # fmt: skip
    (
        "A06",
        "cc(class_labels=[1], guidance_scale='2')",
        TypeError,
        "`guidance_scale` must be a float, got str '2'.",
    ),
    (
        "A07",
        "cc(class_labels=[1], guidance_scale=-1.0)",
        ValueError,
        "`guidance_scale` must be a number >= 0, got -1.0.",
    ),
    (
        "A08",
        "cc(class_labels=[1], num_inference_steps=2.5)",
        TypeError,
        "`num_inference_steps` must be an int, got float 2.5.",
    ),  # fmt: skip
    (
        "A09",
        "cc(class_labels=[1], num_inference_steps=5000)",
        ValueError,
        "`num_inference_steps` must be in [1, 1000], got 5000.",
    ),  # fmt: skip
    (
        "A10",
        "cc(class_labels=[1], output_type='latent')",
        ValueError,
        "`output_type` must be one of ['pil', 'np', 'pt'], got 'latent'.",
    ),  # fmt: skip
    (
        "A11",
        "cc(class_labels=[1], generator=0)",
        TypeError,
        "`generator` must be a torch.Generator, a list of them or None, got int.",
    ),  # fmt: skip
    (
        "A12",
        "cc(class_labels=[1, 2], generator=[torch.Generator()])",
        ValueError,
        "`generator` is a list of 1 generators; expected one per image (2).",
    ),  # fmt: skip
    ("A13", "cc(class_labels=[1], eta=-0.5)", ValueError, "`eta` must be a number >= 0, got -0.5."),
    ("A14", "ag(batch_size=0)", ValueError, "`batch_size` must be at least 1, got 0."),
    ("A15", "ag(batch_size=2.0)", TypeError, "`batch_size` must be an int, got float 2.0."),
    (
        "A16",
        "ag(guidance_interval=(580, 80))",
        ValueError,
        "guidance_interval must be (low, high) with low < high; got (580, 80).",
    ),  # fmt: skip
    (
        "A17",
        "ag(guidance_interval=500)",
        TypeError,
        "guidance_interval must be a tuple (low, high) of two numbers; got 500.",
    ),  # fmt: skip
    (
        "A18",
        "AutoGuidedDDPMPipeline.from_pipelines(cc.unet, cc)",
        TypeError,
        "`main` must be a DDPMPipeline (with a UNet2DModel `unet` and a `scheduler`), got UNet2DModel.",
    ),  # fmt: skip
]


# -- setups ----------------------------------------------------------------------------------------------


def _checkpoint(run: Path, step: int, marker: bool = True) -> Path:
    folder = run / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(bytes(64))
    if marker:
        write_checkpoint_marker(folder, step)
    return folder


def _tiny_unet(**kwargs):
    from diffusers import UNet2DModel

    return UNet2DModel(
        sample_size=32, in_channels=1, out_channels=1, block_out_channels=(8, 16), layers_per_block=1,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        norm_num_groups=8, attention_head_dim=4, **kwargs,
    )  # fmt: skip


def setup(name: str | None, tmp: Path) -> None:
    run = tmp / "run"
    if name in ("saved_run", "saved_model_only", "saved_encoder"):
        run.mkdir()
        index = "config.json" if name == "saved_encoder" else "model_index.json"
        (run / index).write_text('{"_class_name": "DDPMPipeline"}\n')
        (run / "logs").mkdir()
        if name != "saved_model_only":
            _checkpoint(run, 2)
    elif name == "corrupt_checkpoints":
        run.mkdir()
        (run / "model_index.json").write_text("{}\n")
        _checkpoint(run, 2, marker=False)
        truncated = _checkpoint(run, 4) / "model.safetensors"
        truncated.write_bytes(bytes(10))
    elif name in ("empty_parquet", "junk_parquet"):
        folder = tmp / name.split("_")[0]
        folder.mkdir()
        (folder / "train-00000-of-00001.parquet").write_bytes(
            b"" if name == "empty_parquet" else b"junk" * 64
        )
    elif name == "file_output":
        run.write_text("not a folder\n")
    elif name == "bad_yaml":
        (tmp / "bad.yaml").write_text("learning_rate: 1e-3\n  max_train_steps: [5\n")
    elif name == "empty_folder":
        (tmp / "not-a-pipeline").mkdir()
    elif name in ("bad_index", "stackgan_index"):
        (tmp / "pipe").mkdir()
        text = "{not json" if name == "bad_index" else '{"_class_name": "StackGANPipeline"}'
        (tmp / "pipe" / "model_index.json").write_text(text)
    elif name == "plain_pipeline":
        from diffusers import DDPMPipeline, DDPMScheduler

        DDPMPipeline(unet=_tiny_unet(), scheduler=DDPMScheduler()).save_pretrained(tmp / "pipe")


def snapshot(path: Path) -> dict[str, int] | None:
    if not path.exists():
        return None
    if path.is_file():
        return {".": path.stat().st_size}
    return {str(p.relative_to(path)): p.stat().st_size for p in sorted(path.rglob("*")) if p.is_file()}


def check_kept(kept: str, run: Path, before) -> str:
    """Asserts what ``kept`` says is on disk; returns it in words for the table."""
    if kept == "nothing":
        assert not run.exists(), snapshot(run)
        return "Nothing is created."
    if kept == "unchanged":
        assert snapshot(run) == before
        return "`$RUN` as it was (files and sizes)."
    if kept == "empty_run":
        assert snapshot(run) == {}, snapshot(run)
        return "`$RUN` is empty: no checkpoint, no pipeline."
    if kept == "earlier_run_set_aside":
        assert (run / "model_index.json").read_text() == '{"_class_name": "DDPMPipeline"}\n'
        assert (run / ".previous-run-1" / "checkpoint-2" / "model.safetensors").is_file()
        assert (run / ".previous-run-1" / "logs").is_dir() and not (run / "checkpoint-2").exists()
        return (
            "The earlier run's `model_index.json`, and its checkpoint-2 and logs in `$RUN/.previous-run-1`."
        )
    raise AssertionError(kept)


# -- running ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("mnist")
    images, labels = synthetic_digits(40)
    write_mnist_parquet(directory, images, labels, split="train")
    write_mnist_parquet(directory, images[:4], labels[:4], split="test")
    return directory


def expand(text: str, mnist: Path, tmp: Path) -> str:
    return text.replace("$MNIST", str(mnist)).replace("$TMP", str(tmp)).replace("$RUN", str(tmp / "run"))


def shorten(text: str, mnist: Path, tmp: Path) -> str:
    return text.replace(str(tmp / "run"), "$RUN").replace(str(tmp), "$TMP").replace(str(mnist), "$MNIST")


def record(row: list[str]) -> None:
    table = os.environ.get("BAD_INPUTS_DDPM_TABLE")
    if table:
        with open(table, "a") as handle:
            handle.write(json.dumps(row) + "\n")


@pytest.mark.parametrize("item", SCRIPT_CASES, ids=lambda item: item.id)
def test_script_refuses_bad_input_with_one_line(item, mnist_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    setup(item.setup, tmp_path)
    run = tmp_path / "run"
    before = snapshot(run)
    args = [expand(arg, mnist_dir, tmp_path) for arg in item.args]
    code, stderr, _ = run_script(item.script, args, capsys, in_process=not item.process)
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in stderr, stderr
    assert expand(item.message, mnist_dir, tmp_path) in errors[0], errors[0]
    kept = check_kept(item.kept, run, before)
    shown = ["TINY", *item.args[len(TINY) :]] if item.script == D else item.args
    command = " ".join([item.script, *shown])
    record([item.id, command, shorten(errors[0], mnist_dir, tmp_path), kept])


@pytest.fixture(scope="module")
def pipelines():
    from diffusers import DDPMScheduler

    from diffusion.pipeline import AutoGuidedDDPMPipeline, ClassConditionalDDPMPipeline

    scheduler = DDPMScheduler()
    cc = ClassConditionalDDPMPipeline(unet=_tiny_unet(num_class_embeds=11), scheduler=scheduler)
    ag = AutoGuidedDDPMPipeline(unet=_tiny_unet(), guide_unet=_tiny_unet(), scheduler=scheduler)
    for pipeline in (cc, ag):
        pipeline.set_progress_bar_config(disable=True)
    return {"cc": cc, "ag": ag, "torch": torch, "AutoGuidedDDPMPipeline": AutoGuidedDDPMPipeline}


@pytest.mark.parametrize("id, call, error, message", API_CASES, ids=[row[0] for row in API_CASES])
def test_pipeline_call_names_the_bad_argument(id, call, error, message, pipelines):
    with pytest.raises(error) as raised:
        eval(call, dict(pipelines))  # the call as the table shows it
    assert str(raised.value) == message
    record([id, f"`{call}`", f"{error.__name__}: {raised.value}", "Nothing is computed."])


def test_overwrite_output_dir_replaces_the_earlier_run_only_once_saved(mnist_dir, tmp_path, monkeypatch):
    """The earlier run's checkpoints wait in .previous-run-1 while the new run trains; after its save they
    are gone and its pipeline replaced the earlier one."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    setup("saved_run", tmp_path)
    run = tmp_path / "run"
    spec = runpy.run_path(str(REPO / "scripts" / D))
    args = [expand(arg, mnist_dir, tmp_path) for arg in TINY]
    spec["main"](
        [*args, "--overwrite_output_dir", "true", "--max_train_steps", "2", "--checkpointing_steps", "1"]
    )
    assert json.loads((run / "model_index.json").read_text())["_class_name"] == "DDPMPipeline"
    assert (run / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    assert sorted(p.name for p in run.glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2"]
    assert not list(run.glob(".previous-run-*"))


def test_ignored_options_are_warned_about():
    from diffusion.train import DDPMTrainingConfig, ignored_options

    config = DDPMTrainingConfig(
        pretrained_model_name_or_path="x", block_out_channels=(8, 16), report_to="none"
    )
    assert ignored_options(config) == [
        "block_out_channels ignored: the UNet of pretrained_model_name_or_path x keeps its own architecture."
    ]
    config = DDPMTrainingConfig(lr_scheduler="constant", report_to="none")
    assert ignored_options(config) == [
        "lr_warmup_steps 200 ignored: lr_scheduler constant has no warmup (use constant_with_warmup)."
    ]


def _docs_rows() -> dict[str, str]:
    text = DOCS.read_text()
    section = text[text.index(SECTION) :]
    following = section.find("\n## ", len(SECTION))
    section = section if following < 0 else section[:following]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"\|\s*([A-Z]\d\d)\s*\|", line)
        if match:
            rows[match.group(1)] = line
    return rows


def test_docs_table_lists_every_case_with_its_message():
    rows = _docs_rows()
    ids = [item.id for item in SCRIPT_CASES] + [row[0] for row in API_CASES]
    assert sorted(rows) == sorted(ids)
    messages = {item.id: item.message for item in SCRIPT_CASES} | {row[0]: row[3] for row in API_CASES}
    for id, message in messages.items():
        assert message in rows[id], f"{id}: the docs row does not hold {message!r}"
