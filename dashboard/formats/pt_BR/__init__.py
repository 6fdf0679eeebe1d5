"""Brazilian Portuguese formats (see formats.py)."""
