"""The Gradio demo: its generate function directly, then the real app in a headless Chromium (Playwright
driving Debian's browser; skipped with the reason when either is missing)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_tiny_pipeline

pytest.importorskip("gradio", reason="the demo needs gradio (pip install -e '.[demo]')")

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("demo_app", ROOT / "demo" / "app.py")
app = importlib.util.module_from_spec(spec)
sys.modules["demo_app"] = app  # dataclasses look their module up there
spec.loader.exec_module(app)
spec = importlib.util.spec_from_file_location("demo_screenshot", ROOT / "demo" / "screenshot.py")
screenshot = importlib.util.module_from_spec(spec)
spec.loader.exec_module(screenshot)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tiny_clip):
    directory = tmp_path_factory.mktemp("demo-model")
    encoder, tokenizer = tiny_clip
    make_tiny_pipeline(encoder, tokenizer).save_pretrained(directory)
    return directory


def test_generate_shapes_determinism_and_bounds(model_dir):
    demo = app.Demo(str(model_dir))
    result = demo.generate("a red bird with blue wings", seed=3, num_images=2)
    assert len(result.stage1) == len(result.stage2) == 2
    assert result.stage1[0].size == (64, 64) and result.stage2[0].size == (256, 256)
    again = demo.generate("a red bird with blue wings", seed=3, num_images=2)
    np.testing.assert_array_equal(np.asarray(again.stage2[1]), np.asarray(result.stage2[1]))
    other = demo.generate("a red bird with blue wings", seed=4, num_images=1)
    assert not np.array_equal(np.asarray(other.stage2[0]), np.asarray(result.stage2[0]))
    bounded = demo.generate("a bird", seed=-5, num_images=500)
    assert len(bounded.stage1) == app.MAX_IMAGES and "seed 0" in bounded.message


def test_friendly_messages(model_dir):
    demo = app.Demo(str(model_dir))
    for empty in ("", "   \n", None):
        result = demo.generate(empty, seed=0, num_images=1)
        assert result.stage1 == [] and "type a caption" in result.message
    long = demo.generate("a bird with a red crown " * 20, seed=0, num_images=1)
    assert len(long.stage1) == 1 and "reads only the first 32" in long.message  # the tiny CLIP's 32 positions
    huge = demo.generate("x" * (app.MAX_CAPTION_CHARS + 50), seed=0, num_images=1)
    assert f"first {app.MAX_CAPTION_CHARS} characters" in huge.message
    assert "Model:" in demo.facts and "text encoder" in demo.facts


def test_without_a_model_it_says_how_to_make_one(monkeypatch, tmp_path):
    monkeypatch.setattr(app, "DEFAULT_MODELS", {"none": [tmp_path / "missing"]})
    monkeypatch.delenv("STACKGAN_MODEL", raising=False)
    demo = app.Demo(None)
    result = demo.generate("a bird", 0, 1)
    assert demo.pipeline is None and "accelerate launch scripts/train_stackgan.py" in result.message


def test_offers_every_default_model_and_switches_between_them(monkeypatch, model_dir, tmp_path):
    monkeypatch.setattr(
        app, "DEFAULT_MODELS", {"first": [tmp_path / "missing", model_dir], "second": [model_dir]}
    )
    monkeypatch.delenv("STACKGAN_MODEL", raising=False)
    demo = app.Demo(None)
    assert list(demo.models) == ["first", "second"] and demo.model_name == str(model_dir)
    assert "Model:" in demo.select("second") and len(demo.generate("a bird", 0, 1).stage2) == 1
    with pytest.raises(ValueError, match="Unknown model 'third'"):
        demo.select("third")


def test_a_fresh_clone_starts_with_the_committed_real_bird_model(monkeypatch):
    monkeypatch.delenv("STACKGAN_MODEL", raising=False)
    demo = app.Demo(None)
    assert next(iter(demo.models)) == "Real birds (CUB-50)"
    assert demo.model_name == str(ROOT / "results" / "cub50" / "pipeline")
    result = demo.generate(demo.examples()[0], seed=0, num_images=1)
    assert result.stage1[0].size == (64, 64) and result.stage2[0].size == (256, 256)


def test_end_to_end_in_a_real_browser(model_dir, tmp_path):
    if screenshot.find_chromium() is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    output = tmp_path / "demo.png"
    counts = screenshot.capture(str(model_dir), output)
    assert counts["stage1"] >= 2 and counts["stage2"] >= 2  # two images (the default) in each gallery
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
