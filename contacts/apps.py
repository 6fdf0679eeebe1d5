"""The app's configuration: registers the audit's signal receivers and the system checks."""

from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "contacts"
    verbose_name = "Contacts"

    def ready(self) -> None:
        from contacts import audit, checks  # noqa: F401  (registers signal receivers and checks)
