"""The documentation against what it documents: every environment variable the settings read has
an entry in the configuration reference, every `make` target and `manage.py` command the pages
and the README name exists, the README stays one page, and the site builds (warnings as errors,
nothing fetched from the network)."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import get_commands

from tests.support import ROOT

DOCS = ROOT / "docs"
README = ROOT / "README.md"
CONFIGURATION = DOCS / "admins" / "configuration.md"
# Every module that reads the environment for the running dashboard: the settings package and
# the production server's configuration.
READERS = [
    *sorted((ROOT / "dashboard" / "settings").glob("*.py")),
    ROOT / "dashboard" / "gunicorn.py",
]
README_LIMIT = 10_000
ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


def pages() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


# --- environment variables ---------------------------------------------------------------------


def _is_environ(node: ast.expr) -> bool:
    """`os.environ`, `env` or `_env` (django-environ's reader)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ" and isinstance(node.value, ast.Name) and node.value.id == "os"
    return isinstance(node, ast.Name) and node.id in {"env", "_env"}


def _name(node: ast.expr) -> str | None:
    is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
    return node.value if is_text and ENV_NAME.fullmatch(node.value) else None


def environment_reads(source: str) -> set[str]:
    """The variable names a module reads: `env("X")`, `env.int("X", ...)`, `os.environ.get("X")`,
    `os.getenv("X")`, `os.environ["X"]`, `"X" in env` / `os.environ`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            reads = _is_environ(func) or (
                isinstance(func, ast.Attribute)
                and (
                    _is_environ(func.value)
                    or (func.attr == "getenv" and isinstance(func.value, ast.Name))
                )
            )
            # os.environ.setdefault writes a default for a later read, which is counted there.
            if reads and not (isinstance(func, ast.Attribute) and func.attr == "setdefault"):
                names.add(_name(node.args[0]) or "")
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            names.add(_name(node.slice) or "")
        elif isinstance(node, ast.Compare) and any(_is_environ(c) for c in node.comparators):
            names.add(_name(node.left) or "")
    return names - {""}


def settings_variables() -> set[str]:
    names: set[str] = set()
    for path in READERS:
        names |= environment_reads(path.read_text(encoding="utf-8"))
    return names


def documented_entries(text: str) -> dict[str, str]:
    """Variable → the meaning given for it: a table row `| `NAME` | meaning | default |` (the
    first cell may name several variables), or a definition list's term and its `: meaning`."""
    entries: dict[str, str] = {}
    lines = text.splitlines()
    for number, line in enumerate(lines):
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 3 and not set(cells[1]) <= set("-: "):
            for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0]):
                entries[name] = cells[1]
        following = lines[number + 1] if number + 1 < len(lines) else ""
        if following.startswith(": "):
            for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", line):
                entries.setdefault(name, following[2:])
    return entries


def test_the_reader_finds_the_settings_own_variables():
    found = settings_variables()
    # One of each way of reading: env.<type>, `in env`, os.environ.get, and the server's.
    assert {
        "DJANGO_DEBUG",
        "DATABASE_URL",
        "CONTACTSHIP_ORGANISATIONS",
        "DJANGO_SETTINGS_MODULE",
        "GUNICORN_BIND",
        "DASHBOARD_GROUP_MEMBERSHIPS",
    } <= found
    assert len(found) > 80
    assert environment_reads('x = env.int("A_B", default=env.int("C", default=1))') == {"A_B", "C"}
    assert environment_reads('os.environ.setdefault("D", "1")\nos.getenv("E")') == {"E"}


def test_every_environment_variable_has_an_entry_in_the_configuration_reference():
    entries = documented_entries(CONFIGURATION.read_text(encoding="utf-8"))
    missing = sorted(settings_variables() - entries.keys())
    assert not missing, f"not documented in {CONFIGURATION.relative_to(ROOT)}: {missing}"
    unexplained = sorted(name for name in settings_variables() if len(entries[name]) < 10)
    assert not unexplained, f"documented without a meaning: {unexplained}"


def test_the_configuration_reference_is_not_a_listing_of_the_settings():
    text = CONFIGURATION.read_text(encoding="utf-8")
    assert not re.search(r"\benv\.(str|int|bool|float|list|json|db|path)\(|os\.environ", text)


# --- commands named in the pages ----------------------------------------------------------------


