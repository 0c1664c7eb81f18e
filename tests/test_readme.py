"""The README's Python API examples run as written, and its architecture table is current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stackgan_hf.models import architecture_table

README = Path(__file__).resolve().parents[1] / "README.md"


def _section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_architecture_table_matches_the_models():
    table = re.search(
        r"<!-- architecture-table:start -->\n(.*?)\n<!-- architecture-table:end -->", README.read_text(), re.S
    )
    assert table is not None
    assert table.group(1).strip() == architecture_table(1024).strip()


def test_readme_names_the_test_command_that_ci_runs():
    ci = (README.parent / ".ci" / "run").read_text()
    assert "python -m pytest -q" in README.read_text() and "pytest -q" in ci


API_BLOCKS = re.findall(r"```python\n(.*?)```", _section("Python API"), re.S)


@pytest.mark.parametrize("index", range(len(API_BLOCKS)))
def test_python_api_examples_run_as_written(index, tmp_path, monkeypatch):
    code = API_BLOCKS[index]
    if 'load_text_encoder("openai/' in code:
        pytest.skip("downloads CLIP from the Hub; the same calls run offline in tests/test_pipeline.py")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"README.md[python block {index}]", "exec"), {"__name__": "__readme__"})
