from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Membership(models.Model):
    """A user's access to one Contactship organisation (configured in settings, not stored)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organisation_id = models.CharField(_("organisation id"), max_length=100, db_index=True)
    can_export = models.BooleanField(_("may export"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation_id"], name="unique_membership")
        ]
        ordering = ["organisation_id", "user_id"]

    def __str__(self) -> str:
        return f"{self.user} in {self.organisation_id}"
