"""Django admin: memberships to edit, audit events to read (never to change)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from contacts.models import AuditEvent, Membership


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    # Where each membership came from: by hand (here, `add_member`) or the identity provider's
    # groups, which each sign-in rewrites; only hand-granted ones are for editing here.
    list_display = ["user", "organisation_id", "can_export", "source", "updated_at"]
    list_filter = ["organisation_id", "can_export", "source"]
    search_fields = ["user__username", "organisation_id"]
    autocomplete_fields = ["user"]
    readonly_fields = ["source"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: an audit trail that administrators could edit would prove nothing."""

    list_display = [
        "at",
        "kind",
        "username",
        "organisation_id",
        "outcome_shown",
        "path",
        "ip_address",
        "source",
        "method",
        "changes",
        "export_format",
        "rows",
        "bytes",
        "duration_ms",
    ]
    list_filter = ["kind", "outcome", "source", "method", "export_format", "organisation_id"]
    search_fields = ["username", "organisation_id"]
    date_hierarchy = "at"

    @admin.display(description=_("outcome"), ordering="outcome")
    def outcome_shown(self, event: AuditEvent) -> str:
        return AuditEvent.Outcome(event.shown_outcome).label if event.shown_outcome else ""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
