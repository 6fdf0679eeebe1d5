"""The contacts app. Its folders show the architecture, one way down:

- the web layer at the top level: `views`, `filters`, `tables`, `middleware`, `access`, `auth`,
  `health`, `templatetags/`, with `models` (users' memberships and the audit, never contacts);
- `exports/`: the column layout, the CSV and XLSX formats and the export service;
- `upstream/`: everything that talks to Contactship (the client, the scan engine, the breaker,
  the call limit, the error types, the parsing of contacts);
- `demo/`: the bundled demo Contactship API, standing alone.

`make lint` checks the layering with import-linter (contracts in pyproject.toml).
"""
