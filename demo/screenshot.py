"""Starts the demo on localhost, types a caption, clicks Generate in a headless Chromium (Playwright driving
the system browser: nothing is downloaded) and saves a screenshot of the page.

    python demo/screenshot.py --model outputs/quickstart --output results/demo/demo.png

Used by tests/test_demo.py for the end-to-end test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"
CAPTION = "this bird has a red crown, blue wings and a yellow breast"


def find_chromium() -> str | None:
    return next((shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)), None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def capture(model: str, output: str | Path, caption: str = CAPTION, timeout: float = 120.0) -> dict[str, int]:
    """Runs the app with ``model``, generates for ``caption`` in the browser, screenshots the page to
    ``output``; returns how many images each gallery shows."""
    from playwright.sync_api import sync_playwright

    browser_path = find_chromium()
    if browser_path is None:
        raise RuntimeError("No Chromium found (Debian: apt-get install chromium).")
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    server = subprocess.Popen(
        [sys.executable, str(APP), "--model", str(model), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.time() + timeout
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if server.poll() is not None:
                raise RuntimeError("The demo exited:\n" + server.stdout.read())
            if time.time() > deadline:
                raise TimeoutError(f"The demo did not listen on port {port} within {timeout:.0f} s.")
            time.sleep(0.5)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(f"http://127.0.0.1:{port}", wait_until="networkidle")
            page.locator("#caption textarea").fill(caption)
            page.locator("#generate").click()
            page.locator("#stage2 img").first.wait_for(timeout=timeout * 1000)
            counts = {gallery: page.locator(f"#{gallery} img").count() for gallery in ("stage1", "stage2")}
            Path(output).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(output), full_page=True)
            browser.close()
        return counts
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="outputs/quickstart")
    parser.add_argument("--output", default="results/demo/demo.png")
    parser.add_argument("--caption", default=CAPTION)
    args = parser.parse_args(argv)
    print(capture(args.model, args.output, args.caption))


if __name__ == "__main__":
    main()
