"""Bad inputs of generation, data preparation, evaluation, the other figure scripts, the pipeline API and
the demo: each gives one clear line (exit code 2, no traceback) or a clear exception, before any compute.

Every case here is a row of docs/troubleshooting.md's section "Generation, data preparation, evaluation,
pipeline API and demo", and every row there is a case here. ``BAD_INPUTS_TABLE=FILE pytest ...`` writes the
rows with the messages seen.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import numpy as np  # noqa: F401 (used by the API cases' calls)
import pytest
import torch  # noqa: F401 (used by the API cases' calls)
from conftest import make_tiny_pipeline, run_script
from cub_fixture import make_cub_tree, write_pickle

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "troubleshooting.md"
SECTION = "## Generation, data preparation, evaluation, pipeline API and demo"
SEEN: dict[str, str] = {}

# (id, script, argv, expected substring of the one error line). "{x}" names a path of the `paths` fixture.
SCRIPT_CASES = [
    ("G01", "generate", ["--model", "{model}"], "Give either --prompt (one or more) or --prompts_file"),
    ("G02", "generate", ["--model", "{model}", "--prompt", "a", "--prompts_file", "{prompts}"], "not both"),
    ("G03", "generate", ["--model", "{model}", "--prompts_file", "{missing}"], "no such file"),
    (
        "G04",
        "generate",
        ["--model", "{model}", "--prompts_file", "{tmp}"],
        "is a folder; expected a text file",
    ),
    ("G05", "generate", ["--model", "{model}", "--prompts_file", "{empty}"], "has no prompts"),
    ("G06", "generate", ["--model", "{model}", "--prompts_file", "{binary}"], "is not UTF-8 text"),
    (
        "G07",
        "generate",
        ["--prompt", "a", "--num_images", "0"],
        "--num_images: expected an integer of at least 1",
    ),
    (
        "G08",
        "generate",
        ["--prompt", "a", "--num_images", "2.5"],
        "--num_images: invalid integer value: '2.5'",
    ),
    (
        "G09",
        "generate",
        ["--prompt", "a", "--num_images", "many"],
        "--num_images: invalid integer value: 'many'",
    ),
    (
        "G10",
        "generate",
        ["--prompt", "a", "--batch_size", "0"],
        "--batch_size: expected an integer of at least 1",
    ),
    (
        "G11",
        "generate",
        ["--prompt", "a", "--grid_images", "-1"],
        "--grid_images: expected an integer of at least",
    ),
    ("G12", "generate", ["--prompt", "a", "--seed", "-1"], "--seed: expected an integer from 0 to"),
    ("G13", "generate", ["--prompt", "a", "--seed", str(2**64)], "--seed: expected an integer from 0 to"),
    ("G14", "generate", ["--model", "{missing}", "--prompt", "a"], "no such model folder"),
    (
        "G15",
        "generate",
        ["--model", "{tmp}", "--prompt", "a"],
        "has no model_index.json: not a saved pipeline",
    ),
    ("G16", "generate", ["--model", "{model}", "--prompt", "   "], "`prompt` is empty"),
    ("G17", "generate", ["--model", "{model}", "--prompt", "!!! ???"], "has no words the encoder can read"),
    ("G18", "generate", ["--model", "{model}", "--prompt", "a", "--output_dir", "{empty}"], "is a file"),
    ("G19", "generate", ["--model", "{model}", "--prompt", "a", "--output_dir", "{run}"], "--overwrite"),
    ("G20", "generate", ["--model", "{encoderless}", "--prompt", "a"], "has no text encoder"),
    (
        "G21",
        "generate",
        ["--model", "{model}", "--prompt", "a", "--output_dir", "{run}", "--overwrite"],
        "Wrote",
    ),
    ("P01", "prepare_cub", ["--image_size", "0"], "--image_size: expected an integer from 1 to 4096, got 0"),
    ("P02", "prepare_cub", ["--image_size", "0", "--skip_corrupt"], "--image_size: expected an integer from"),
    ("P03", "prepare_cub", ["--image_size", "100000"], "--image_size: expected an integer from 1 to 4096"),
    ("P04", "prepare_cub", ["--image_size", "big"], "--image_size: invalid integer value: 'big'"),
    (
        "P05",
        "prepare_cub",
        ["--cub_dir", "{corrupt_cub}", "--birds_dir", "{corrupt_birds}", "--skip_corrupt"],
        "images were skipped as corrupt",
    ),
    ("P06", "prepare_cub", ["--cub_dir", "{missing}"], "the CUB folder does not exist"),
    ("P07", "prepare_cub", ["--birds_dir", "{missing}"], "the birds folder does not exist"),
    ("P08", "prepare_cub", ["--cub_dir", "{no_images_txt}"], "images.txt: missing image list"),
    ("P09", "prepare_cub", ["--birds_dir", "{no_filenames}"], "filenames.pickle: missing StackGAN file list"),
    ("P10", "prepare_cub", ["--output_dir", "{cub_prepared}"], "already holds a prepared dataset"),
    ("P11", "prepare_cub", ["--output_dir", "{run}"], "already holds other files"),
    ("P12", "prepare_cub", ["--output_dir", "{empty}"], "is a file; expected a new or empty folder"),
    (
        "P13",
        "prepare_cub",
        ["--hub_dataset_id", "me/birds"],
        "--hub_dataset_id is only used with --push_to_hub",
    ),
    ("P14", "prepare_cub", ["--push_to_hub"], "--push_to_hub needs --hub_dataset_id"),
    ("P15", "prepare_cub", ["--split", "random"], "argument --split: invalid choice: 'random'"),
    (
        "P16",
        "prepare_cub",
        ["--text_encoder", "{missing}"],
        "error: --text_encoder ",
    ),
    ("P17", "prepare_cub", ["--birds_dir", "{empty_split}"], "lists no images; nothing was saved"),
    (
        "E01",
        "evaluate",
        ["stackgan", "--model", "{model}", "--num_samples", "0"],
        "--num_samples: expected an",
    ),
    ("E02", "evaluate", ["stackgan", "--model", "{missing}"], "no such model folder"),
    ("E03", "evaluate", ["stackgan", "--model", "{synthetic_model}", "--dataset", "{cub}"], "was trained on"),
    (
        "E04",
        "evaluate",
        ["stackgan", "--model", "{model}", "--dataset", "{cub}", "--num_samples", "4"],
        "FID",
    ),
    (
        "E05",
        "evaluate",
        ["stackgan", "--model", "{model}", "--dataset", "{cub}", "--split", "val"],
        "no split",
    ),
    (
        "E06",
        "evaluate",
        ["stackgan", "--model", "{model}", "--synthetic_num_images", "8", "--split", "validation"],
        "no split 'validation'",
    ),
    (
        "E07",
        "evaluate",
        ["stackgan", "--model", "{model}", "--classifier", "{empty}"],
        "is a file; expected a",
    ),
    (
        "E08",
        "evaluate",
        ["stackgan", "--model", "{model}", "--dataset", "{cub}", "--classifier", "{judge}"],
        "judges",
    ),
    (
        "E09",
        "evaluate",
        ["stackgan", "--model", "{model}", "--output", "{tmp}"],
        "is a folder; expected a JSON",
    ),
    (
        "E10",
        "evaluate",
        ["stackgan", "--model", "{model}", "--inception_weights", "{missing}"],
        "no such file",
    ),
    ("E11", "evaluate", ["stackgan", "--model", "{model}", "--clip_model", "{missing}"], "--clip_model: "),
    ("E12", "evaluate", ["stackgan", "--model", "{model}", "--feature", "fid"], "--feature: invalid choice"),
    (
        "E13",
        "evaluate",
        ["stackgan", "--model", "{encoderless}", "--dataset", "{cub}"],
        "holds 16-d `embeddings`",
    ),
    (
        "E14",
        "evaluate",
        ["stackgan", "--model", "{model}", "--synthetic_num_images", "0"],
        "expected an integer",
    ),
    ("E15", "evaluate", ["stackgan", "--model", "{model}", "--seed", "-2"], "--seed: expected an integer of"),
    (
        "E16",
        "evaluate",
        ["stackgan", "--model", "{model}", "--prompt_images", "0"],
        "--prompt_images: expected",
    ),
    (
        "E17",
        "evaluate",
        ["stackgan", "--model", "{model}", "--output", "{run}/grid.png"],
        "grid.png already exists: pass --overwrite to replace it",
    ),
    ("S01", "heldout_accuracy", ["{missing}", "--dataset", "{cub}"], "no such model folder"),
    ("S02", "heldout_accuracy", ["{model}", "--dataset", "{cub}"], "no such model folder"),
    ("S03", "heldout_accuracy", ["{model}", "--dataset", "{cub}", "--seed", "-1"], "--seed: expected"),
    ("S04", "make_report", ["--run", "{model}", "--confusion_rows", "0"], "--confusion_rows: expected an"),
    (
        "S05",
        "nearest_neighbors",
        ["--num_samples", "5", "--num_shown", "20"],
        "--num_shown 20: expected at most",
    ),
    ("S06", "nearest_neighbors", ["--num_samples", "0"], "--num_samples: expected an integer of at least 1"),
    ("S07", "nearest_neighbors", ["--classifier", "{missing}"], "no such model folder"),
    ("S08", "stackgan_figures", ["--num_compared", "65"], "--num_compared: expected an integer from 1 to 64"),
    ("S10", "stackgan_figures", ["--split", "validation"], "no split 'validation'"),
    ("S11", "plot_history", ["{missing}", "{tmp}/curves.png"], "no such file"),
    ("S12", "plot_history", ["{empty}", "{tmp}/curves.png"], "is empty: the run logged no step yet"),
    ("S13", "plot_history", ["{prompts}", "{tmp}/curves.png"], "not a training history"),
    ("S14", "plot_history", ["{history}", "{tmp}/curves.txt"], "expected an image file name"),
    ("S15", "seed_grid", ["{model}", "{tmp}/grid.txt"], "expected an image file name"),
    ("S16", "seed_grid", ["{missing}", "{tmp}/grid.png"], "no such model folder"),
    ("S17", "count_parameters", ["--text_embedding_dim", "0"], "--text_embedding_dim: expected an integer"),
    (
        "S18",
        "compare_text_encoders",
        ["--num_samples", "0"],
        "--num_samples: expected an integer of at least",
    ),
    (
        "S19",
        "compare_text_encoders",
        ["--stage1_model", "{model}"],
        "--stage1_model applies only to --ablation",
    ),
    (
        "S20",
        "compare_text_encoders",
        ["--ablation", "upsampling", "--encoders", "a"],
        "--encoders applies to",
    ),
    (
        "S21",
        "compare_text_encoders",
        ["--steps_per_variant", "nope=5"],
        "--steps_per_variant 'nope=5': expected",
    ),
    ("S22", "compare_text_encoders", ["--collect", "--reuse_runs"], "choose one"),
    ("S23", "compare_text_encoders", ["--variants", "ema"], "--variants applies only to --ablation"),
]
# Options every case of a script gets unless it gives its own (so that only the case's option is wrong).
DEFAULTS = {
    "generate": {"--model": "{model}", "--output_dir": "{tmp}/out"},
    "prepare_cub": {"--cub_dir": "{cub_dir}", "--birds_dir": "{birds_dir}", "--output_dir": "{tmp}/prepared"},
    "nearest_neighbors": {
        "--model": "{model}",
        "--dataset": "{cub}",
        "--classifier": "{judge}",
        "--output_dir": "{tmp}/nn",
    },
    "stackgan_figures": {"--model": "{model}", "--dataset": "{cub}", "--output_dir": "{tmp}/figures"},
}
SUBPROCESS_CASES = {"G07", "G19", "P02", "E04"}  # end to end: exit code 2, one line, no traceback

# (id, call, exception type, expected substring): calls of the pipeline `pipe` (bag-of-words, 24-d).
API_CASES = [
    ("A01", "pipe('a bird', num_images_per_prompt=2.5)", TypeError, "`num_images_per_prompt` must be an int"),
    (
        "A02",
        "pipe('a bird', num_images_per_prompt=0)",
        ValueError,
        "`num_images_per_prompt` must be at least 1",
    ),
    (
        "A03",
        "pipe('a bird', num_images_per_prompt=True)",
        TypeError,
        "`num_images_per_prompt` must be an int",
    ),
    ("A04", "pipe('a bird', latents=np.zeros((1, 8)))", TypeError, "`latents` must be a torch.Tensor"),
    ("A05", "pipe('a bird', latents=torch.zeros(2, 8))", ValueError, "`latents` must have shape [1, 8]"),
    ("A06", "pipe('a bird', latents=torch.zeros(1, 8, dtype=torch.long))", ValueError, "floating-point"),
    ("A07", "pipe()", ValueError, "Pass either `prompt` (text) or `prompt_embeds`"),
    ("A08", "pipe('')", ValueError, "`prompt` is empty"),
    ("A09", "pipe([])", ValueError, "`prompt` is empty"),
    ("A10", "pipe(42)", TypeError, "`prompt` must be a string or a list of strings, got int"),
    ("A11", "pipe('a bird', prompt_embeds=torch.zeros(1, 24))", ValueError, "not both"),
    ("A12", "pipe(prompt_embeds=np.zeros((1, 24)))", TypeError, "`prompt_embeds` must be a torch.Tensor"),
    ("A13", "pipe(prompt_embeds=torch.zeros(1, 25))", ValueError, "must be a tensor of shape [B, 24]"),
    ("A14", "pipe(prompt_embeds=torch.full((1, 24), float('nan')))", ValueError, "NaN or infinite"),
    ("A15", "pipe(prompt_embeds=torch.zeros(1, 24, dtype=torch.long))", ValueError, "finite floating-point"),
    ("A16", "pipe('a bird', output_type='latent')", ValueError, "`output_type` must be 'pil', 'np' or 'pt'"),
    ("A17", "pipe('a bird', generator=0)", TypeError, "`generator` must be a torch.Generator"),
    ("A18", "pipe('a bird', generator=[torch.Generator()] * 2)", ValueError, "one generator per image"),
    ("A19", "pipe('a bird', generator=[])", TypeError, "`generator` must be a torch.Generator"),
    ("A20", "pipe('a bird', num_inference_steps=50)", TypeError, "unexpected keyword argument"),
    ("A21", "encoderless('a bird')", ValueError, "has no text encoder, so it cannot read `prompt`"),
    ("A22", "StackGANPipeline.from_pretrained('/no/such/model')", FileNotFoundError, "no such model folder"),
    ("A23", "pipe('!!! ???')", ValueError, "has no words the encoder can read"),
]
# (id, call, expected substring of the message shown or the error raised): the demo's `demo` (bag-of-words).
DEMO_CASES = [
    ("D01", "demo.generate('   ', 0, 1)", "Please type a caption first"),
    ("D02", "demo.generate(123, 0, 1)", "The caption must be text, got int"),
    (
        "D03",
        "demo.generate('a bird', 'abc', 1)",
        "Seed must be a whole number from 0 to 2147483647, got 'abc'",
    ),
    ("D04", "demo.generate('a bird', float('nan'), 1)", "Seed must be a whole number"),
    ("D05", "demo.generate('a bird', 0, float('inf'))", "Images must be a whole number from 1 to 8, got inf"),
    ("D06", "demo.generate('!!! ???', 0, 1)", "has no words the encoder can read"),
    ("D07", "demo.select('nope')", "Unknown model 'nope'"),
    ("D08", "app.main(['--model', '/no/such/model'])", "--model: /no/such/model: no such model folder"),
    ("D09", "app.main(['--port', '70000'])", "--port: expected 1 to 65535, got 70000"),
]
ALL_IDS = [case[0] for case in SCRIPT_CASES + API_CASES + DEMO_CASES]


@pytest.fixture(scope="module")
def paths(tmp_path_factory, bag_of_words):
    """Every file and folder a case names, made once."""
    from stackgan_hf.data import prepare_cub
    from stackgan_hf.evaluation import ImageClassifier

    tmp = tmp_path_factory.mktemp("bad-inputs")
    make_tiny_pipeline(bag_of_words).save_pretrained(tmp / "model")
    make_tiny_pipeline(embedding_dim=24).save_pretrained(tmp / "encoderless")
    make_tiny_pipeline(bag_of_words).save_pretrained(tmp / "synthetic_model")
    summary = {"config": {"dataset": "synthetic-birds", "text_encoder": "bag-of-words"}}
    (tmp / "synthetic_model" / "stage1_summary.json").write_text(json.dumps(summary))
    tree = make_cub_tree(tmp / "cub_tree", num_classes=6, embedding_dim=16)
    prepare_cub(tree["cub_dir"], tree["birds_dir"], tmp / "cub", image_size=76)
    corrupt_tree = make_cub_tree(tmp / "corrupt_tree")
    corrupt = corrupt_tree["cub_dir"]
    for image in (corrupt / "images").rglob("*.jpg"):
        image.write_bytes(b"not a jpeg")
    no_images_txt = make_cub_tree(tmp / "no_images_txt")["cub_dir"]
    (no_images_txt / "images.txt").unlink()
    no_filenames = make_cub_tree(tmp / "no_filenames")["birds_dir"]
    (no_filenames / "test" / "filenames.pickle").unlink()
    empty_split = make_cub_tree(tmp / "empty_split")["birds_dir"]
    write_pickle(empty_split / "test" / "filenames.pickle", [])
    write_pickle(empty_split / "test" / "class_info.pickle", [])
    ImageClassifier(heads={"crown_color": 8}, image_size=64, base_channels=4).save_pretrained(tmp / "judge")
    (tmp / "prompts.txt").write_text("a bird with a red crown\n")
    (tmp / "empty.txt").write_text("")
    (tmp / "binary.txt").write_bytes(b"\xff\xfe\x00bird")
    (tmp / "history.jsonl").write_text(json.dumps({"step": 1, "loss_d": 1.0}) + "\n")
    run = tmp / "run"
    run.mkdir()
    (run / "grid.png").write_bytes(b"an earlier run's grid")
    return {
        "tmp": tmp,
        "model": tmp / "model",
        "encoderless": tmp / "encoderless",
        "synthetic_model": tmp / "synthetic_model",
        "cub": tmp / "cub",
        "cub_prepared": tmp / "cub",
        "cub_dir": tree["cub_dir"],
        "birds_dir": tree["birds_dir"],
        "corrupt_cub": corrupt,
        "corrupt_birds": corrupt_tree["birds_dir"],
        "no_images_txt": no_images_txt,
        "no_filenames": no_filenames,
        "empty_split": empty_split,
        "judge": tmp / "judge",
        "prompts": tmp / "prompts.txt",
        "empty": tmp / "empty.txt",
        "binary": tmp / "binary.txt",
        "history": tmp / "history.jsonl",
        "run": run,
        "missing": tmp / "no-such-thing",
    }


def _argv(script: str, argv: list[str], paths: dict) -> list[str]:
    given = set(argv)
    defaults = [
        item
        for flag, value in DEFAULTS.get(script, {}).items()
        if flag not in given
        for item in (flag, value)
    ]
    return [arg.format(**paths) for arg in [*argv, *defaults]]


@pytest.mark.parametrize("case", SCRIPT_CASES, ids=[case[0] for case in SCRIPT_CASES])
def test_script_case(case, paths, capsys, monkeypatch):
    case_id, script, argv, expected = case
    monkeypatch.chdir(paths["tmp"])
    monkeypatch.delenv("HF_TOKEN", raising=False)
    argv = _argv(script, argv, paths)
    in_process = case_id not in SUBPROCESS_CASES
    grid_before = (paths["run"] / "grid.png").read_bytes()
    code, stderr, stdout = run_script(f"{script}.py", argv, capsys, in_process, timeout=120)
    output = stderr + stdout
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if "error:" in line or line.startswith("Wrote")]
    assert len(lines) == 1, output
    SEEN[case_id] = re.sub(r"\S*bad-inputs\d*/", "…/", lines[0].strip())
    assert expected in lines[0], output
    assert code == (0 if expected == "Wrote" else 2), output
    if case_id == "E17":  # the existing file is kept
        assert (paths["run"] / "grid.png").read_bytes() == grid_before
    if case_id == "G19":  # the earlier run's file is kept
        assert (paths["run"] / "grid.png").read_bytes() == b"an earlier run's grid"
    if case_id.startswith("P"):
        assert not (paths["tmp"] / "prepared").exists()


def test_api_cases(bag_of_words):
    from stackgan_hf import StackGANPipeline  # noqa: F401 (used by the calls)

    pipe = make_tiny_pipeline(bag_of_words)  # noqa: F841
    encoderless = make_tiny_pipeline(embedding_dim=24)  # noqa: F841
    for case_id, call, error_type, expected in API_CASES:
        with pytest.raises(error_type) as error:
            eval(call)
        assert expected in str(error.value), (case_id, str(error.value))
        SEEN[case_id] = f"{error_type.__name__}: {error.value}"


def test_demo_cases(paths, capsys):
    pytest.importorskip("gradio", reason="the demo needs gradio (pip install -e '.[demo]')")
    import importlib.util

    spec = importlib.util.spec_from_file_location("demo_app", ROOT / "demo" / "app.py")
    app = importlib.util.module_from_spec(spec)
    sys.modules["demo_app"] = app
    spec.loader.exec_module(app)
    demo = app.Demo(str(paths["model"]))  # noqa: F841
    for case_id, call, expected in DEMO_CASES:
        try:
            shown = eval(call).message
        except SystemExit as exit_info:
            assert exit_info.code == 2
            shown = capsys.readouterr().err.strip().splitlines()[-1]
        except ValueError as error:
            shown = f"ValueError: {error}"
        assert expected in shown, (case_id, shown)
        SEEN[case_id] = shown


def _documented_rows() -> dict[str, str]:
    text = DOCS.read_text()
    assert SECTION in text, f"{DOCS} has no section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return {m.group(1): m.group(0) for m in re.finditer(r"^\| ([GPESAD]\d\d) \|.*$", section, re.MULTILINE)}


def test_every_case_is_documented_and_every_documented_case_is_tested():
    rows = _documented_rows()
    assert sorted(rows) == sorted(ALL_IDS)
    assert len(ALL_IDS) == len(set(ALL_IDS))
    expected = {case[0]: case[-1] for case in SCRIPT_CASES + DEMO_CASES}
    expected.update({case[0]: case[3] for case in API_CASES})
    for case_id, row in rows.items():  # the documented message holds what the test checks
        assert expected[case_id].replace("`", "") in row.replace("\\|", "|").replace("`", ""), case_id


def test_write_table_when_asked():
    """``BAD_INPUTS_TABLE=FILE``: the messages seen by this run's cases, one line per case."""
    target = os.environ.get("BAD_INPUTS_TABLE")
    if not target:
        pytest.skip("set BAD_INPUTS_TABLE=FILE to write the messages seen")
    Path(target).write_text("".join(f"{key}\t{SEEN[key]}\n" for key in sorted(SEEN)))
