"""Sign-in with the intranet's OpenID Connect provider, and memberships from its groups.

OIDC is on when DASHBOARD_OIDC_ISSUER is set: everything else about the provider (endpoints,
keys) comes from its discovery document, <issuer>/.well-known/openid-configuration. The flow is
social-core's OpenID Connect backend (authorization code, PKCE S256, state, nonce, ID token
validation), subclassed in contacts.oidc.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import env

DASHBOARD_OIDC_ISSUER = env.str("DASHBOARD_OIDC_ISSUER", default="").rstrip("/")
DASHBOARD_OIDC_CLIENT_ID = env.str("DASHBOARD_OIDC_CLIENT_ID", default="")
DASHBOARD_OIDC_NAME = env.str("DASHBOARD_OIDC_NAME", default="")
DASHBOARD_OIDC_SCOPES = env.str("DASHBOARD_OIDC_SCOPES", default="openid email profile").split()
DASHBOARD_GROUPS_CLAIM = env.str("DASHBOARD_GROUPS_CLAIM", default="groups")
DASHBOARD_OIDC_RECHECK_SECONDS = env.int("DASHBOARD_OIDC_RECHECK_SECONDS", default=900)
# Whom to ask for access, on the "no organisation" page (a name, an address, a team).
DASHBOARD_ACCESS_CONTACT = env.str("DASHBOARD_ACCESS_CONTACT", default="")
# Group name -> list of grants, "<org_id>" (view) or "<org_id>:export". Checked by
# contacts.checks (an unknown organisation is an error); read by contacts.memberships.
DASHBOARD_GROUP_MEMBERSHIPS = env.json("DASHBOARD_GROUP_MEMBERSHIPS", default={})

# The client secret, or a file holding it (container secrets; read when needed, so a rotated
# secret applies without a restart). contacts.oidc reads both.
DASHBOARD_OIDC_CLIENT_SECRET = env.str("DASHBOARD_OIDC_CLIENT_SECRET", default="")
DASHBOARD_OIDC_CLIENT_SECRET_FILE = env.str("DASHBOARD_OIDC_CLIENT_SECRET_FILE", default="")

if DASHBOARD_OIDC_ISSUER and not DASHBOARD_OIDC_CLIENT_ID:
    raise ImproperlyConfigured("DASHBOARD_OIDC_ISSUER is set: set DASHBOARD_OIDC_CLIENT_ID too.")

# social-auth-app-django reads these (SOCIAL_AUTH_<BACKEND NAME>_<SETTING>); the issuer, client,
# secret, scopes and groups claim it asks contacts.oidc.DashboardOIDC for, which reads the
# DASHBOARD_ settings above each time.
SOCIAL_AUTH_OIDC_IGNORE_DEFAULT_SCOPE = True
SOCIAL_AUTH_OIDC_USE_PKCE = True
SOCIAL_AUTH_OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
SOCIAL_AUTH_OIDC_GROUPS_MISSING_AS_EMPTY = True
# Every call to the provider (discovery, keys, token, userinfo) is bounded: connect, read.
SOCIAL_AUTH_REQUESTS_TIMEOUT = (2, 3)
SOCIAL_AUTH_URL_NAMESPACE = "social"
SOCIAL_AUTH_JSONFIELD_ENABLED = True
# Users are keyed on issuer and subject (contacts.oidc), never linked by email or username.
SOCIAL_AUTH_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "social_core.pipeline.social_auth.social_user",
    "contacts.oidc.refuse_administrators",
    "social_core.pipeline.user.get_username",
    "contacts.oidc.create_user",
    "social_core.pipeline.social_auth.associate_user",
    "social_core.pipeline.social_auth.load_extra_data",
    "contacts.oidc.refresh_details",
    "contacts.oidc.memberships_from_groups",
)
SOCIAL_AUTH_LOGIN_ERROR_URL = "/accounts/login/"
SOCIAL_AUTH_SANITIZE_REDIRECTS = True
