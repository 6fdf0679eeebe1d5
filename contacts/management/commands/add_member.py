"""`manage.py add_member USERNAME ORG_ID [--can-export]`: grant (or update) a membership."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from contacts.models import Membership
from contacts.upstream.organisations import organisation_get


class Command(BaseCommand):
    help = (
        "Grant an existing user access to a configured organisation; running it again updates "
        "the export right."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("org_id")
        parser.add_argument(
            "--can-export", action="store_true", help="also allow downloading the contacts"
        )

    def handle(self, *args, username: str, org_id: str, can_export: bool, **options) -> None:
        user_model = get_user_model()
        try:
            user = user_model.objects.get(**{user_model.USERNAME_FIELD: username})
        except user_model.DoesNotExist:
            raise CommandError(
                f"No user {username!r}. Create it first (manage.py createsuperuser, or the admin)."
            ) from None
        if organisation_get(org_id) is None:
            raise CommandError(f"No organisation {org_id!r} in CONTACTSHIP_ORGANISATIONS.")
        membership, created = Membership.objects.get_or_create(
            user=user, organisation_id=org_id, defaults={"can_export": can_export}
        )
        if not created:
            # The hand grant; a grant from the person's groups keeps its own part.
            membership.by_hand, membership.hand_export = True, can_export
            if not membership.groups_grant:
                membership.can_export = can_export
            membership.save()
        verb = "Added" if created else "Updated"
        right = "may export" if membership.can_export else "may not export"
        self.stdout.write(self.style.SUCCESS(f"{verb}: {username} in {org_id} ({right})."))
