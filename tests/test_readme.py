"""The README and docs/: the Python API examples run as written, the architecture table is current, the
README names CI's test command and stays a short front page, and every relative link resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stackgan_hf.models import architecture_table

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = REPO / "docs"


def _section(path: Path, title: str) -> str:
    text = path.read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_architecture_table_matches_the_models():
    table = re.search(
        r"<!-- architecture-table:start -->\n(.*?)\n<!-- architecture-table:end -->",
        (DOCS / "architecture.md").read_text(),
        re.S,
    )
    assert table is not None
    assert table.group(1).strip() == architecture_table(1024).strip()


def test_readme_names_the_test_command_that_ci_runs():
    ci = (REPO / ".ci" / "run").read_text()
    assert "python -m pytest -q" in README.read_text() and "pytest -q" in ci


def test_readme_is_a_short_front_page():
    assert len(README.read_bytes()) <= 15_000


def test_readme_python_blocks_compile():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks
    for index, code in enumerate(blocks):
        compile(code, f"README.md[python block {index}]", "exec")


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors of a Markdown file (code blocks skipped)."""
    anchors, seen, in_code = set(), {}, False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        heading = None if in_code else re.match(r"#{1,6}\s+(.*)$", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
            anchors.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
            seen[slug] = seen.get(slug, 0) + 1
    return anchors


@pytest.mark.parametrize(
    "page", [README, *sorted(DOCS.rglob("*.md"))], ids=lambda p: str(p.relative_to(REPO))
)
def test_relative_links_resolve(page):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists() or (anchor and dest.suffix == ".md" and anchor not in _anchors(dest)):
            broken.append(target)
    assert not broken, f"{page.relative_to(REPO)}: broken links {broken}"


API_SECTION = _section(DOCS / "python_api.md", "Pipelines and models")
API_BLOCKS = re.findall(r"```python\n(.*?)```", API_SECTION, re.S)


@pytest.mark.parametrize("index", range(len(API_BLOCKS)))
def test_python_api_examples_run_as_written(index, tmp_path, monkeypatch):
    code = API_BLOCKS[index]
    if 'load_text_encoder("openai/' in code:
        pytest.skip("downloads CLIP from the Hub; the same calls run offline in tests/test_pipeline.py")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"docs/python_api.md[python block {index}]", "exec"), {"__name__": "__readme__"})
