"""The documentation: README.md keeps the newcomer's path, docs/ builds in strict mode."""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
README_MAX_BYTES = 15_000

FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} +(.+?) *$", re.MULTILINE)


def _prose(markdown: str) -> str:
    """Markdown without code blocks and inline code, where links are not links."""
    return INLINE_CODE.sub("", FENCE.sub("", markdown))


def _slug(heading: str) -> str:
    """The anchor Python-Markdown's toc extension gives a heading."""
    text = unicodedata.normalize("NFKD", heading.replace("`", ""))
    text = re.sub(r"[^\w\s-]", "", text.encode("ascii", "ignore").decode()).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _anchors(markdown: str) -> set[str]:
    return {_slug(h) for h in HEADING.findall(FENCE.sub("", markdown))}


def _nav_pages(nav: list[object]) -> set[str]:
    pages: set[str] = set()
    for item in nav:
        entries = item.values() if isinstance(item, dict) else [item]
        for entry in entries:
            if isinstance(entry, list):
                pages |= _nav_pages(entry)
            else:
                pages.add(str(entry))
    return pages


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built once, in strict mode, into a temporary folder."""
    out = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return out


def test_docs_build_in_strict_mode(site: Path) -> None:
    """The site builds with no warning: no broken link or anchor, no page left out of the nav."""
    assert (site / "index.html").is_file()


def test_security_page_includes_the_threat_model(site: Path) -> None:
    """The security page carries SECURITY.md itself, not a copy that could drift."""
    page = (site / "security" / "index.html").read_text(encoding="utf-8")
    assert "What was tried, and what held" in page


def test_every_page_is_in_the_nav() -> None:
    """The nav of mkdocs.yml lists exactly the Markdown pages in docs/."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert _nav_pages(config["nav"]) == pages


def test_readme_is_short() -> None:
    """README.md stays under 15,000 bytes: the rest belongs in docs/."""
    assert README.stat().st_size < README_MAX_BYTES


def _links_to_existing_docs_page(target: str, readme: str) -> bool:
    """Whether a README link points at the web, a README heading, or a docs page and anchor."""
    if target.startswith(("http://", "https://")):
        return True
    path, _, anchor = target.partition("#")
    if not path:
        return anchor in _anchors(readme)
    page = (ROOT / path).resolve()
    if page.parent != DOCS or page.suffix != ".md" or not page.is_file():
        return False
    return not anchor or anchor in _anchors(page.read_text(encoding="utf-8"))


def test_readme_links_only_to_docs_pages_that_exist() -> None:
    """Every relative link of README.md leads to one of its headings or an existing docs page."""
    readme = README.read_text(encoding="utf-8")
    broken = [
        target
        for target in LINK.findall(_prose(readme))
        if not _links_to_existing_docs_page(target, readme)
    ]
    assert broken == []
