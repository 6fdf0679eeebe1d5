"""Template filters for showing a contact's values to people."""
