"""`manage.py` commands: memberships, exports from a terminal, and the local demo stack."""
