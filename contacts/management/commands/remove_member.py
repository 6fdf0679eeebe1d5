"""`manage.py remove_member USERNAME ORG_ID`: take a membership granted by hand away (one from
the identity provider's groups follows the groups: see DASHBOARD_GROUP_MEMBERSHIPS)."""

from django.core.management.base import BaseCommand, CommandError

from contacts.models import Membership


class Command(BaseCommand):
    help = "Take a user's access to an organisation away."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("org_id")

    def handle(self, *args, username: str, org_id: str, **options) -> None:
        membership = Membership.objects.filter(
            user__username=username, organisation_id=org_id, by_hand=True
        ).first()
        if membership is None:
            raise CommandError(f"{username!r} is not a member of {org_id!r}; nothing to remove.")
        if membership.groups_grant:
            membership.by_hand, membership.hand_export = False, False
            membership.save()
        else:
            membership.delete()
        self.stdout.write(self.style.SUCCESS(f"Removed: {username} from {org_id}."))
        if membership.groups_grant:
            self.stdout.write(
                f"{username} keeps {org_id} through a group of the identity provider "
                "(DASHBOARD_GROUP_MEMBERSHIPS) for as long as they are in it."
            )
