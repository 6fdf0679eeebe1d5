"""The project's URLs: login, the admin, and the contacts app."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import urls as auth_urls
from django.contrib.auth import views as auth_views
from django.urls import include, path

from contacts.login import LoginForm
from contacts.views import oidc

# Log in, log out, change password; the password-reset pages only when configured on purpose
# (DASHBOARD_PASSWORD_RESET): they send mail and invite guessing at accounts.
account_patterns = [
    pattern
    for pattern in auth_urls.urlpatterns
    if settings.DASHBOARD_PASSWORD_RESET or not pattern.name.startswith("password_reset")
]

urlpatterns = [
    # Sign-in with the identity provider (DASHBOARD_OIDC_ISSUER; 404 when it is not set).
    path("accounts/oidc/login/", oidc.oidc_login, name="oidc_login"),
    path("accounts/oidc/callback/", oidc.oidc_callback, name="oidc_callback"),
    # Inside a frame the sign-in runs in a pop-up window, which then signs the frame in.
    path("accounts/oidc/popup-done/", oidc.oidc_popup_done, name="oidc_popup_done"),
    path("accounts/oidc/handoff/", oidc.oidc_handoff, name="oidc_handoff"),
    # Django's logout, then the provider's session (RP-initiated logout) for an OIDC sign-in.
    path("accounts/logout/", oidc.logout, name="logout"),
    # Django's log-in, its form warning before the attempt that would pause it (django-axes).
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=LoginForm),
        name="login",
    ),
    path("accounts/", include(account_patterns)),
    path("admin/", admin.site.urls),
    # The language switcher posts here (set_language); the same for everybody, no data.
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("contacts.urls")),
]
