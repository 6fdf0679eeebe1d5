"""What the database keeps: memberships (who may see and export which organisation) and audit
events. Never contacts."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.log import current_request_id

# A running export refreshes its audit event this often; one silent for EXPORT_SILENCE has
# stopped without ending (its process was killed, its machine lost).
EXPORT_HEARTBEAT = timedelta(seconds=15)
EXPORT_SILENCE = timedelta(seconds=90)


class Membership(models.Model):
    """A user's access to one Contactship organisation (configured in settings, not stored).

    It may come from two places at once: by hand (`add_member`, the admin) and from the
    person's groups at their identity provider (DASHBOARD_GROUP_MEMBERSHIPS), which each sign-in
    and re-check make match the groups exactly (contacts.memberships) without touching the hand
    grant. `can_export` is the right that applies: the broader of the two.
    """

    class GroupsGrant(models.TextChoices):
        NONE = "", _("none")
        VIEW = "view", _("search")
        EXPORT = "export", _("search and download")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organisation_id = models.CharField(_("organisation id"), max_length=100, db_index=True)
    can_export = models.BooleanField(_("may export"), default=False)
    by_hand = models.BooleanField(_("granted by hand"), default=True)
    hand_export = models.BooleanField(_("may export by hand"), default=False)
    groups_grant = models.CharField(
        _("from groups"), max_length=10, choices=GroupsGrant.choices, blank=True, default=""
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation_id"], name="unique_membership")
        ]
        ordering = ["organisation_id", "user_id"]

    def __str__(self) -> str:
        return f"{self.user} in {self.organisation_id}"

    def save(self, *args, **kwargs) -> None:
        if not self.groups_grant:
            # Granted by hand alone (add_member, the admin): its right is `can_export`.
            self.hand_export = self.can_export if self.by_hand else False
        else:
            self.can_export = (self.by_hand and self.hand_export) or (
                self.groups_grant == self.GroupsGrant.EXPORT
            )
        super().save(*args, **kwargs)


class AuditEvent(models.Model):
    """Who signed in or out, was refused, or exported or looked up which organisation's contacts.

    Never a contact's data (nor the values looked up), never a key, never a password.
    """

    class Kind(models.TextChoices):
        EXPORT = "export", _("export")
        LOOKUP = "lookup", _("bulk lookup")
        LOGIN = "login", _("login")
        LOGIN_FAILED = "login_failed", _("failed login")
        LOCKED_OUT = "locked_out", _("locked out")
        LOGOUT = "logout", _("logout")
        DENIED = "denied", _("access denied")

    class Outcome(models.TextChoices):
        # Written when an export starts; replaced by how it ended. One still "started" long
        # after its last sign of life never ended: its replica died (see `shown_outcome`).
        STARTED = "started", _("in progress")
        INTERRUPTED = "interrupted", _("interrupted")
        COMPLETED = "completed", _("completed")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled by the client")

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Kept as written at the time, so the record survives the user's deletion or renaming.
    username = models.CharField(max_length=150)
    organisation_id = models.CharField(
        _("organisation id"), max_length=100, blank=True, db_index=True
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    source = models.CharField(max_length=20, help_text=_("web or command"))
    path = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    export_format = models.CharField(_("format"), max_length=10, blank=True)
    filters = models.JSONField(default=dict, blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    bytes = models.PositiveBigIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    error = models.CharField(max_length=200, blank=True)
    # A sign-in's method (password, header, oidc) and the memberships it changed, e.g.
    # ["+org-tejo:export", "-org-andes"].
    method = models.CharField(_("method"), max_length=10, blank=True)
    changes = models.JSONField(_("changes"), default=list, blank=True)
    # The request that wrote the event (its X-Request-ID), to find its log lines and its calls
    # to Contactship; blank for a command.
    request_id = models.CharField(
        _("request id"), max_length=64, blank=True, default=current_request_id, db_index=True
    )
    # An export's last sign of life: set at its start, every EXPORT_HEARTBEAT while it streams,
    # and at its end.
    updated_at = models.DateTimeField(_("last heard of"), null=True, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.kind} {self.organisation_id}"

    @property
    def shown_outcome(self) -> str:
        """The outcome, with an export that stopped giving signs of life as "interrupted"."""
        if self.outcome == self.Outcome.STARTED:
            last = self.updated_at or self.at
            if timezone.now() - last > EXPORT_SILENCE:
                return self.Outcome.INTERRUPTED
        return self.outcome


class ColumnChoice(models.Model):
    """The columns a user last chose for an organisation's search page: names only (the keys of
    `columns=`), never a contact's data."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="column_choices"
    )
    organisation_id = models.CharField(_("organisation id"), max_length=100)
    columns = models.TextField(_("columns"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation_id"], name="unique_column_choice")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organisation_id}: {self.columns}"


class SessionTombstone(models.Model):
    """A session ended (logout, new login) while the shared cache could not be told: its cached
    copy would let the old cookie in again once the cache is back, so it is deleted from the
    cache then, and this row with it. Holds the session key only."""

    session_key = models.CharField(_("session key"), max_length=40, primary_key=True)
    ended_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"session ended at {self.ended_at:%Y-%m-%d %H:%M:%S}"


class SavedView(models.Model):
    """A search kept under a name: its query string (the API's filters, the dashboard's, the
    columns), never a contact. Private to its owner, or shared with everyone in the
    organisation; a shared view outlives its owner's account, a private one goes with it."""

    organisation_id = models.CharField(_("organisation id"), max_length=100, db_index=True)
    slug = models.SlugField(max_length=120)
    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="saved_views",
    )
    shared = models.BooleanField(_("shared with the organisation"), default=False)
    query = models.TextField(_("search"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation_id", "slug"], name="unique_view_slug"),
            models.UniqueConstraint(
                fields=["organisation_id", "name"],
                condition=models.Q(shared=True),
                name="unique_shared_view_name",
            ),
            models.UniqueConstraint(
                fields=["organisation_id", "owner", "name"],
                condition=models.Q(shared=False),
                name="unique_private_view_name",
            ),
        ]
        ordering = ["organisation_id", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation_id})"
