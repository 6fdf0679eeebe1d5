"""Everything that talks to Contactship: the client (the only importer of `requests`), the scan
engine that walks every page of a result, the circuit breaker, the call limit, the error types and
the parsing of contacts. Nothing here knows about views, templates or file formats."""
