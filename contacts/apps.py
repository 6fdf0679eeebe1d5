"""The app's configuration: registers the signal receivers (audit, cached rights and users) and the
system checks."""

from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "contacts"
    verbose_name = "Contacts"

    def ready(self) -> None:
        # Imported for what importing registers: signal receivers and checks.
        from contacts import access, audit, checks, saved, signed_in  # noqa: F401
