"""The bulk lookup's form: a pasted list, or a CSV/XLSX file and the column to read."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .exports.lookup_input import (
    LookupInput,
    LookupInputError,
    values_from_file,
    values_from_text,
)


class LookupForm(forms.Form):
    identifiers = forms.CharField(
        label=_("Emails, phone numbers or contact ids, one per line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "autocomplete": "off"}),
    )
    file = forms.FileField(
        label=_("Or a CSV or Excel (.xlsx) file"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,text/csv"}),
    )
    column = forms.CharField(
        label=_("Column of the file"),
        required=False,
        max_length=100,
        help_text=_("Its header, number or letter; the first column if empty."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": _("e.g. email")}),
    )

    def __init__(self, *args, default_region: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.default_region = default_region
        self.status = 400  # of the page that shows this form's errors
        self.input: LookupInput | None = None

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        text = cleaned.get("identifiers") or ""
        upload = cleaned.get("file")
        limit = settings.DASHBOARD_LOOKUP_MAX
        try:
            if upload and text.strip():
                raise LookupInputError(
                    str(_("Paste a list or choose a file, not both: clear one of them."))
                )
            if upload:
                self.input = values_from_file(
                    upload,
                    name=upload.name,
                    size=upload.size,
                    column=cleaned.get("column") or "",
                    limit=limit,
                    max_bytes=int(settings.DASHBOARD_LOOKUP_FILE_MAX_MB * 1_000_000),
                    default_region=self.default_region,
                )
            else:
                self.input = values_from_text(text, limit=limit)
        except LookupInputError as exc:
            self.status = exc.status
            raise forms.ValidationError(exc.message, code="input") from exc
        return cleaned
