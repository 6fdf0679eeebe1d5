"""`manage.py link_identity USERNAME SUB [--issuer URL]`: let an existing account sign in with
the identity provider, as the person whose subject (`sub` claim) is SUB.

The dashboard never links accounts by email (an address can be reused); an administrator does it
here, or in the admin (*User social auths*). Staff and superusers cannot be linked: they sign in
with their password."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from social_django.models import UserSocialAuth

from contacts.oidc import identity_uid


class Command(BaseCommand):
    help = "Link an existing user to an identity of the OpenID Connect provider (issuer + sub)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("sub", help="the person's `sub` claim at the provider")
        parser.add_argument(
            "--issuer", default="", help="the provider's issuer (default DASHBOARD_OIDC_ISSUER)"
        )

    def handle(self, *args, username: str, sub: str, issuer: str, **options) -> None:
        issuer = issuer or settings.DASHBOARD_OIDC_ISSUER.rstrip("/")
        if not issuer:
            raise CommandError("Set DASHBOARD_OIDC_ISSUER, or give --issuer.")
        user_model = get_user_model()
        try:
            user = user_model.objects.get(**{user_model.USERNAME_FIELD: username})
        except user_model.DoesNotExist:
            raise CommandError(f"No user {username!r}.") from None
        if user.is_staff or user.is_superuser:
            raise CommandError(
                f"{username!r} is an administrator: administrators sign in with their password."
            )
        uid = identity_uid(issuer, sub)
        other = UserSocialAuth.objects.filter(provider="oidc", uid=uid).exclude(user=user)
        if other.exists():
            raise CommandError(f"That identity already signs in as {other.get().user}.")
        UserSocialAuth.objects.get_or_create(
            provider="oidc", uid=uid, id_key="sub", defaults={"user": user}
        )
        self.stdout.write(self.style.SUCCESS(f"Linked: {username} signs in as {sub} of {issuer}."))
