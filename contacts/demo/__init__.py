"""A bundled demo of the Contactship contacts API, for development, demos and tests.

- ``data``: the seeded, deterministic contacts of three demo organisations (and the filters).
- ``faults``: the failures the server can simulate.
- ``server``: the HTTP server (``make_server``, ``serve_in_thread``); ``handler``: its answers.
- ``python -m contacts.demo``: run it from the command line.
- ``oidc_provider``: a demo OpenID Connect provider (a test-grade package with PKCE checking
  added), for ``make run``'s "Sign in with" and the sign-in tests; a development dependency.
"""
