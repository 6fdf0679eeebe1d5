"""The test suite's settings: the development defaults, asked for explicitly.

`DJANGO_DEBUG` defaults to off so that a forgotten variable fails closed; the suite (pytest reads
this module, see pyproject.toml) chooses development mode itself unless the environment says
otherwise. Being inside the `dashboard.settings` package, this module is imported after the
package, which therefore sets that default itself when DJANGO_SETTINGS_MODULE names this module.
Servers the tests start name `dashboard.settings` and their variables themselves.
"""

from dashboard.settings import *
