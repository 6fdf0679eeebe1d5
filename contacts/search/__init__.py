"""The search: the filter form, the search object (request to state to results to links), and the
results table."""
