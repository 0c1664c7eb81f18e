"""Every model folder committed under ``results/`` has a model card whose code runs, and every pipeline
folder loads with ``diffusers.DiffusionPipeline.from_pretrained`` as a diffusers user would load it.

A model folder is one with a ``model_index.json`` (a pipeline) or with a ``config.json`` beside
``*.safetensors`` (one model), outside another model folder. For each, in a fresh Python process with the Hub
offline (nothing is downloaded) and an empty Hugging Face cache:

- a pipeline loads with ``DiffusionPipeline.from_pretrained(folder)``; a pipeline whose code is in the folder
  (``"_class_name": [file, class]``) is refused without ``trust_remote_code=True`` and loads with it;
- each ``python`` block of its ``README.md`` runs on its own, from a folder where ``results/`` is this
  repository's, so the paths of the cards (``results/...``, from the repository root) are the committed
  folders. Two substitutions shorten or place it: every ``num_inference_steps=N`` becomes ``=2`` (a denoising
  loop of more steps fails the test), and ``path/to/this/folder`` (the placeholder of the text-encoder card
  template) becomes the folder. A card must load its own folder.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STEPS = 2
PLACEHOLDER = "path/to/this/folder"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def committed_files() -> list[str]:
    """The files under ``results/`` that git tracks (every file there without git)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--", "results"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout
        return [name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        return [p.relative_to(REPO).as_posix() for p in (REPO / "results").rglob("*") if p.is_file()]


def model_folders() -> list[str]:
    files = committed_files()
    folders = {name.rsplit("/", 1)[0] for name in files if name.endswith("/model_index.json")}
    weights = {name.rsplit("/", 1)[0] for name in files if name.endswith(".safetensors")}
    folders |= {name.rsplit("/", 1)[0] for name in files if name.endswith("/config.json")} & weights
    return sorted(f for f in folders if not any(f.startswith(other + "/") for other in folders))


MODEL_FOLDERS = model_folders()


def test_the_committed_model_folders_are_found():
    for folder in (
        "results/ddpm_mnist/pipeline",
        "results/ddpm_mnist/class_conditional/pipeline",
        "results/ddpm_mnist/autoguidance/pipeline",
        "results/ddpm_mnist/autoguidance/guide_same500",
        "results/text_encoders/char_cnn_rnn/cub50_encoder",
    ):
        assert folder in MODEL_FOLDERS, MODEL_FOLDERS
    assert "results/ddpm_mnist/pipeline/unet" not in MODEL_FOLDERS  # a component, not a model folder


def card_blocks(folder: str) -> list[str]:
    """The card's python blocks with the test's substitutions; fails on a missing or incomplete card."""
    card = REPO / folder / "README.md"
    assert card.is_file(), f"{folder} has no model card (README.md)."
    text = card.read_text()
    assert text.startswith("---\n"), f"{card}: no YAML metadata header (library_name, pipeline_tag, ...)."
    assert "](https://github.com/)" not in text, f"{card} links to the placeholder https://github.com/."
    blocks = PYTHON_BLOCK.findall(text)
    assert blocks, f"{card} has no ```python block showing how to load the model."
    blocks = [re.sub(r"num_inference_steps\s*=\s*\d+", f"num_inference_steps={STEPS}", b) for b in blocks]
    blocks = [block.replace(PLACEHOLDER, folder) for block in blocks]
    assert any(f'"{folder}"' in block for block in blocks), (
        f'{card}: no snippet loads "{folder}" (write the path from the repository root; on the Hub a '
        "repo id takes its place)."
    )
    return blocks


RUNNER = """
import json, sys
from pathlib import Path

from diffusers import DiffusionPipeline

folder, steps, blocks = sys.argv[1], int(sys.argv[2]), json.loads(Path(sys.argv[3]).read_text())

# A denoising loop of more steps than the test's: a call the test could not shorten.
progress_bar = DiffusionPipeline.progress_bar


def short_progress_bar(self, iterable=None, total=None):
    length = len(iterable) if iterable is not None else total
    if length is not None and length > steps:
        raise AssertionError(
            f"a {type(self).__name__} call runs {length} steps: give the card's calls num_inference_steps=N "
            "explicitly, so that the test can shorten them."
        )
    return progress_bar(self, iterable=iterable, total=total)


DiffusionPipeline.progress_bar = short_progress_bar

index_file = Path(folder, "model_index.json")
if index_file.is_file():
    class_name = json.loads(index_file.read_text())["_class_name"]
    if isinstance(class_name, list):
        if class_name[0] == "pipeline":  # diffusion/pipeline.py: it needs only torch and diffusers
            sys.modules["diffusion"] = None
        try:
            DiffusionPipeline.from_pretrained(folder)
        except ValueError as error:
            assert "trust_remote_code=True" in str(error), error
        else:
            raise AssertionError(f"{folder}: its code ran without trust_remote_code=True")
        pipe = DiffusionPipeline.from_pretrained(folder, trust_remote_code=True)
        sys.modules.pop("diffusion", None)
        class_name = class_name[1]
    else:
        import diffusers

        if not hasattr(diffusers, class_name):
            sys.exit(
                f"{index_file} names {class_name}, which diffusers does not have, and no code file: "
                "DiffusionPipeline.from_pretrained cannot load it. Save it again with its pipeline's "
                "save_pretrained, or add the code to the folder with add_pipeline_code(folder) "
                "(stackgan_hf.pipeline_stackgan or diffusion.pipeline); the weights stay as they are."
            )
        pipe = DiffusionPipeline.from_pretrained(folder)
    assert type(pipe).__name__ == class_name, (type(pipe), class_name)
    print(f"DiffusionPipeline.from_pretrained({folder!r}): {type(pipe).__module__}.{class_name}", flush=True)

for number, block in enumerate(blocks, 1):
    print(f"--- README.md python block {number}", flush=True)
    exec(compile(block, f"{folder}/README.md, python block {number}", "exec"), {"__name__": "__main__"})
print("all blocks ran", flush=True)
"""


@pytest.mark.parametrize("folder", MODEL_FOLDERS)
def test_model_card_snippets_run_on_the_committed_folder(folder, tmp_path):
    blocks = card_blocks(folder)
    (tmp_path / "blocks.json").write_text(json.dumps(blocks))
    work = tmp_path / "work"  # the snippets' working folder: images they save land here
    work.mkdir()
    (work / "results").symlink_to(REPO / "results", target_is_directory=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "HUGGINGFACE_"))}
    env.update(
        HF_HUB_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HOME=str(tmp_path / "hf_home"),  # an empty cache; diffusers copies pipeline code under it
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, folder, str(STEPS), str(tmp_path / "blocks.json")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"{folder}:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    assert "all blocks ran" in result.stdout


def pipelines_with_code() -> list[str]:
    """The pipeline folders whose class is not diffusers' (their code is, or must be, in the folder)."""
    import diffusers

    folders = []
    for folder in MODEL_FOLDERS:
        index = REPO / folder / "model_index.json"
        if index.is_file():
            class_name = json.loads(index.read_text())["_class_name"]
            if isinstance(class_name, list) or not hasattr(diffusers, class_name):
                folders.append(folder)
    return folders


@pytest.mark.parametrize("folder", pipelines_with_code())
def test_committed_pipeline_code_is_what_the_package_writes(folder, tmp_path):
    """The code files in a committed pipeline folder are those its package's ``add_pipeline_code`` writes
    now: a copy of ``diffusion/pipeline.py``, or the ``stackgan_hf`` import files."""
    source = REPO / folder
    class_name = json.loads((source / "model_index.json").read_text())["_class_name"]
    class_name = class_name[1] if isinstance(class_name, list) else class_name
    if class_name == "StackGANPipeline":
        from stackgan_hf.pipeline_stackgan import add_pipeline_code
    elif class_name in ("ClassConditionalDDPMPipeline", "AutoGuidedDDPMPipeline"):
        from diffusion.pipeline import add_pipeline_code
    else:
        pytest.fail(f"{folder}: {class_name} is neither diffusers' nor this project's pipeline.")
    copy = tmp_path / "copy"  # the folder without its weights
    skipped_suffixes = {".safetensors", ".bin", ".png", ".md"}
    for path in source.rglob("*"):
        if path.is_file() and path.suffix not in skipped_suffixes:
            (copy / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            (copy / path.relative_to(source)).write_bytes(path.read_bytes())
    add_pipeline_code(copy)
    for path in copy.rglob("*"):
        if path.is_file():
            original = source / path.relative_to(copy)
            assert original.is_file() and original.read_bytes() == path.read_bytes(), (
                f'{original} differs from what add_pipeline_code writes: run `python -c "from '
                f"{add_pipeline_code.__module__} import add_pipeline_code; add_pipeline_code('{folder}')\"`."
            )
