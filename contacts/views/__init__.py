"""The web layer: one short module per page; each parses the request, calls a service and
renders the answer."""
