"""The contact vocabulary, below every other package: the typed contact, the search's filters,
columns, identifiers, country names and how values read. No I/O (beyond reading Babel's bundled
locale data for country names, once per process), and nothing from the packages above."""
