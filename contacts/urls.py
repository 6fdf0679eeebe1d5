from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("orgs/<str:org_id>/contacts/", views.contact_list, name="contact_list"),
    path(
        "orgs/<str:org_id>/contacts/export.csv",
        views.contact_export_csv,
        name="contact_export_csv",
    ),
    path(
        "orgs/<str:org_id>/contacts/<str:contact_id>/",
        views.contact_detail,
        name="contact_detail",
    ),
]
