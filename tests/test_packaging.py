"""The wheel: every package, and the model-card templates and configs as package data of stackgan_hf.

``pip install .`` (not editable) installs the wheel alone, without the repository's ``model_cards/`` and
``configs/`` folders; pyproject.toml maps them into the package (``stackgan_hf/model_cards/``,
``stackgan_hf/configs/``). The wheel is built from a copy of the sources, so the checkout gets no ``build/``
or ``*.egg-info`` folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "stackgan_hf", "diffusion", "model_cards", "configs")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    pytest.importorskip("setuptools")
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(path, source / name)
    dist = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation"]
    command += ["--no-index", "-w", str(dist), "-q"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    (built,) = dist.glob("stackgan_hf-*.whl")
    return built


def _repo_files(folder: str, pattern: str) -> list[str]:
    return sorted(path.relative_to(REPO).as_posix() for path in (REPO / folder).rglob(pattern))


def test_the_wheel_ships_the_model_card_templates_and_the_configs(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = _repo_files("model_cards", "*.md")
    configs = _repo_files("configs", "*.yaml")
    assert "model_cards/stackgan.md" in templates and "configs/stackgan/quickstart.yaml" in configs
    for path in templates + configs:
        assert f"stackgan_hf/{path}" in names, f"{path} is not in the wheel: add its folder to pyproject.toml"
    archive = zipfile.ZipFile(wheel)
    assert (
        archive.read("stackgan_hf/model_cards/stackgan.md") == (REPO / "model_cards/stackgan.md").read_bytes()
    )


def test_the_wheel_holds_every_module_of_both_packages(wheel):
    """pyproject.toml lists the packages by name: a new subpackage must be added there too."""
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = [
        path.relative_to(REPO).as_posix()
        for package in ("stackgan_hf", "diffusion")
        for path in (REPO / package).rglob("*.py")
        if "__pycache__" not in path.parts
    ]
    missing = [module for module in modules if module not in names]
    assert not missing, f"not in the wheel (list their packages in pyproject.toml): {missing}"


def test_an_installed_wheel_finds_its_model_card_templates(wheel, tmp_path):
    """What `pip install .` then writing a model card needs: the installed package finds its templates,
    with no checkout around (the wheel unpacked into a folder on the path; run from elsewhere)."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import stackgan_hf.utils.hub as hub; path = hub.model_card_template('stackgan'); "
        "assert path.is_file(), path; print(path)"
    )
    env = {**os.environ, "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert Path(result.stdout.strip()).is_relative_to(site / "stackgan_hf")
