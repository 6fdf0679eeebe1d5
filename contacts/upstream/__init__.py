"""Everything that talks to Contactship: the client (the only importer of `requests`) over one
attempt and a retry policy, the call pool and the paging scan that walks every page of a result,
bulk lookups, the adaptive limit, the circuit breaker, the call limit, the error types and the
parsing of contacts. Nothing here knows about views, templates or file formats."""
