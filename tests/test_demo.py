"""The Gradio demo: its generate function directly, then the real app in a headless Chromium (Playwright
driving Debian's browser; skipped with the reason when either is missing)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
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
    monkeypatch.setattr(app, "DEFAULT_MODEL", tmp_path / "missing")
    monkeypatch.delenv("STACKGAN_MODEL", raising=False)
    demo = app.Demo(None)
    result = demo.generate("a bird", 0, 1)
    assert demo.pipeline is None and "accelerate launch scripts/train_stackgan.py" in result.message


def _chromium() -> str | None:
    return next((shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)), None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_end_to_end_in_a_real_browser(model_dir, tmp_path):
    browser_path = _chromium()
    if browser_path is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    port = _free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "demo" / "app.py"), "--model", str(model_dir), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 120
        while time.time() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if server.poll() is not None:
                pytest.fail("the demo exited:\n" + server.stdout.read())
            time.sleep(0.5)
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(url, wait_until="networkidle")
            page.locator("#caption textarea").fill(
                "this bird has a red crown, blue wings and a yellow breast"
            )
            page.locator("#generate").click()
            page.locator("#stage2 img").first.wait_for(timeout=60_000)
            stage1_images = page.locator("#stage1 img").count()
            stage2_images = page.locator("#stage2 img").count()
            screenshot = os.environ.get("DEMO_SCREENSHOT") or str(tmp_path / "demo.png")
            page.screenshot(path=screenshot, full_page=True)
            browser.close()
        assert stage1_images >= 2 and stage2_images >= 2  # two images (the default) in each gallery
    finally:
        server.terminate()
        server.wait(timeout=30)
