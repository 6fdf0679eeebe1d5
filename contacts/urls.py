"""The URLs under `/`: the home page and everything under `/orgs/<org_id>/contacts/`."""

from django.urls import path

from contacts.views import contact, export, lookup, search, summary

urlpatterns = [
    path("", search.home, name="home"),
    path("orgs/<str:org_id>/contacts/", search.contact_list, name="contact_list"),
    path(
        "orgs/<str:org_id>/contacts/export.csv",
        export.contact_export,
        {"fmt": "csv"},
        name="contact_export_csv",
    ),
    path(
        "orgs/<str:org_id>/contacts/export.xlsx",
        export.contact_export,
        {"fmt": "xlsx"},
        name="contact_export_xlsx",
    ),
    path("orgs/<str:org_id>/contacts/find/", lookup.contact_find, name="contact_find"),
    path("orgs/<str:org_id>/contacts/lookup/", lookup.contact_lookup, name="contact_lookup"),
    path(
        "orgs/<str:org_id>/contacts/lookup.csv",
        lookup.contact_lookup_file,
        {"fmt": "csv"},
        name="contact_lookup_csv",
    ),
    path(
        "orgs/<str:org_id>/contacts/lookup.xlsx",
        lookup.contact_lookup_file,
        {"fmt": "xlsx"},
        name="contact_lookup_xlsx",
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
