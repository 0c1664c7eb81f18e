"""Config dataclasses: YAML + flags, casting, and clear errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from stackgan_hf.utils.config import ConfigError, config_to_dict, parse_config


@dataclass
class ExampleConfig:
    learning_rate: float = 2e-4
    max_train_steps: int = 10
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    adam_betas: tuple[float, float] = (0.5, 0.999)
    use_ema: bool = False
    push_to_hub: bool = False
    hub_model_id: str | None = None


def test_yaml_strings_are_cast_and_flags_win(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("learning_rate: 1e-4\nmax_train_steps: 100\nadam_betas: [0.0, 0.99]\nuse_ema: true\n")
    config = parse_config(
        ExampleConfig, ["--config", str(path), "--max_train_steps", "7", "--mixed_precision", "bf16"]
    )
    assert config.learning_rate == 1e-4 and isinstance(config.learning_rate, float)
    assert config.max_train_steps == 7 and config.mixed_precision == "bf16"
    assert config.adam_betas == (0.0, 0.99) and config.use_ema is True and config.hub_model_id is None
    assert config_to_dict(config)["adam_betas"] == [0.0, 0.99]
    assert parse_config(ExampleConfig, ["--adam_betas", "0.9,0.95", "--hub_model_id", "me/x"]).adam_betas == (
        0.9,
        0.95,
    )


def test_unknown_keys_and_bad_values_are_named(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("learning_rat: 1e-4\n")
    with pytest.raises(ConfigError, match=r"Unknown key\(s\) in config file .*config.yaml: learning_rat"):
        parse_config(ExampleConfig, ["--config", str(path)])
    path.write_text("max_train_steps: many\n")
    with pytest.raises(ConfigError, match="`max_train_steps` must be an integer, got 'many'"):
        parse_config(ExampleConfig, ["--config", str(path)])
    with pytest.raises(ConfigError, match=r"`mixed_precision` must be one of \['no', 'fp16', 'bf16'\]"):
        parse_config(ExampleConfig, ["--mixed_precision", "fp8"])
    with pytest.raises(ConfigError, match="`use_ema` must be a boolean"):
        parse_config(ExampleConfig, ["--use_ema", "maybe"])
    with pytest.raises(ConfigError, match="`adam_betas` must have 2 items"):
        parse_config(ExampleConfig, ["--adam_betas", "0.5"])
    with pytest.raises(ConfigError, match="does not exist"):
        parse_config(ExampleConfig, ["--config", str(tmp_path / "missing.yaml")])
    with pytest.raises(SystemExit):  # argparse rejects unknown flags
        parse_config(ExampleConfig, ["--learning_rat", "1"])


@pytest.mark.parametrize(
    "script, arguments, message",
    [
        ("train_stackgan.py", ["--train_batch_size", "0"], "`train_batch_size` must be at least 1, got 0."),
        ("train_ddpm_mnist.py", ["--max_train_steps", "0"], "`max_train_steps` must be at least 1, got 0."),
        ("train_ddpm_mnist.py", ["--block_out_channels", "0,4"], "`block_out_channels` must be at least 1"),
        ("evaluate.py", ["stackgan", "--model", "/no/such/dir"], "/no/such/dir: no such model folder"),
        (
            "generate.py",
            ["--model", "/no/such/dir", "--prompt", "a bird"],
            "/no/such/dir: no such model folder",
        ),
        ("ddpm_figures.py", ["--pipeline_dir", "/no/such/dir"], "/no/such/dir: no such model folder"),
        (
            "train_text_encoder.py",
            ["--train_batch_size", "1"],
            "`train_batch_size` must be at least 2, got 1.",
        ),
        ("train_text_encoder.py", ["--loss", "triplet"], "`loss` must be one of ['ds-sje', 'infonce']"),
        (
            "seed_grid.py",
            ["/no/such/dir", "out.png"],
            "/no/such/dir: no such model folder",
        ),
    ],
)
def test_scripts_report_bad_input_in_one_line_with_exit_code_2(tmp_path, script, arguments, message):
    """Validated before any data is read or anything is written; no traceback (real processes; the
    tests/test_bad_inputs_*.py tables run most cases in-process)."""
    import subprocess
    import sys
    from pathlib import Path

    scripts = Path(__file__).resolve().parents[1] / "scripts"
    result = subprocess.run(
        [
            sys.executable,
            str(scripts / script),
            *arguments,
            *(["--output_dir", str(tmp_path / "out")] if script.startswith("train") else []),
        ],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"},
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def _trainer_configs():
    from diffusion.train import DDPMTrainingConfig
    from stackgan_hf.training import StackGANTrainingConfig
    from stackgan_hf.training.text_encoder import TextEncoderTrainingConfig

    return [StackGANTrainingConfig, DDPMTrainingConfig, TextEncoderTrainingConfig]


@pytest.mark.parametrize("config_cls", _trainer_configs(), ids=lambda cls: cls.__name__)
def test_trainer_help_describes_every_flag_with_its_choices(config_cls):
    """--help of train_stackgan.py, train_ddpm_mnist.py and train_text_encoder.py: every flag has its
    field's one-line description and default, a Literal field its choices, a boolean [{true,false}]."""
    import dataclasses
    import typing

    from stackgan_hf.utils.config import config_parser

    help_text = " ".join(config_parser(config_cls, "DESCRIPTION").format_help().split())
    assert "DESCRIPTION" in help_text
    unwrapped = "".join(help_text.split())  # argparse also wraps lines at hyphens
    hints = typing.get_type_hints(config_cls)
    for field in dataclasses.fields(config_cls):
        description = " ".join(field.metadata.get("help", "").split())
        assert description, f"{config_cls.__name__}.{field.name} has no help"
        assert f"--{field.name} " in help_text
        assert "".join(f"{description} (default: ".split()) in unwrapped, field.name
        if typing.get_origin(hints[field.name]) is Literal:
            choices = ",".join(str(choice) for choice in typing.get_args(hints[field.name]))
            assert f"--{field.name} {{{choices}}}" in help_text, field.name
        if hints[field.name] is bool:
            assert f"--{field.name} [{{true,false}}]" in help_text, field.name


