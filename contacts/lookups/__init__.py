"""Bulk lookup's input: the form, the bounded upload, and reading pasted text, CSV and XLSX."""
