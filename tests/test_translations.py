"""Every string a person reads is in each language's catalogue, translated, and compiled; the
language is chosen by the browser or the switcher, and dates and numbers follow it."""

import ast
import gettext
import re
from datetime import datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import to_locale
from django.utils.translation.template import templatize

from contacts.demo.data import contacts_for

ROOT = Path(__file__).resolve().parent.parent
# Every language offered but English, the language the messages are written in.
TRANSLATED = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
PY_FUNCTIONS = {"_", "gettext", "gettext_lazy", "pgettext", "pgettext_lazy"}
# What Django's templatize() writes for {% translate %} and {% blocktranslate %}, as xgettext reads.
TEMPLATE_CALL = re.compile(r"\b(p?gettext)\((?:u'((?:[^'\\]|\\.)*)', )?u'((?:[^'\\]|\\.)*)'\)")
PROXY_TEMPLATE = ROOT / "deploy" / "nginx" / "dashboard.conf.template"


def po_path(language: str) -> Path:
    return ROOT / "locale" / to_locale(language) / "LC_MESSAGES" / "django.po"


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


def plural_counts(path: Path) -> tuple[int, list[int]]:
    """How many forms the header's Plural-Forms rule has, and how many each plural entry has."""
    header, *blocks = path.read_text(encoding="utf-8").strip().split("\n\n")
    text = "".join(re.findall(r'^"(.*)"$', header, re.MULTILINE))
    rule = re.search(r"Plural-Forms:\s*nplurals=(\d+);", text)
    forms = [
        len(re.findall(r"^msgstr\[\d+\]", b, re.MULTILINE)) for b in blocks if "msgid_plural" in b
    ]
    return (int(rule[1]) if rule else 0), forms


@pytest.fixture(scope="module", params=TRANSLATED)
def language(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def catalogue(language):
    return read_po(po_path(language))


def test_the_finders_find_strings():
    assert (None, "Skip to content") in template_strings()
    assert (None, "Contacts %(first)s–%(last)s") in template_strings()
    assert (None, "Contactship is not answering") in python_strings()


def test_spanish_and_brazilian_portuguese_are_offered():
    assert {"es", "pt-br"} <= set(TRANSLATED)
    assert settings.LANGUAGE_CODE == "en"


def test_every_string_is_in_the_catalogue(language, catalogue):
    missing = sorted(m for m in template_strings() | python_strings() if m not in catalogue)
    path = po_path(language).relative_to(ROOT)
    assert not missing, f"not in {path} (run makemessages -l {to_locale(language)}): {missing}"


def test_every_entry_is_translated(catalogue):
    untranslated = [msgid for (_, msgid), msgstr in catalogue.items() if not msgstr]
    assert not untranslated, untranslated


def test_every_plural_entry_has_each_form_its_rule_names(language):
    nplurals, forms = plural_counts(po_path(language))
    assert nplurals >= 2 and forms
    assert set(forms) == {nplurals}, f"{po_path(language).name} of {language}: {forms}"


@pytest.mark.parametrize(
    "n, text",
    [
        (0, "0 encontrado"),
        (1, "1 encontrado"),
        (2, "2 encontrados"),
        (1_000_000, "1000000 encontrados"),
    ],
)
def test_portuguese_counts_take_the_brazilian_plural(n, text):
    # Brazilian Portuguese, as gettext and Django's own catalogues have it: 0 and 1 singular.
    with translation.override("pt-br"):
        assert translation.ngettext("{n} found", "{n} found", n).format(n=n) == text


def test_the_compiled_catalogue_matches(language, catalogue):
    mo = po_path(language).with_suffix(".mo")
    with mo.open("rb") as file:
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
    assert not stale, f"{mo.relative_to(ROOT)} is older than the .po (run compilemessages): {stale}"


def test_the_proxys_own_pages_speak_every_language():
    pages = re.findall(
        r"location = (/_dashboard_\w+) \{(.*?)\n    \}",
        PROXY_TEMPLATE.read_text(encoding="utf-8"),
        re.DOTALL,
    )
    assert len(pages) == 2
    for name, page in pages:
        for code in TRANSLATED:
            tag = to_locale(code).replace("_", "-")
            assert f'<h1 lang="{tag}">' in page and f'<p lang="{tag}">' in page, (name, tag)


# --- the language chosen, and its formats --------------------------------------------------------

PORTUGUESE_LOGIN = ("<title>Entrar", "Nome de usuário", "Senha")


def login_page(client, **headers) -> str:
    response = client.get(reverse("login"), headers=headers)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ["pt-BR", "pt-BR,pt;q=0.9,en-US;q=0.8,en;q=0.7", "pt", "pt-PT"])
def test_a_portuguese_browser_gets_the_login_page_in_portuguese(client, accept):
    page = login_page(client, **{"Accept-Language": accept})
    assert '<html lang="pt-br">' in page
    for text in PORTUGUESE_LOGIN:
        assert text in page
    assert "Username" not in page and "Password" not in page
    # The switcher offers the other two languages, each named in itself.
    assert 'value="en"' in page and 'value="es"' in page and 'value="pt-br"' not in page
    assert "Idioma:" in page


@pytest.mark.django_db
def test_the_switcher_sets_portuguese_over_the_browsers_language(client):
    english = login_page(client, **{"Accept-Language": "en"})
    assert 'value="pt-br"' in english
    assert '<span lang="pt-br">Português Brasileiro</span>' in english
    response = client.post(
        reverse("set_language"), {"language": "pt-br", "next": "/accounts/login/"}
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "pt-br"
    page = login_page(client, **{"Accept-Language": "en"})
    assert '<html lang="pt-br">' in page
    for text in PORTUGUESE_LOGIN:
        assert text in page
    # And back to English.
    client.post(reverse("set_language"), {"language": "en", "next": "/accounts/login/"})
    assert "Username" in login_page(client, **{"Accept-Language": "pt-BR"})


PT = {"Accept-Language": "pt-BR"}


@pytest.mark.django_db
def test_numbers_are_grouped_the_brazilian_way(member_client, upstream, settings):
    settings.DASHBOARD_LOOKUP_MAX = 12345
    page = member_client.get(reverse("contact_lookup", args=["org-tejo"]), headers=PT)
    assert "Cole até 12.345 e-mails, telefones ou IDs de contato" in page.content.decode()


@pytest.mark.django_db
def test_dates_are_written_the_brazilian_way(member_client, upstream):
    contact = contacts_for("org-tejo")[0]
    created = datetime.fromisoformat(contact["created_at"])
    day, time = created.strftime("%d/%m/%Y"), created.strftime("%H:%M")
    detail = member_client.get(
        reverse("contact_detail", args=["org-tejo", contact["id"]]), headers=PT
    ).content.decode()
    assert f"{day} às {time} UTC</time>" in detail
    # The search page's short dates: day first, four-figure year.
    results = member_client.get(reverse("contact_list", args=["org-tejo"]), headers=PT)
    assert day in results.content.decode()


@pytest.mark.django_db
def test_the_status_pages_refusal_is_translated(member_client):
    response = member_client.get(reverse("status"), headers=PT)
    assert response.status_code == 403
    assert "Só administradores podem ver a página de status." in response.content.decode()