def test_a_boolean_flag_alone_means_true():
    from stackgan_hf.training import StackGANTrainingConfig
    from stackgan_hf.utils.config import parse_config

    assert parse_config(StackGANTrainingConfig, ["--overwrite_output_dir"]).overwrite_output_dir is True
    config = parse_config(
        StackGANTrainingConfig, ["--overwrite_output_dir", "false", "--use_ema", "--seed", "3"]
    )
    assert config.overwrite_output_dir is False and config.use_ema is True and config.seed == 3


def test_help_shows_choices_and_a_bad_choice_is_named_as_in_a_file():
    from stackgan_hf.training import StackGANTrainingConfig
    from stackgan_hf.utils.config import config_parser

    help_text = config_parser(StackGANTrainingConfig).format_help()
    assert "--discriminator_head {concat,projection,concat_projection}" in help_text
    assert "--adam_betas FLOAT,FLOAT" in help_text and "(default: 0.5,0.999)" in help_text
    with pytest.raises(ConfigError, match=r"`discriminator_head` must be one of \['concat', 'projection'"):
        parse_config(StackGANTrainingConfig, ["--discriminator_head", "attention"])


def test_report_to_takes_accelerates_trackers_and_names_a_missing_package(monkeypatch):
    import accelerate.tracking
    from accelerate.utils import LoggerType

    from stackgan_hf.training import StackGANTrainingConfig
    from stackgan_hf.utils.training_utils import report_to_trackers

    assert report_to_trackers("none") is None
    assert report_to_trackers("all") == ["all"]
    monkeypatch.setattr(
        accelerate.tracking, "get_available_trackers", lambda: [LoggerType.TENSORBOARD, LoggerType.WANDB]
    )
    assert report_to_trackers("tensorboard, wandb") == ["tensorboard", "wandb"]
    assert StackGANTrainingConfig(report_to="wandb").report_to == "wandb"
    monkeypatch.setattr(accelerate.tracking, "get_available_trackers", lambda: [LoggerType.TENSORBOARD])
    with pytest.raises(ConfigError, match=r"`report_to`: wandb is not installed \(pip install wandb\)"):
        StackGANTrainingConfig(report_to="wandb")
    with pytest.raises(ConfigError, match=r"`report_to`: comet_ml is not installed \(pip install comet-ml\)"):
        report_to_trackers("tensorboard,comet_ml")
    with pytest.raises(ConfigError, match="'tensorbord' is not a tracker of accelerate's; choose from all,"):
        report_to_trackers("tensorbord")


@pytest.mark.parametrize("script", ["train_stackgan.py", "train_ddpm_mnist.py"])
def test_a_tracker_that_is_not_installed_is_one_line_and_exit_code_2(tmp_path, script):
    import importlib.util
    import subprocess
    import sys
    from pathlib import Path

    if importlib.util.find_spec("mlflow") is not None:
        pytest.skip("mlflow is installed here")
    scripts = Path(__file__).resolve().parents[1] / "scripts"
    result = subprocess.run(
        [
            sys.executable,
            str(scripts / script),
            "--report_to",
            "mlflow",
            "--output_dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"},
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert (
        "mlflow is not installed (pip install mlflow)" in result.stderr and "Traceback" not in result.stderr
    )
    assert not (tmp_path / "out").exists()


def test_the_hub_token_message_names_flags_the_pushing_trainers_have(monkeypatch):
    """The message of a missing token names `hf auth login`, HF_TOKEN and --hub_token: every flag it names
    exists in both trainers that push to the Hub, and the token is never written out with the config."""
    import dataclasses
    import re

    import stackgan_hf.utils.hub
    from diffusion.train import DDPMTrainingConfig
    from stackgan_hf.training import StackGANTrainingConfig
    from stackgan_hf.utils.hub import HubTokenError, require_hub_token

    monkeypatch.setattr(stackgan_hf.utils.hub, "get_token", lambda: None)
    with pytest.raises(HubTokenError) as error:
        require_hub_token()
    flags = set(re.findall(r"--(\w+)", str(error.value)))
    assert "hub_token" in flags and "HF_TOKEN" in str(error.value)
    for config_cls in (StackGANTrainingConfig, DDPMTrainingConfig):
        assert flags <= {field.name for field in dataclasses.fields(config_cls)}, config_cls.__name__
        config = config_cls(hub_token="hf_secret")
        assert "hub_token" not in config_to_dict(config) and "hf_secret" not in str(config_to_dict(config))
