"""Every string a person reads is in the Spanish catalogue, translated, and compiled."""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.utils.translation.template import templatize

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "es" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
PY_FUNCTIONS = {"_", "gettext", "gettext_lazy", "pgettext", "pgettext_lazy"}
# What Django's templatize() writes for {% translate %} and {% blocktranslate %}, as xgettext reads.
TEMPLATE_CALL = re.compile(r"\b(p?gettext)\((?:u'((?:[^'\\]|\\.)*)', )?u'((?:[^'\\]|\\.)*)'\)")


def _unquote(lines: list[str]) -> str:
    """The text of a .po string spread over quoted lines, its escapes undone."""
    text = "".join(re.fullmatch(r'"(.*)"', line.strip()).group(1) for line in lines)
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), text)


def read_po(path: Path) -> dict[tuple[str | None, str], str]:
    """{(context, msgid): msgstr} of a .po file, without the header; fails on a fuzzy entry."""
    entries = {}
    for block in path.read_text(encoding="utf-8").strip().split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#")]
        assert "#, fuzzy" not in block or block.startswith("# "), f"fuzzy entry:\n{block}"
        fields: dict[str, list[str]] = {}
        current = None
        for line in lines:
            keyword, _, rest = line.partition(" ")
            if keyword in ("msgctxt", "msgid", "msgid_plural", "msgstr") or re.fullmatch(
                r"msgstr\[\d\]", keyword
            ):
                current = keyword
                fields[current] = [rest]
            else:
                fields[current].append(line)
        msgid = _unquote(fields["msgid"])
        if not msgid:
            continue
        context = _unquote(fields["msgctxt"]) if "msgctxt" in fields else None
        if "msgid_plural" in fields:
            # A plural entry is translated when every one of its forms is.
            forms = [_unquote(v) for k, v in fields.items() if k.startswith("msgstr[")]
            entries[(context, msgid)] = forms[0] if forms and all(forms) else ""
        else:
            entries[(context, msgid)] = _unquote(fields["msgstr"])
    return entries


def template_strings() -> set[tuple[str | None, str]]:
    found = set()
    for path in (ROOT / "templates").rglob("*.html"):
        code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
        for _function, context, message in TEMPLATE_CALL.findall(code):
            unescaped = message.replace("\\'", "'").replace("\\\\", "\\")
            found.add((context or None, unescaped))
    return found


def python_strings() -> set[tuple[str | None, str]]:
    found = set()
    for package in ("contacts", "dashboard"):
        for path in (ROOT / package).rglob("*.py"):
            if "demo" in path.parts or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                    continue
                args = [a.value for a in node.args if isinstance(a, ast.Constant)]
                if node.func.id not in PY_FUNCTIONS or len(args) != len(node.args) or not args:
                    continue
                if node.func.id.startswith("p"):
                    found.add((args[0], args[1]))
                else:
                    found.add((None, args[0]))
    return found


@pytest.fixture(scope="module")
def catalogue():
    return read_po(PO)


def test_the_finders_find_strings():
    assert (None, "Skip to content") in template_strings()
    assert (None, "Contacts %(first)s–%(last)s") in template_strings()
    assert (None, "Contactship is not answering") in python_strings()


def test_every_string_is_in_the_spanish_catalogue(catalogue):
    missing = sorted(m for m in template_strings() | python_strings() if m not in catalogue)
    assert not missing, f"not in {PO.relative_to(ROOT)} (run makemessages -l es): {missing}"


def test_every_entry_is_translated(catalogue):
    untranslated = [msgid for (_, msgid), msgstr in catalogue.items() if not msgstr]
    assert not untranslated, untranslated


def test_the_compiled_catalogue_matches(catalogue):
    with MO.open("rb") as file:
        compiled = gettext.GNUTranslations(file)

    def compiled_text(context, msgid):
        text = compiled.pgettext(context, msgid) if context else compiled.gettext(msgid)
        if text == msgid:  # a plural entry: its singular form
            text = (
                compiled.npgettext(context, msgid, msgid, 1)
                if context
                else compiled.ngettext(msgid, msgid, 1)
            )
        return text

    stale = [
        msgid
        for (context, msgid), msgstr in catalogue.items()
        if compiled_text(context, msgid) != msgstr
    ]
    assert not stale, f"{MO.relative_to(ROOT)} is older than the .po (run compilemessages): {stale}"
