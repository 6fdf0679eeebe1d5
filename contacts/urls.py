"""The URLs under `/`: the home page and everything under `/orgs/<org_id>/contacts/`."""

from django.urls import path, register_converter

from contacts.exports.formats import DUPLICATE_FILES, EXPORTS, LOOKUP_FILES, converter
from contacts.views import (
    contact,
    duplicates,
    export,
    lookup,
    metrics,
    saved,
    search,
    status,
    summary,
)

# A format's name is the URL's extension: only the registry's formats match (others are 404).
register_converter(converter(EXPORTS), "export_format")
register_converter(converter(LOOKUP_FILES), "lookup_format")
register_converter(converter(DUPLICATE_FILES), "duplicates_format")

urlpatterns = [
    path("", search.home, name="home"),
    path("status/", status.status, name="status"),
    path("metrics", metrics.metrics_page, name="metrics"),
    path("orgs/<str:org_id>/contacts/", search.contact_list, name="contact_list"),
    path("orgs/<str:org_id>/views/", saved.view_list, name="saved_views"),
    path("orgs/<str:org_id>/views.json", saved.view_list_json, name="saved_views_json"),
    path("orgs/<str:org_id>/views/<slug:slug>/", saved.saved_view, name="saved_view"),
    path(
        "orgs/<str:org_id>/views/<slug:slug>/delete/",
        saved.saved_view_delete,
        name="saved_view_delete",
    ),
    path(
        "orgs/<str:org_id>/contacts/export.<export_format:fmt>",
        export.contact_export,
        name="contact_export",
    ),
    path("orgs/<str:org_id>/contacts/find/", lookup.contact_find, name="contact_find"),
    path("orgs/<str:org_id>/contacts/lookup/", lookup.contact_lookup, name="contact_lookup"),
    path(
        "orgs/<str:org_id>/contacts/lookup.<lookup_format:fmt>",
        lookup.contact_lookup_file,
        name="contact_lookup_file",
    ),
    path(
        "orgs/<str:org_id>/contacts/export-progress.json",
        export.contact_export_progress,
        name="contact_export_progress",
    ),
    path(
        "orgs/<str:org_id>/contacts/summary/",
        summary.contact_summary_page,
        name="contact_summary",
    ),
    path(
        "orgs/<str:org_id>/contacts/summary.json",
        summary.contact_summary_json,
        name="contact_summary_json",
    ),
    path(
        "orgs/<str:org_id>/contacts/duplicates/",
        duplicates.contact_duplicates,
        name="contact_duplicates",
    ),
    path(
        "orgs/<str:org_id>/contacts/duplicates.<duplicates_format:fmt>",
        duplicates.contact_duplicates_file,
        name="contact_duplicates_file",
    ),
    path(
        "orgs/<str:org_id>/contacts/<str:contact_id>/",
        contact.contact_detail,
        name="contact_detail",
    ),
    path(
        "orgs/<str:org_id>/contacts/<str:contact_id>/contact.vcf",
        contact.contact_vcard_download,
        name="contact_vcard",
    ),
]
