"""The bulk lookup's form: a pasted list, or a CSV/XLSX file and the column to read.

`is_valid()` makes only the cheap checks (one input, not empty, the upload within its size);
reading the values, a file's parse above all, is `read_input()`, which the views call once the
person's place is taken, so that a costly file waits its turn like a running lookup.

"Retry the failed ones" posts `retry`, the key of an earlier lookup's rows, and neither a list
nor a file: `read_input()` gives those rows (`previous`), from `retry_rows`, the view's
look-up scoped to the person and the organisation.
"""

from collections.abc import Callable, Sequence

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from contacts.lookups.input import (
    LookupInput,
    LookupInputError,
    too_large,
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
    retry = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(
        self,
        *args,
        default_region: str = "",
        upload_refusal: LookupInputError | None = None,
        retry_rows: Callable[[str], Sequence | None] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.default_region = default_region
        self.upload_refusal = upload_refusal  # the upload handler's, when the file was too big
        self.retry_rows = retry_rows
        self.status = 400  # of the page that shows this form's errors
        self.input: LookupInput | None = None
        self.previous: Sequence | None = None  # the rows of the lookup retried

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if cleaned.get("retry"):
            return cleaned  # an earlier lookup's rows, read by `read_input`
        text = cleaned.get("identifiers") or ""
        upload = cleaned.get("file")
        max_bytes = _max_bytes()
        try:
            if self.upload_refusal is not None:
                raise self.upload_refusal
            if upload and text.strip():
                raise LookupInputError(
                    str(_("Paste a list or choose a file, not both: clear one of them."))
                )
            if upload and upload.size > max_bytes:
                raise too_large(upload.name, max_bytes, upload.size)
            if not upload and not text.strip():
                values_from_text(text, limit=settings.DASHBOARD_LOOKUP_MAX)  # says it is empty
        except LookupInputError as exc:
            self.status = exc.status
            raise forms.ValidationError(exc.message, code="input") from exc
        return cleaned

    def read_input(self) -> bool:
        """Read the values of the valid form into `input`; False with the refusal among the
        form's errors (and `status` set) when the list or the file cannot be taken."""
        if retry := self.cleaned_data.get("retry"):
            self.previous = self.retry_rows(retry) if self.retry_rows is not None else None
            if self.previous is None:
                self.status = 410
                self.add_error(None, _gone())
                return False
            return True
        text = self.cleaned_data.get("identifiers") or ""
        upload = self.cleaned_data.get("file")
        limit = settings.DASHBOARD_LOOKUP_MAX
        try:
            if upload:
                self.input = values_from_file(
                    upload,
                    name=upload.name,
                    size=upload.size,
                    column=self.cleaned_data.get("column") or "",
                    limit=limit,
                    max_bytes=_max_bytes(),
                    default_region=self.default_region,
                    max_seconds=settings.DASHBOARD_LOOKUP_READ_SECONDS,
                    max_inflated=int(settings.DASHBOARD_LOOKUP_UNPACKED_MAX_MB * 1_000_000),
                )
            else:
                self.input = values_from_text(text, limit=limit)
        except LookupInputError as exc:
            self.status = exc.status
            self.add_error(None, forms.ValidationError(exc.message, code="input"))
            return False
        return True


def _max_bytes() -> int:
    return int(settings.DASHBOARD_LOOKUP_FILE_MAX_MB * 1_000_000)


def _gone() -> forms.ValidationError:
    return forms.ValidationError(
        _(
            "The failed rows of that lookup are no longer kept (they are kept for 15 minutes). "
            "Run the lookup again."
        ),
        code="retry",
    )
