"""The URLs under `/`: the home page and everything under `/orgs/<org_id>/contacts/`."""

from django.urls import path

from contacts import views, views_lookup, views_summary

urlpatterns = [
    path("", views.home, name="home"),
    path("orgs/<str:org_id>/contacts/", views.contact_list, name="contact_list"),
    path(
        "orgs/<str:org_id>/contacts/export.csv",
        views.contact_export,
        {"fmt": "csv"},
        name="contact_export_csv",
    ),
    path(
        "orgs/<str:org_id>/contacts/export.xlsx",
        views.contact_export,
        {"fmt": "xlsx"},
        name="contact_export_xlsx",
    ),
    path("orgs/<str:org_id>/contacts/find/", views_lookup.contact_find, name="contact_find"),
    path("orgs/<str:org_id>/contacts/lookup/", views_lookup.contact_lookup, name="contact_lookup"),
    path(
        "orgs/<str:org_id>/contacts/lookup.csv",
        views_lookup.contact_lookup_file,
        {"fmt": "csv"},
        name="contact_lookup_csv",
    ),
    path(
        "orgs/<str:org_id>/contacts/lookup.xlsx",
        views_lookup.contact_lookup_file,
        {"fmt": "xlsx"},
        name="contact_lookup_xlsx",
    ),
    path(
        "orgs/<str:org_id>/contacts/export-progress.json",
        views.contact_export_progress,
        name="contact_export_progress",
    ),
    path(
        "orgs/<str:org_id>/contacts/summary/",
        views_summary.contact_summary_page,
        name="contact_summary",
    ),
    path(
        "orgs/<str:org_id>/contacts/summary.json",
        views_summary.contact_summary_json,
        name="contact_summary_json",
    ),
    path(
        "orgs/<str:org_id>/contacts/<str:contact_id>/",
        views.contact_detail,
        name="contact_detail",
    ),
    path(
        "orgs/<str:org_id>/contacts/<str:contact_id>/contact.vcf",
        views.contact_vcard_download,
        name="contact_vcard",
    ),
]
