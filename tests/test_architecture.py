"""The architecture the folders show, checked: import contracts kept, every module saying what
it is for, and no CPU pinning left."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(
    path
    for package in ("contacts", "dashboard")
    for path in (ROOT / package).rglob("*.py")
    if "migrations" not in path.parts
)


def test_the_import_contracts_are_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(  # noqa: S603 - our own virtualenv's tool
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken." in result.stdout


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
