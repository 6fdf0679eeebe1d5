"""Run the demo Contactship API: ``python -m contacts.demo [--port 8001] [fault options]``.

The organisations and their API keys come from ``--organisations`` or the
``CONTACTSHIP_ORGANISATIONS`` environment variable, in the dashboard's own setting format, so the
dashboard and the demo server share keys. Without either, a random key is made per demo
organisation and the matching setting is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from contacts.demo import faults as fault_options
from contacts.demo.data import DEMO_ORGANISATIONS
from contacts.demo.faults import Faults
from contacts.demo.server import make_server

ENV_VAR = "CONTACTSHIP_ORGANISATIONS"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m contacts.demo",
        description="Serve a demo Contactship contacts API on loopback, with optional faults.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=8001, help="port to listen on (0: any free port)"
    )
    parser.add_argument(
        "--organisations",
        metavar="JSON",
        help=(
            'organisations as {"<org id>": {"name": ..., "api_key": ...}}; '
            f"default: ${ENV_VAR}, else random keys for the demo organisations"
        ),
    )
    parser.add_argument(
        "--verbose", action="store_true", help="log every request to stderr, with its X-Request-ID"
    )
    fault_options.add_arguments(parser)
    return parser


def parse_organisations(text: str) -> dict[str, str]:
    """Org id -> API key from the dashboard's setting; ValueError (never quoting a key) if bad."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg} at position {error.pos})") from None
    if not isinstance(parsed, dict) or not parsed:
        raise ValueError('expected a non-empty object {"<org id>": {"api_key": ...}}')
    organisations: dict[str, str] = {}
    for org_id, settings in parsed.items():
        if not org_id:
            raise ValueError("an organisation id is empty")
        key = settings.get("api_key") if isinstance(settings, dict) else None
        if not isinstance(key, str) or not key:
            raise ValueError(f"organisation {org_id!r} needs a non-empty string api_key")
        organisations[org_id] = key
    return organisations


def random_organisations() -> dict[str, dict[str, str]]:
    """The demo organisations in the dashboard's setting format, each with a fresh random key."""
    return {org.id: org.setting(secrets.token_urlsafe(24)) for org in DEMO_ORGANISATIONS.values()}


def _stop(signum: int, frame: FrameType | None) -> None:
    # SIGTERM ends the server like Ctrl-C: serve_forever unwinds and the server is closed.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    faults = Faults.from_args(args)

    source, text = "--organisations", args.organisations
    if text is None:
        source, text = ENV_VAR, os.environ.get(ENV_VAR, "").strip() or None
    if text is None:
        settings = random_organisations()
        # The only time a key is printed: the developer needs it to point the dashboard here.
        print(f"No organisations given; use these with the dashboard:\n{ENV_VAR}=", end="")
        print(shlex.quote(json.dumps(settings, ensure_ascii=False)), flush=True)
        organisations = {org_id: org["api_key"] for org_id, org in settings.items()}
    else:
        try:
            organisations = parse_organisations(text)
        except ValueError as error:
            parser.error(f"{source}: {error}")

    signal.signal(signal.SIGTERM, _stop)
    try:
        server = make_server(args.host, args.port, organisations, faults, verbose=args.verbose)
    except (OSError, ValueError) as error:
        parser.exit(1, f"{parser.prog}: cannot start on {args.host}:{args.port}: {error}\n")
    except KeyboardInterrupt:
        return 0  # stopped while generating the contacts

    print(f"Demo Contactship API on {server.base_url} (faults: {faults.describe()})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
