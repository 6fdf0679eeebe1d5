"""`manage.py check_keys`: one call per organisation with its key, and a table of the answers.

For an operator rotating keys: the organisation, where its key comes from, the key's last four
characters (enough to tell two keys apart, nothing to use), and what Contactship answered. The
previous key of a rotation, when there is one, is named and tried too. Exits with status 1 when
any current key is not accepted.
"""

from django.core.management.base import BaseCommand, CommandError

from contacts.upstream.client import contactship_client
from contacts.upstream.organisations import KeySource, organisation_list

HEADERS = ("organisation", "key source", "key", "answer")


class Command(BaseCommand):
    help = "Call Contactship once per organisation with its key and show what it answered."

    def handle(self, *args, **options) -> None:
        client = contactship_client()
        rows: list[tuple[str, str, str, str]] = []
        failed = []
        for organisation in organisation_list():
            answer = client.check_key(organisation)
            if answer != "ok":
                failed.append(organisation.id)
            rows.append(_row(organisation.id, organisation.key_source, answer))
            if organisation.previous_api_key:
                previous = client.check_key(organisation, previous=True)
                rows.append(_row("  previous", organisation.previous_key_source, previous))
        self._table(rows)
        if failed:
            raise CommandError(f"Not accepted: {', '.join(failed)}.")

    def _table(self, rows: list[tuple[str, str, str, str]]) -> None:
        widths = [max(len(r[i]) for r in (HEADERS, *rows)) for i in range(len(HEADERS))]
        for row in (HEADERS, *rows):
            self.stdout.write(
                "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )


def _row(label: str, source: KeySource, answer: str) -> tuple[str, str, str, str]:
    shown = (
        f"…{source.last_four}" if source.last_four else ("(short)" if source.read() else "(none)")
    )
    return (label, source.description, shown, answer)
