"""The contact vocabulary, below every other package: the typed contact, the search's filters,
columns, identifiers and how values read. No I/O, and nothing from the packages above."""
