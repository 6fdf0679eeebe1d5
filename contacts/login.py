"""The password log-in form: Django's, saying so before the attempt that would pause it.

django-axes pauses logging in with a name from an address after AXES_FAILURE_LIMIT failures
(for AXES_COOLOFF_TIME). The form tells a person whose next failure would do that, so that the
last try is a careful one (or a call to an administrator) rather than a surprise.
"""

from datetime import timedelta

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_credentials, get_failure_limit
from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def whole_minutes(delta: timedelta | None) -> int:
    """A duration in whole minutes, rounded up (a pause of 90 seconds is "2 minutes")."""
    seconds = delta.total_seconds() if delta else 0
    return max(1, -(-int(seconds) // 60))


class LoginForm(AuthenticationForm):
    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError as failed:
            warning = self._last_attempt_warning()
            if warning is None:
                raise
            raise forms.ValidationError([*failed.error_list, warning]) from None

    def _last_attempt_warning(self) -> forms.ValidationError | None:
        """The warning when one attempt is left before the pause, else None."""
        username = self.cleaned_data.get("username")
        if not username or self.request is None:
            return None
        credentials = get_credentials(username)
        failures = AxesProxyHandler.get_failures(self.request, credentials)
        if get_failure_limit(self.request, credentials) - failures != 1:
            return None
        pause = get_cool_off(self.request)
        if pause is None:
            message = _(
                "One attempt left: after one more failure, logging in with this name from here "
                "is paused until an administrator unlocks it."
            )
        else:
            minutes = whole_minutes(pause)
            message = ngettext(
                "One attempt left: after one more failure, logging in with this name from here "
                "is paused for %(minutes)s minute.",
                "One attempt left: after one more failure, logging in with this name from here "
                "is paused for %(minutes)s minutes.",
                minutes,
            ) % {"minutes": minutes}
        return forms.ValidationError(message, code="last_attempt")
