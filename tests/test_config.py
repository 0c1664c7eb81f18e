"""Config dataclasses: YAML + flags, casting, and clear errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from stackgan_hf.config import ConfigError, config_to_dict, parse_config


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
        ("train_stackgan.py", ["--generator_channels", "-8"], "`generator_channels` must be at least 1"),
        (
            "train_stackgan.py",
            ["--hard_mismatched_fraction", "1.5"],
            "hard_mismatched_fraction: expected a share in [0, 1], got 1.5.",
        ),
        (
            "train_stackgan.py",
            ["--contrastive_coefficient", "1", "--discriminator_head", "concat"],
            "contrastive_coefficient needs a projection head",
        ),
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
    """Validated before any data is read or anything is written; no traceback."""
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
