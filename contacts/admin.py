"""Django admin: memberships to edit, audit events to read (never to change)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from contacts.models import AuditEvent, Membership


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Where each membership came from: by hand (here, `add_member`) and/or the identity
    provider's groups, which each sign-in rewrites. Here only the hand grant is edited: its
    export right is the form's "may export"; the right that applies is the broader of the two."""

    list_display = [
        "user",
        "organisation_id",
        "can_export",
        "by_hand",
        "hand_export",
        "groups_grant",
        "updated_at",
    ]
    list_filter = ["organisation_id", "can_export", "by_hand", "groups_grant"]
    search_fields = ["user__username", "organisation_id"]
    autocomplete_fields = ["user"]
    fields = ["user", "organisation_id", "can_export", "groups_grant"]
    readonly_fields = ["groups_grant"]

    def save_model(self, request, obj: Membership, form, change) -> None:
        # What the administrator sets is the hand grant; the groups keep their own part.
        obj.by_hand = True
        obj.hand_export = form.cleaned_data.get("can_export", False)
        super().save_model(request, obj, form, change)


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
        "request_id",
    ]
    list_filter = ["kind", "outcome", "source", "method", "export_format", "organisation_id"]
    search_fields = ["username", "organisation_id", "request_id"]
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
