"""`manage.py export_contacts`: the same export from the command line."""

import csv
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from contacts.demo.data import matches
from contacts.demo.faults import Faults
from contacts.models import AuditEvent

pytestmark = pytest.mark.django_db


def read_ids(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return [row[0] for row in list(csv.reader(f))[1:]]


def test_exports_the_matching_contacts_to_a_file(upstream, tmp_path, capsys):
    target = tmp_path / "ana.csv"
    call_command("export_contacts", "org-tejo", "--full-name", "ana", "--output", str(target))
    expected = [c["id"] for c in matches("org-tejo", full_name="ana")]
    assert read_ids(target) == expected
    assert f"Wrote {len(expected)} contacts" in capsys.readouterr().out
    event = AuditEvent.objects.get(kind="export")
    assert (event.source, event.outcome, event.rows) == ("command", "completed", len(expected))
    assert event.username.startswith("command:")
    assert list(tmp_path.iterdir()) == [target]


def test_xlsx_and_phone_filters(upstream, tmp_path):
    import openpyxl

    target = tmp_path / "out.xlsx"
    call_command(
        "export_contacts", "org-tejo", "--phone-number", "+55 21", "--format", "xlsx",
        "--output", str(target),
    )  # fmt: skip
    sheet = openpyxl.load_workbook(target).active
    ids = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert ids == [c["id"] for c in matches("org-tejo", phone_number="+5521")]


def test_the_dashboards_own_filters_as_on_the_search_page(upstream, tmp_path):
    target = tmp_path / "mar-brasil.csv"
    call_command(
        "export_contacts", "org-tejo", "--full-name", "mar", "--country", "brasil",
        "--created-from", "2019-01-01", "--output", str(target),
    )  # fmt: skip
    with target.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    expected = [
        c["id"]
        for c in matches("org-tejo", full_name="mar")
        if (c.get("country") or "").casefold() == "brasil"
    ]
    assert expected  # the demo has some
    assert [row["id"] for row in rows] == expected
    with pytest.raises(CommandError, match="--created-from"):
        call_command(
            "export_contacts", "org-tejo", "--created-from", "last week",
            "--output", str(tmp_path / "x.csv"),
        )  # fmt: skip


def test_a_failure_midway_exits_nonzero_and_leaves_no_file(faulty, tmp_path):
    faulty(Faults(fail_from_offset=100))
    target = tmp_path / "harbor.csv"
    with pytest.raises(CommandError, match="Export failed: Contactship is not answering"):
        call_command("export_contacts", "org-harbor", "--output", str(target))
    assert list(tmp_path.iterdir()) == []
    assert AuditEvent.objects.get(kind="export").outcome == "failed"


def test_an_existing_file_is_kept_when_the_export_fails(faulty, tmp_path):
    faulty(Faults(status=401))
    target = tmp_path / "harbor.csv"
    target.write_text("yesterday's export")
    with pytest.raises(CommandError, match="refused"):
        call_command("export_contacts", "org-harbor", "--output", str(target))
    assert target.read_text() == "yesterday's export"


def test_bad_arguments_are_explained(upstream, tmp_path):
    with pytest.raises(CommandError, match="No organisation 'nowhere'"):
        call_command("export_contacts", "nowhere", "--output", str(tmp_path / "x.csv"))
    with pytest.raises(CommandError, match="--phone-number: Use digits only"):
        call_command(
            "export_contacts", "org-tejo", "--phone-number", "abc", "--output", str(tmp_path / "x")
        )
    with pytest.raises(CommandError, match="does not exist"):
        call_command("export_contacts", "org-tejo", "--output", str(tmp_path / "no" / "x.csv"))


def test_an_export_over_the_page_cap_says_so_not_that_contactship_failed(
    upstream, settings, tmp_path
):
    settings.CONTACTSHIP_MAX_EXPORT_PAGES = 3  # org-tejo's 2,345 contacts need 24 pages
    target = tmp_path / "tejo.csv"
    with pytest.raises(CommandError) as raised:
        call_command("export_contacts", "org-tejo", "--output", str(target))
    message = str(raised.value)
    assert "Export failed: This export is too large" in message
    assert "not answering" not in message
    assert "ExportTooLarge" in message
    assert list(tmp_path.iterdir()) == []
