"""A real OpenID Connect provider on loopback, for `make run`'s demo and the sign-in tests.

`python -m contacts.demo.oidc_provider --port N [--user SUB=JSON ...]` serves
oidc-provider-mock (a test-grade provider: discovery, keys, authorization code, token, userinfo,
refresh tokens, end-session; nonces required) and adds what that package lacks:

- PKCE: the mock ignores `code_challenge`; here the token endpoint refuses a code whose
  `code_verifier` does not hash (S256) to the challenge sent with it, or that was sent without one;
- a record of what the relying party sent, at `GET /_test/log` (the authorization requests'
  parameters, the token requests' grant types and whether a verifier came, the end-session
  requests' parameters), so tests can tell that PKCE, state and nonce were sent.

People are given with `--user` (shown as one-click buttons on its sign-in form) or set with
`PUT /users/<sub>` (a JSON object of claims, e.g. `groups`), as the mock documents; a person
signs in by posting `sub` to the authorization form. A development dependency: never for
production. Prints
"OIDC provider on http://127.0.0.1:N" once it listens.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import sys
import threading
from urllib.parse import parse_qs, urlparse

os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain HTTP, on loopback only

import flask
import oidc_provider_mock
from oidc_provider_mock import User
from werkzeug.serving import make_server


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def build_app(users: list[User]) -> flask.Flask:
    app = oidc_provider_mock.app(require_nonce=True, user_claims=users)
    log: dict[str, list] = {"authorize": [], "token": [], "end_session": []}
    challenges: dict[str, tuple[str, str]] = {}
    lock = threading.Lock()

    @app.before_request
    def check_pkce():
        request = flask.request
        if request.path == "/oauth2/end_session":
            with lock:
                log["end_session"].append(dict(request.values))
        if request.path != "/oauth2/token" or request.method != "POST":
            return None
        grant = request.form.get("grant_type", "")
        verifier = request.form.get("code_verifier")
        with lock:
            log["token"].append({"grant_type": grant, "code_verifier_sent": bool(verifier)})
            challenge = challenges.pop(request.form.get("code", ""), None)
        if grant != "authorization_code":
            return None
        if challenge is None or challenge[1] != "S256" or not verifier:
            return flask.jsonify(error="invalid_grant", error_description="PKCE required"), 400
        if s256(verifier) != challenge[0]:
            return flask.jsonify(error="invalid_grant", error_description="PKCE mismatch"), 400
        return None

    @app.after_request
    def remember_challenge(response: flask.Response) -> flask.Response:
        request = flask.request
        if request.path == "/oauth2/authorize" and request.method == "POST":
            args = request.args.to_dict()
            with lock:
                log["authorize"].append(args)
            query = parse_qs(urlparse(response.headers.get("Location", "")).query)
            if "code" in query:
                with lock:
                    challenges[query["code"][0]] = (
                        args.get("code_challenge", ""),
                        args.get("code_challenge_method", ""),
                    )
        return response

    @app.get("/_test/log")
    def test_log():
        with lock:
            return flask.jsonify(log)

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--user", action="append", default=[], help="SUB=JSON claims of a predefined person"
    )
    args = parser.parse_args(argv)
    users = []
    for entry in args.user:
        sub, _, claims = entry.partition("=")
        users.append(User(sub=sub, claims=json.loads(claims or "{}")))
    server = make_server(args.host, args.port, build_app(users), threaded=True)
    print(f"OIDC provider on http://{args.host}:{server.server_port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
