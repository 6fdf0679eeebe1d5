from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    # The language switcher posts here (set_language); the same for everybody, no data.
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("contacts.urls")),
]
