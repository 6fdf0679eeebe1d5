"""Insights over a search: counts, facets and a chart, from a scan of the API's pages."""
