"""Bad inputs of the StackGAN trainer (``scripts/train_stackgan.py``): each gives one ``error:`` line and exit
code 2 before any training, and leaves an earlier run's files as they were.

Every case here is a row of docs/troubleshooting.md's section "StackGAN training", and every row there is a
case here.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from conftest import make_tiny_pipeline, run_script

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "train_stackgan.py"
DOCS = ROOT / "docs" / "troubleshooting.md"
SECTION = "## StackGAN training"
TINY = ["--synthetic_num_images", "16", "--max_train_steps", "1", "--report_to", "none"]

# (id, argv, expected substring of the one error line). "{x}" names a path of the `paths` fixture.
CASES = [
    ("ST01", ["--train_batch_size", "0"], "`train_batch_size` must be at least 1, got 0."),
    ("ST02", ["--generator_lr", "-1"], "`generator_lr` must be a positive learning rate, got -1.0."),
    ("ST03", ["--discriminator_lr", "0"], "`discriminator_lr` must be a positive learning rate, got 0.0."),
    ("ST04", ["--adam_betas", "0.5,1.5"], "`adam_betas` must both be in [0, 1), got (0.5, 1.5)."),
    ("ST05", ["--adam_betas", "0.5"], "`adam_betas` must have 2 items, got 1"),
    ("ST06", ["--stage", "3"], "`stage` must be one of ['1', '2', 'both'], got '3'."),
    ("ST07", ["--config", "{bad_yaml}"], "is not valid YAML (line 2, column 6)"),
    ("ST08", ["--config", "{unknown_key}"], "Unknown key(s) in"),
    ("ST09", ["--config", "{list_yaml}"], "must hold a mapping of keys to values, got list."),
    ("ST10", ["--config", "{missing}"], "does not exist."),
    ("ST11", ["--config", "{negative_lr}"], "`generator_lr` must be a positive learning rate, got -0.001."),
    ("ST12", ["--stage", "2"], "--stage 2 needs --stage1_model"),
    (
        "ST13",
        ["--stage", "2", "--stage1_model", "{run}", "--stage2_max_train_steps", "2"],
        "--stage2_max_train_steps applies to --stage both only; with --stage 2 set --max_train_steps",
    ),
    (
        "ST14",
        ["--stage", "1", "--stage2_train_batch_size", "4"],
        "--stage2_train_batch_size applies to --stage both only",
    ),
    (
        "ST15",
        ["--contrastive_coefficient", "1", "--discriminator_head", "concat", "--color_negatives", ""],
        "`contrastive_coefficient` needs a projection head",
    ),
    ("ST16", ["--color_negatives", "swop"], "expected a comma-separated subset"),
    (
        "ST17",
        ["--contrastive_coefficient", "0", "--color_negatives", "swap"],
        "`color_negatives` needs the contrastive loss",
    ),
    ("ST18", ["--kl_coefficient", "-1"], "`kl_coefficient` must be at least 0, got -1.0."),
    ("ST19", ["--output_dir", "{run}"], "holds another run (model_index.json"),
    (
        "ST20",
        ["--output_dir", "{broken_run}", "--resume_from_checkpoint", "latest"],
        "no usable checkpoint in",
    ),
    ("ST21", ["--resume_from_checkpoint", "{missing}"], "no such checkpoint folder"),
    ("ST22", ["--mixed_precision", "fp8"], "`mixed_precision` must be one of"),
    ("ST23", ["--diffaugment", "rotation"], "`diffaugment`: Unknown DiffAugment policy ['rotation']"),
    ("ST24", ["--upsample_mode", "cubic"], "`upsample_mode` must be one of"),
    ("ST25", ["--checkpoints_total_limit", "0"], "`checkpoints_total_limit` must be at least 1, got 0."),
    ("ST26", ["--max_train_steps", "0"], "`max_train_steps` must be at least 1, got 0."),
    ("ST27", ["--seed", "-1"], "`seed` must be at least 0, got -1."),
    ("ST28", ["--stage", "2", "--stage1_model", "{missing}"], "no such model folder"),
    ("ST29", ["--learning_rate", "1e-4"], "unrecognized arguments: --learning_rate 1e-4"),
    ("ST30", ["--push_to_hub", "true"], "--push_to_hub needs --hub_model_id"),
    ("ST31", ["--report_to", "nosuchtracker"], "nosuchtracker"),
    ("ST32", ["--text_encoder", "{missing}"], "no such folder (nor a Hub id such as user/name)"),
    ("ST33", ["--text_encoder", "precomputed"], "--text_encoder precomputed needs an `embeddings` column"),
    (
        "ST34",
        ["--stage", "2", "--stage1_model", "{run}", "--dataset", "{missing}"],
        "was trained on synthetic-birds, but --dataset is",
    ),
    ("ST35", ["--generator_channels", "1"], "`generator_channels` must be at least 2, got 1."),
    ("ST36", ["--synthetic_num_images", "0"], "`synthetic_num_images` must be at least 1, got 0."),
    (
        "ST37",
        ["--stage", "2", "--stage1_model", "{edited_config}"],
        "weights that do not fit their config.json (project.0.weight expected shape",
    ),
    (
        "ST38",
        ["--output_dir", "{run}", "--resume_from_checkpoint", "latest", "--overwrite_output_dir"],
        "--overwrite_output_dir starts a new run and --resume_from_checkpoint continues one",
    ),
]
SUBPROCESS_CASES = {"ST19"}  # end to end: exit code 2, one line, no traceback
SEEN: dict[str, str] = {}


@pytest.fixture(scope="module")
def paths(tmp_path_factory, bag_of_words) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("bad-training")
    edited = tmp / "edited_config"  # a saved pipeline whose Stage-I config.json lost a key
    make_tiny_pipeline(bag_of_words).save_pretrained(edited)
    config_path = edited / "stage1_generator" / "config.json"
    config = json.loads(config_path.read_text())
    del config["base_channels"]
    config_path.write_text(json.dumps(config))
    run = tmp / "run"  # an earlier run: a saved pipeline and its Stage-I summary
    run.mkdir()
    (run / "model_index.json").write_text("{}")
    (run / "stage1_summary.json").write_text(json.dumps({"config": {"dataset": "synthetic-birds"}}))
    broken = tmp / "broken_run" / "checkpoint-3"  # a checkpoint whose save never finished
    broken.mkdir(parents=True)
    (broken / "optimizer.bin").write_bytes(b"")
    files = {
        "bad_yaml": "seed: [0\nstage: 1\n",
        "unknown_key": "learning_rat: 1.0e-4\n",
        "list_yaml": "- stage\n- 1\n",
        "negative_lr": "stage: 1\ngenerator_lr: -1.0e-3\n",
    }
    for name, text in files.items():
        (tmp / f"{name}.yaml").write_text(text)
    paths = {name: str(tmp / f"{name}.yaml") for name in files}
    return {
        **paths,
        "tmp": str(tmp),
        "run": str(run),
        "broken_run": str(tmp / "broken_run"),
        "edited_config": str(edited),
        "missing": str(tmp / "no-such-thing"),
    }


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_trainer_case(case, paths, capsys, monkeypatch):
    case_id, argv, expected = case
    monkeypatch.chdir(paths["tmp"])
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    argv = [arg.format(**paths) for arg in argv]
    if "--output_dir" not in argv:
        argv += ["--output_dir", str(Path(paths["tmp"]) / f"out-{case_id}")]
    before = sorted(p.name for p in Path(paths["run"]).iterdir())
    in_process = case_id not in SUBPROCESS_CASES
    code, stderr, stdout = run_script(SCRIPT.name, [*TINY, *argv], capsys, in_process)  # the case's flags win
    output = stderr + stdout
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if "error:" in line]
    assert len(lines) == 1, output
    SEEN[case_id] = re.sub(r"\S*bad-training\d*/", "…/", lines[0].strip())
    assert expected in lines[0], output
    assert code == 2, output
    assert sorted(p.name for p in Path(paths["run"]).iterdir()) == before  # the earlier run is kept
    assert not (Path(paths["tmp"]) / f"out-{case_id}" / "checkpoint-1").exists()  # nothing trained


def test_every_case_is_documented_and_every_documented_case_is_tested():
    text = DOCS.read_text()
    assert SECTION in text, f"{DOCS} has no section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| (ST\d\d) \|.*$", section, re.MULTILINE)}
    assert sorted(rows) == sorted(case[0] for case in CASES)
    for case_id, _, expected in CASES:
        assert expected.replace("`", "") in rows[case_id].replace("\\|", "|").replace("`", ""), case_id


def test_write_table_when_asked():
    """``BAD_INPUTS_TABLE=FILE``: the messages seen by this run's cases, one line per case."""
    target = os.environ.get("BAD_INPUTS_TABLE")
    if not target:
        pytest.skip("set BAD_INPUTS_TABLE=FILE to write the messages seen")
    Path(target).write_text("".join(f"{key}\t{SEEN[key]}\n" for key in sorted(SEEN)))
