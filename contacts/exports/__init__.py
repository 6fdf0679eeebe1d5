"""Exports: the column layout, the CSV and XLSX formats, and the export service that runs a scan
of the upstream into one of them and audits it. Nothing here knows about views or templates."""
