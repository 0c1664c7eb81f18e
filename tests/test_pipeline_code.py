"""Saved pipelines carry their code the diffusers way: ``DiffusionPipeline.from_pretrained(folder or repo
id, trust_remote_code=True)`` loads a ``StackGANPipeline`` (with ``stackgan_hf`` installed) and the DDPM
pipelines of ``diffusion.pipeline`` (with torch and diffusers alone), and the project's own classes read the
same folders without running anything from them. Pipelines are tiny and built here; the Hub is the loopback
``FakeHub``."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import CAPTIONS, make_tiny_pipeline
from diffusers import DDPMScheduler, UNet2DModel
from fake_hub import FakeHub

from diffusion import pipeline as ddpm_pipeline
from diffusion.pipeline import ClassConditionalDDPMPipeline
from diffusion.sampling import load_pipeline
from stackgan_hf import StackGANPipeline
from stackgan_hf.pipeline_stackgan import add_pipeline_code

REPO = Path(__file__).resolve().parents[1]
STACKGAN_FILES = [
    "pipeline_stackgan.py",
    "stage1_generator/stage1.py",
    "stage2_generator/stage2.py",
    "text_encoder/bag_of_words.py",
]


def _pixels(pipe) -> np.ndarray:
    for model in (pipe.stage1_generator, pipe.stage2_generator):  # as from_pretrained leaves them
        model.to(memory_format=torch.channels_last)
    return pipe(CAPTIONS, generator=torch.Generator().manual_seed(0), output_type="np").images


def _tiny_class_conditional() -> ClassConditionalDDPMPipeline:
    torch.manual_seed(0)
    unet = UNet2DModel(
        sample_size=8,
        in_channels=1,
        out_channels=1,
        block_out_channels=(8, 16),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "UpBlock2D"),
        norm_num_groups=4,
        num_class_embeds=11,
    )
    return ClassConditionalDDPMPipeline(unet=unet, scheduler=DDPMScheduler())


def _digits(pipe) -> np.ndarray:
    generator = torch.Generator().manual_seed(0)
    return pipe(class_labels=[1, 7], num_inference_steps=3, generator=generator, output_type="np").images


def _code_files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob("*.py"))}


def test_stackgan_save_pretrained_writes_its_code_in_diffusers_format(tmp_path, bag_of_words):
    pipe = make_tiny_pipeline(bag_of_words)
    pipe.save_pretrained(tmp_path)
    index = json.loads((tmp_path / "model_index.json").read_text())
    assert index["_class_name"] == ["pipeline_stackgan", "StackGANPipeline"]
    assert index["stage1_generator"] == ["stage1", "StackGANStage1Generator"]
    assert index["stage2_generator"] == ["stage2", "StackGANStage2Generator"]
    assert index["text_encoder"] == ["bag_of_words", "HashedBagOfWordsEncoder"]
    assert sorted(_code_files(tmp_path)) == sorted(STACKGAN_FILES)
    code = (tmp_path / "stage1_generator" / "stage1.py").read_text()
    assert "from stackgan_hf.models.stage1 import StackGANStage1Generator" in code
    assert (
        "from stackgan_hf.pipeline_stackgan import StackGANPipeline"
        in (tmp_path / "pipeline_stackgan.py").read_text()
    )


def test_stackgan_from_pretrained_runs_nothing_from_the_folder(tmp_path, bag_of_words):
    pipe = make_tiny_pipeline(bag_of_words)
    pipe.save_pretrained(tmp_path)
    for name in STACKGAN_FILES:  # would fail the load if it were imported
        (tmp_path / name).write_text('raise RuntimeError("code of the folder ran")\n')
    loaded = StackGANPipeline.from_pretrained(tmp_path)
    assert type(loaded) is StackGANPipeline
    np.testing.assert_array_equal(_pixels(loaded), _pixels(pipe))


def test_a_folder_saved_before_gets_its_code_without_touching_the_weights(tmp_path, bag_of_words):
    pipe = make_tiny_pipeline(bag_of_words)
    new = tmp_path / "new"
    pipe.save_pretrained(new)
    old = tmp_path / "old"
    shutil.copytree(new, old)
    for name in STACKGAN_FILES:
        (old / name).unlink()
    index = json.loads((old / "model_index.json").read_text())  # the format of earlier saves
    index["_class_name"] = "StackGANPipeline"
    index["stage1_generator"] = ["stackgan_hf.models.stage1", "StackGANStage1Generator"]
    index["stage2_generator"] = ["stackgan_hf.models.stage2", "StackGANStage2Generator"]
    index["text_encoder"] = ["stackgan_hf.text.bag_of_words", "HashedBagOfWordsEncoder"]
    (old / "model_index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    np.testing.assert_array_equal(_pixels(StackGANPipeline.from_pretrained(old)), _pixels(pipe))

    weights = {p: p.read_bytes() for p in old.rglob("*.safetensors")}
    add_pipeline_code(old)
    add_pipeline_code(old)  # twice: the same
    assert (old / "model_index.json").read_text() == (new / "model_index.json").read_text()
    assert _code_files(old) == _code_files(new)
    assert {p: p.read_bytes() for p in old.rglob("*.safetensors")} == weights
    _tiny_class_conditional().save_pretrained(tmp_path / "ddpm")
    with pytest.raises(ValueError, match="not StackGANPipeline"):
        add_pipeline_code(tmp_path / "ddpm")


def test_ddpm_pipelines_save_a_copy_of_their_code(tmp_path):
    pipe = _tiny_class_conditional()
    pipe.save_pretrained(tmp_path)
    index = json.loads((tmp_path / "model_index.json").read_text())
    assert index["_class_name"] == ["pipeline", "ClassConditionalDDPMPipeline"]
    assert (tmp_path / "pipeline.py").read_bytes() == Path(ddpm_pipeline.__file__).read_bytes()
    (tmp_path / "pipeline.py").write_text('raise RuntimeError("code of the folder ran")\n')
    loaded = ClassConditionalDDPMPipeline.from_pretrained(tmp_path)
    assert type(loaded) is ClassConditionalDDPMPipeline
    np.testing.assert_array_equal(_digits(loaded), _digits(pipe))
    assert type(load_pipeline(tmp_path)) is ClassConditionalDDPMPipeline


def test_the_ddpm_pipeline_code_needs_only_torch_and_diffusers():
    """The file travels into saved folders; diffusers imports it without stackgan-hf installed."""
    tree = ast.parse(Path(ddpm_pipeline.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    top_level = {name.split(".")[0] for name in imported}
    allowed = {"__future__", "inspect", "json", "math", "os", "shutil", "torch", "diffusers"}
    assert top_level <= allowed, top_level


LOAD = """
    import json, sys
    import numpy as np, torch
    from diffusers import DiffusionPipeline

    captions, results = {captions!r}, {{}}
    for key, source in (("stackgan_local", {stackgan_local!r}), ("stackgan_hub", {stackgan_repo!r})):
        try:
            DiffusionPipeline.from_pretrained(source)
        except ValueError as error:
            assert "trust_remote_code=True" in str(error), error
        else:
            raise AssertionError("custom code loaded without trust_remote_code")
        pipe = DiffusionPipeline.from_pretrained(source, trust_remote_code=True)
        assert type(pipe).__module__ == "stackgan_hf.pipeline_stackgan", type(pipe)
        for model in (pipe.stage1_generator, pipe.stage2_generator):
            model.to(memory_format=torch.channels_last)
        images = pipe(captions, generator=torch.Generator().manual_seed(0), output_type="np").images
        results[key] = images.tolist()

    sys.modules["diffusion"] = None  # the DDPM pipeline's code must not need this project
    for key, source in (("ddpm_local", {ddpm_local!r}), ("ddpm_hub", {ddpm_repo!r})):
        pipe = DiffusionPipeline.from_pretrained(source, trust_remote_code=True)
        assert type(pipe).__name__ == "ClassConditionalDDPMPipeline", type(pipe)
        assert type(pipe).__module__.startswith("diffusers_modules."), type(pipe).__module__
        images = pipe(
            class_labels=[1, 7], num_inference_steps=3, generator=torch.Generator().manual_seed(0),
            output_type="np",
        ).images
        results[key] = images.tolist()
    with open({out!r}, "w") as file:
        json.dump(results, file)
