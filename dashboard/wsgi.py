"""WSGI entry point: `gunicorn dashboard.wsgi:application`."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

application = get_wsgi_application()

# A server's process keeps a minute-by-minute record of its calls for the status page.
from contacts.recent import snapshots  # noqa: E402 - the app must be set up first

snapshots.start()

# What the worker has loaded so far (Django, the apps, the settings: some 100,000 objects) lives
# as long as the process: the garbage collector stops traversing it, which it otherwise did in
# the middle of pages (0.7 ms of a search page's median, 2 ms of its 90th percentile).
gc.freeze()

# The names of every country in every language (`country` filter, the summary's countries): a
# process builds them once, in 0.5 to 2 s; on a thread now, rather than in the first summary.
from contacts.contact import countries  # noqa: E402 - the app must be set up first

countries.warm_up()
