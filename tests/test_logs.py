"""The operator's log lines: DASHBOARD_LOG_FORMAT chooses JSON or text; a JSON line holds the
record's own fields and never what Django or gunicorn carry beside them (the request, the query
string, headers)."""

import importlib
import json
import logging
import sys
import warnings

import pytest

from contacts.log import REQUEST_ID, JsonFormatter, RequestIdFilter, log_format
from tests.test_settings import settings_module_under


def record(name="contacts.x", msg="hello %s", args=("world",), **extra) -> logging.LogRecord:
    made = logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)
    made.__dict__.update(extra)
    return made


def formatted(made: logging.LogRecord) -> dict:
    RequestIdFilter().filter(made)
    line = JsonFormatter().format(made)
    assert "\n" not in line
    return json.loads(line)


def test_a_json_line_names_time_level_logger_event_and_request_id():
    token = REQUEST_ID.set("req-1")
    try:
        line = formatted(record())
    finally:
        REQUEST_ID.reset(token)
    assert line["event"] == "hello world" and line["level"] == "INFO"
    assert line["logger"] == "contacts.x" and line["request_id"] == "req-1"
    assert line["time"].endswith("Z") and line["time"][:4].isdigit()


def test_outside_a_request_the_request_id_is_null():
    assert formatted(record())["request_id"] is None


def test_the_request_django_puts_on_a_record_stays_out():
    class Request:
        def __repr__(self):
            return "<WSGIRequest: GET '/orgs/o/contacts/?full_name=Ana+Secret'>"

    line = formatted(
        record("django.request", "Not Found: %s", ("/x",), request=Request(), status_code=404)
    )
    assert line["status_code"] == 404
    assert "Ana" not in json.dumps(line) and "request" not in line


def test_gunicorns_access_line_has_its_fields_but_no_query_string_or_header():
    atoms = {
        "h": "10.0.0.5",
        "m": "GET",
        "U": "/orgs/o/contacts/",
        "q": "email=ana%40x.org",
        "r": "GET /orgs/o/contacts/?email=ana%40x.org HTTP/1.1",
        "s": "200",
        "B": 512,
        "M": 12,
        "f": "https://x/?phone=555",
        "{cookie}i": "sessionid=s3cret",
        "{x-request-id}o": "abc.1",
    }
    made = logging.LogRecord(
        "gunicorn.access", logging.INFO, __file__, 1, "%(m)s %(U)s %(s)s", (atoms,), None
    )
    line = formatted(made)
    assert line["event"] == "GET /orgs/o/contacts/ 200"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/orgs/o/contacts/", 200)
    assert (line["duration_ms"], line["bytes"], line["request_id"]) == (12, 512, "abc.1")
    text = json.dumps(line)
    assert "ana" not in text and "555" not in text and "s3cret" not in text


def test_a_traceback_stays_inside_its_line():
    try:
        raise ValueError("boom")
    except ValueError:
        made = record(exc_info=sys.exc_info())
    line = formatted(made)
    assert "ValueError: boom" in line["exc_info"]


@pytest.mark.parametrize(
    ("value", "debug", "expected"),
    [(None, False, "json"), ("", True, "text"), ("JSON", True, "json"), ("text", False, "text")],
)
def test_the_format_defaults_to_json_in_production_and_text_in_development(value, debug, expected):
    assert log_format(value, debug=debug) == expected


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="json or text"):
        log_format("xml", debug=False)


def test_the_settings_choose_the_console_formatter(monkeypatch):
    production = settings_module_under(monkeypatch, DJANGO_DEBUG="0", DJANGO_SECRET_KEY="k" * 50)
    assert production.LOGGING["handlers"]["console"]["formatter"] == "json"
    development = settings_module_under(monkeypatch)
    assert development.LOGGING["handlers"]["console"]["formatter"] == "text"
    chosen = settings_module_under(monkeypatch, DASHBOARD_LOG_FORMAT="json")
    assert chosen.LOGGING["handlers"]["console"]["formatter"] == "json"


@pytest.fixture
def _warnings_shown_again():
    yield
    logging.captureWarnings(False)


def gunicorn_config(monkeypatch, **variables: str):
    monkeypatch.delenv("DASHBOARD_LOG_FORMAT", raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delitem(sys.modules, "dashboard.gunicorn", raising=False)
    return importlib.import_module("dashboard.gunicorn")


@pytest.mark.usefixtures("_warnings_shown_again")
def test_gunicorns_lines_use_the_same_formatter_in_production(monkeypatch):
    production = gunicorn_config(monkeypatch, DJANGO_DEBUG="0")
    formatters = production.logconfig_dict["formatters"]
    assert formatters == {"json": {"()": "contacts.log.JsonFormatter"}}
    loggers = production.logconfig_dict["loggers"]
    assert {"gunicorn.error", "gunicorn.access"} <= loggers.keys()
    assert "request_id=%({x-request-id}o)s" in production.access_log_format
    assert "%(q)s" not in production.access_log_format
    assert warnings.showwarning.__module__ == "logging"  # warnings are logged lines too


def test_gunicorns_lines_stay_plain_in_development(monkeypatch):
    assert not hasattr(gunicorn_config(monkeypatch, DJANGO_DEBUG="1"), "logconfig_dict")
