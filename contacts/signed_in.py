"""The signed-in user, from the cache rather than the database on every request.

Django's `AuthenticationMiddleware` reads the user's row for each request: on the search page,
the one query, about half a millisecond before the call to Contactship can leave.
`SignedInUserMiddleware`, right after it, keeps the row in the cache for
DASHBOARD_ACCESS_CACHE_SECONDS, as the rights are kept (`contacts.access`), and forgets it
whenever the row is saved or deleted: through the dashboard, the admin or a command (signing in,
a password set, a person deactivated), the next request reads the row again.

The cache never holds the password hash. It keeps the row without it (the user's `password` is
left deferred: read from the database if a page ever asks for it) and the session auth hash,
the value every session of that user already holds. A session whose hash is not that one (a
password changed, a rotated SECRET_KEY) goes Django's own way, which ends the session or
updates it, and so does everything that is not a plain signed-in session.
"""

from collections.abc import Callable

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.cache import cache as django_cache
from django.db import router
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from contacts.cache import TolerantCache

USER_KEY = "signed-in-user:{user_id}"
# A cache that is down answers as a miss: the database decides.
cache = TolerantCache(django_cache)


class SignedInUserMiddleware:
    """Right after Django's `AuthenticationMiddleware`: its `request.user`, from the cache when
    it can. A user an earlier middleware has read already is left as it is."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not hasattr(request, "_cached_user"):
            request.user = SimpleLazyObject(lambda: signed_in_user(request))
        return self.get_response(request)


def signed_in_user(request: HttpRequest):
    # Kept where Django's own `get_user` keeps it, so that both give the same object.
    if not hasattr(request, "_cached_user"):
        request._cached_user = _kept_user(request) or _user_from_database(request)
    return request._cached_user


def _kept_user(request: HttpRequest):
    """The session's user from the cache, or None: not cached, or a session Django must check."""
    session = request.session
    user_id = session.get(SESSION_KEY)
    backend = session.get(BACKEND_SESSION_KEY)
    session_hash = session.get(HASH_SESSION_KEY)
    if not (user_id and backend and session_hash):
        return None
    if backend not in settings.AUTHENTICATION_BACKENDS:
        return None
    kept = cache.get(USER_KEY.format(user_id=user_id))
    if not isinstance(kept, dict) or kept.get("backend") != backend:
        return None
    if not constant_time_compare(session_hash, kept.get("auth_hash", "")):
        return None
    model = auth.get_user_model()
    fields = kept["fields"]
    # In the model's order; a field the copy lacks stays deferred, as the password does.
    names = [f.attname for f in model._meta.concrete_fields if f.attname in fields]
    return model.from_db(router.db_for_read(model), names, [fields[name] for name in names])


def _user_from_database(request: HttpRequest):
    user = auth.get_user(request)  # flushes a session whose hash does not match
    user_id = request.session.get(SESSION_KEY)
    if user.is_authenticated and user_id is not None:
        fields = {
            field.attname: getattr(user, field.attname)
            for field in user._meta.concrete_fields
            if field.attname != "password"
        }
        # Plain values only: a copy made by another version of the code still reads.
        kept = {
            "backend": request.session[BACKEND_SESSION_KEY],  # the backend that signed them in
            "auth_hash": user.get_session_auth_hash(),  # what the session must hold
            "fields": fields,  # the row's values by attribute name, the password aside
        }
        cache.set(USER_KEY.format(user_id=user_id), kept, settings.DASHBOARD_ACCESS_CACHE_SECONDS)
    return user


def forget_user(user_id: object) -> None:
    cache.delete(USER_KEY.format(user_id=user_id))


@receiver([post_save, post_delete], sender=settings.AUTH_USER_MODEL)
def _user_changed(sender, instance, **kwargs) -> None:
    forget_user(instance.pk)
