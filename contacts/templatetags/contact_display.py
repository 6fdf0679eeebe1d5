"""The contact page's template tags; how values read lives in `contacts.contact.display`."""

from django import template

from contacts.contact.display import additional_html, phone_display

register = template.Library()
register.filter("phone_display", phone_display)
register.simple_tag(additional_html, name="additional_value")
