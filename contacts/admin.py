from django.contrib import admin

from .models import Membership


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation_id", "can_export", "updated_at"]
    list_filter = ["organisation_id", "can_export"]
    search_fields = ["user__username", "organisation_id"]
    autocomplete_fields = ["user"]