def code_in(text: str) -> list[str]:
    """The code of a Markdown page: fenced blocks and inline code spans."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return blocks + re.findall(r"`([^`\n]+)`", prose)


def named_in_pages(pattern: str) -> dict[str, set[str]]:
    """Each name the pattern's group finds in the pages' code → the pages naming it."""
    found: dict[str, set[str]] = {}
    for path in pages():
        for code in code_in(path.read_text(encoding="utf-8")):
            for name in re.findall(pattern, code, flags=re.MULTILINE):
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][\w-]*):(?!=)", text, flags=re.MULTILINE))


def test_every_make_target_named_in_the_docs_exists():
    named = named_in_pages(r"(?:^|[\s`(])make ([a-z][\w-]*)")
    assert {"run", "test", "test-fast", "docs", "screenshots", "install"} <= named.keys()
    missing = {name: where for name, where in named.items() if name not in makefile_targets()}
    assert not missing, f"make targets the pages name but the Makefile lacks: {missing}"


def test_the_docs_targets_are_phony_and_run_by_ci():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    phony = re.search(r"^\.PHONY:(.*)$", makefile, flags=re.MULTILINE).group(1).split()
    assert {"docs", "screenshots"} <= set(phony)
    assert re.search(r"^make docs$", (ROOT / ".ci" / "run").read_text(), flags=re.MULTILINE)


def test_every_management_command_named_in_the_docs_exists():
    named = named_in_pages(r"manage\.py ([a-z][a-z_]*)")
    for name, where in named_in_pages(r'make manage ARGS="([a-z][a-z_]*)').items():
        named.setdefault(name, set()).update(where)
    assert {"add_member", "remove_member", "export_contacts", "check_keys"} <= named.keys()
    missing = {name: where for name, where in named.items() if name not in get_commands()}
    assert not missing, f"manage.py commands the pages name but Django lacks: {missing}"


# --- the README and the site --------------------------------------------------------------------


def test_the_readme_is_one_page():
    text = README.read_text(encoding="utf-8")
    assert len(text) <= README_LIMIT, f"README.md has {len(text)} characters"
    # The two set-up commands, the two screenshots and the way into the documentation.
    assert "make run" in text and "make test" in text and "make docs" in text
    images = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", text)
    assert len(images) == 2 and all((ROOT / image).is_file() for image in images)


def test_every_local_link_of_the_readme_exists():
    text = README.read_text(encoding="utf-8")
    links = [link.split("#")[0] for link in re.findall(r"\]\(([^)\s]+)\)", text)]
    missing = [link for link in links if "://" not in link and not (ROOT / link).exists()]
    assert not missing


ASSET = re.compile(
    r"""<(?:script|img|iframe|source)\b[^>]*\bsrc=["'](https?:)?//"""
    r"""|<link\b(?=[^>]*\brel=["'](?:stylesheet|preload|icon|modulepreload)["'])[^>]*\bhref=["'](https?:)?//"""
    r"""|url\(\s*["']?(?:https?:)?//""",
    re.IGNORECASE,
)


def sphinx_build(source: Path, out: Path) -> subprocess.CompletedProcess:
    """What `make docs` runs: warnings are errors, every one of them listed."""
    return subprocess.run(  # noqa: S603 - our own interpreter and Sphinx
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", source, out],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.mark.slow
def test_the_site_builds_with_warnings_as_errors_and_loads_nothing_remote(tmp_path):
    out = tmp_path / "html"
    build = sphinx_build(DOCS, out)
    assert build.returncode == 0, build.stderr
    html = sorted(out.rglob("*.html"))
    assert {"index.html", "configuration.html", "architecture.html"} <= {p.name for p in html}
    remote = [
        str(path.relative_to(out))
        for path in [*html, *out.rglob("*.css")]
        if ASSET.search(path.read_text(encoding="utf-8"))
    ]
    assert not remote, f"pages loading something from the network: {remote}"
    # Every screenshot the pages show was copied into the site.
    shown = {p.name for p in (out / "_images").iterdir()}
    assert {"search.png", "summary.png", "lookup.png", "error.png"} <= shown


@pytest.mark.slow
def test_a_broken_link_fails_the_build(tmp_path):
    """The build's strictness itself: a link to a page that does not exist is an error."""
    source = tmp_path / "docs"
    source.mkdir()
    (source / "conf.py").write_text((DOCS / "conf.py").read_text(encoding="utf-8"))
    (source / "index.md").write_text("# Title\n\n[Gone](gone.md)\n", encoding="utf-8")
    build = sphinx_build(source, tmp_path / "out")
    assert build.returncode != 0
    assert "gone.md" in build.stderr
