"""The pipeline on the Hub: push_to_hub, then from_pretrained(repo_id), through the real huggingface_hub
client talking HTTP to a local fake Hub (tests/fake_hub.py). Nothing leaves the machine."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import torch
from conftest import CAPTIONS, make_tiny_pipeline
from fake_hub import FakeHub

REPO_ID = "fake-user/tiny-stackgan"


def _run(hub: FakeHub, hf_home: Path, code: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=hub.client_env(hf_home=hf_home),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, f"client failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


def _expected_pixels(pipe) -> np.ndarray:
    return pipe(CAPTIONS, generator=torch.Generator().manual_seed(0), output_type="np").images


LOAD_AND_GENERATE = """
    import sys, numpy as np, torch
    from stackgan_hf import StackGANPipeline
    pipe = StackGANPipeline.from_pretrained("{repo}")
    images = pipe({captions!r}, generator=torch.Generator().manual_seed(0), output_type="np").images
    np.save("{out}", images)
    print(type(pipe.text_encoder).__name__, type(pipe.tokenizer).__name__)
"""


def test_push_to_hub_then_from_pretrained_by_repo_id(tmp_path, tiny_clip):
    pipe = make_tiny_pipeline(*tiny_clip)
    local = tmp_path / "local"
    pipe.save_pretrained(local)
    with FakeHub() as hub:
        _run(
            hub,
            tmp_path / "pusher",
            f"""
            from stackgan_hf import StackGANPipeline
            StackGANPipeline.from_pretrained("{local}").push_to_hub("{REPO_ID}")
            """,
        )
        stored = hub.files(REPO_ID)
        assert (
            "model_index.json" in stored and "stage2_generator/diffusion_pytorch_model.safetensors" in stored
        )
        assert "tokenizer/vocab.json" in stored or "tokenizer/tokenizer.json" in stored
        assert not [name for name in stored if name.endswith((".bin", ".pt", ".pkl"))]
        hub.clear_requests()

        out = tmp_path / "from_hub.npy"
        code = LOAD_AND_GENERATE.format(repo=REPO_ID, captions=CAPTIONS, out=out)
        result = _run(hub, tmp_path / "fresh-cache", code)
        assert "CLIPTextModel CLIPTokenizer" in result.stdout
        lines = hub.request_lines()
        assert any(line.startswith("GET /api/models/fake-user/tiny-stackgan") for line in lines), lines
        assert any(f"/{REPO_ID}/resolve/" in line and line.endswith("model_index.json") for line in lines), (
            lines
        )
    np.testing.assert_array_equal(np.load(out), _expected_pixels(pipe))


def test_from_pretrained_skips_pickled_weights_in_a_repo(tmp_path, bag_of_words):
    pipe = make_tiny_pipeline(bag_of_words)
    local = tmp_path / "local"
    pipe.save_pretrained(local)
    with FakeHub() as hub:
        hub.add_folder(REPO_ID, local)
        hub.add_files(REPO_ID, {"stage1_generator/diffusion_pytorch_model.bin": b"not a real pickle"})
        out = tmp_path / "from_hub.npy"
        _run(hub, tmp_path / "cache", LOAD_AND_GENERATE.format(repo=REPO_ID, captions=CAPTIONS, out=out))
        downloaded = [line for line in hub.request_lines() if line.startswith("GET") and "/resolve/" in line]
        assert downloaded and not [line for line in downloaded if line.endswith(".bin")]
    np.testing.assert_array_equal(np.load(out), _expected_pixels(pipe))


def test_missing_repo_gives_the_hub_error(tmp_path):
    with FakeHub() as hub:
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "from stackgan_hf import StackGANPipeline; "
                "StackGANPipeline.from_pretrained('fake-user/does-not-exist')",
            ],
            env=hub.client_env(hf_home=tmp_path / "cache"),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode != 0
    assert "RepositoryNotFoundError" in result.stderr or "404" in result.stderr, result.stderr[-2000:]


def test_model_index_json_names_importable_components(tmp_path, bag_of_words):
    make_tiny_pipeline(bag_of_words).save_pretrained(tmp_path)
    import importlib

    from stackgan_hf import StackGANPipeline

    # The index as StackGANPipeline.from_pretrained reads it; on disk each names its folder's code file.
    index = StackGANPipeline.load_config(tmp_path)
    for name in ("stage1_generator", "stage2_generator", "text_encoder"):
        module, class_name = index[name]
        assert hasattr(importlib.import_module(module), class_name)
        assert hasattr(importlib.import_module(module), "ModelMixin")  # diffusers needs the base class there
