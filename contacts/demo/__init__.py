"""A bundled demo of the Contactship contacts API, for development, demos and tests.

- ``data``: the seeded, deterministic contacts of three demo organisations (and the filters).
- ``faults``: the failures the server can simulate.
- ``server``: the HTTP server (``make_server``, ``serve_in_thread``); ``handler``: its answers.
- ``python -m contacts.demo``: run it from the command line.
"""
