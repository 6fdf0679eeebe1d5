"""The test suite's settings: the development defaults, asked for explicitly.

`DJANGO_DEBUG` defaults to off so that a forgotten variable fails closed; the suite (pytest reads
this module, see pyproject.toml) chooses development mode itself unless the environment says
otherwise. Servers the tests start name `dashboard.settings` and their variables themselves.
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")

from dashboard.settings import *  # noqa: F403