"""


def test_diffusion_pipeline_loads_them_from_a_folder_and_from_the_hub(tmp_path, bag_of_words):
    stackgan, ddpm = make_tiny_pipeline(bag_of_words), _tiny_class_conditional()
    stackgan.save_pretrained(tmp_path / "stackgan")
    ddpm.save_pretrained(tmp_path / "ddpm")
    out = tmp_path / "results.json"
    with FakeHub() as hub:
        hub.add_folder("fake-user/tiny-stackgan", tmp_path / "stackgan")
        hub.add_folder("fake-user/tiny-ddpm", tmp_path / "ddpm")
        code = LOAD.format(
            captions=CAPTIONS,
            stackgan_local=str(tmp_path / "stackgan"),
            stackgan_repo="fake-user/tiny-stackgan",
            ddpm_local=str(tmp_path / "ddpm"),
            ddpm_repo="fake-user/tiny-ddpm",
            out=str(out),
        )
        env = hub.client_env(hf_home=tmp_path / "hf_home")
        env["PYTHONPATH"] = str(REPO)
        result = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
        fetched = [line for line in hub.request_lines() if line.startswith("GET") and line.endswith(".py")]
        assert any(line.endswith("/stage1_generator/stage1.py") for line in fetched), fetched
        assert any(line.endswith("/pipeline.py") for line in fetched), fetched
    results = {key: np.asarray(images) for key, images in json.loads(out.read_text()).items()}
    assert sorted(results) == ["ddpm_hub", "ddpm_local", "stackgan_hub", "stackgan_local"]
    expected = {"stackgan": _pixels(stackgan), "ddpm": _digits(ddpm)}
    for key, images in results.items():
        np.testing.assert_allclose(images, expected[key.split("_")[0]], atol=1e-6, err_msg=key)
