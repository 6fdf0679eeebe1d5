"""The architecture the folders show, checked: import contracts kept, every module saying what
it is for, and no CPU pinning left."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(
    path
    for package in ("contacts", "dashboard")
    for path in (ROOT / package).rglob("*.py")
    if "migrations" not in path.parts
)


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    tool = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(  # noqa: S603 - our own virtualenv's tool
        [str(tool), "--no-cache"],
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("module", "probe"),
    [
        # the contact vocabulary reaching up to a page
        ("contacts/contact/types.py", "import contacts.views.search"),
        # a writer reaching up to the template tags
        ("contacts/exports/csv.py", "import contacts.templatetags.dashboard_ui"),
        # one attempt reaching up to the paging scan
        ("contacts/upstream/attempt.py", "import contacts.upstream.scan"),
        # the settings reaching up to the URLs
        ("dashboard/settings/base.py", "import dashboard.urls"),
    ],
)
def test_an_import_from_a_lower_layer_into_a_higher_one_fails_the_lint(tmp_path, module, probe):
    for name in ("contacts", "dashboard"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    assert lint_imports(tmp_path).returncode == 0  # the copy is as clean as the original
    target = tmp_path / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{probe}  # probe\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout


def test_every_module_starts_by_saying_what_it_is_for():
    silent = [
        str(path.relative_to(ROOT))
        for path in MODULES
        if not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert MODULES
    assert silent == [], f"modules without a docstring: {', '.join(silent)}"


def test_no_cpu_pinning_is_left():
    assert not (ROOT / "contacts" / "affinity.py").exists()
    for path in MODULES:
        assert "sched_setaffinity" not in path.read_text(encoding="utf-8"), path
