"""Forms of the platform staff pages: moving a bank through its lifecycle, publishing usage terms."""

from __future__ import annotations

from typing import Any

from django import forms

from ..models import UsageTerms


class PartnerTransitionForm(forms.Form):
    """Staff move a bank to one of the statuses its current status allows, saying why."""

    to_status = forms.ChoiceField(
        label="Move the bank to",
        error_messages={
            "required": "Choose the bank's new status.",
            "invalid_choice": "The bank's status changed since you opened this page. Choose again.",
        },
    )
    # The service insists on a note, so that the rule and its message live in one place.
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Say why. The note is kept in the bank's audit history.",
    )

    missing_confirmed = forms.BooleanField(
        label="Go live even though the checklist is not complete",
        required=False,
        help_text="Only when the bank is to go live: the missing steps and your note are kept in its audit history.",
    )

    def __init__(self, *args: Any, next_statuses: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["to_status"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "Choose a status"), *next_statuses]


class TermsForm(forms.Form):
    """A new version of the usage terms, previewed before it is published."""

    title = forms.CharField(
        label="Title",
        max_length=UsageTerms._meta.get_field("title").max_length,
        error_messages={"required": "Give the terms a title."},
    )
    body = forms.CharField(
        label="Text of the terms",
        widget=forms.Textarea(attrs={"rows": 18}),
        help_text="Markdown: # for headings, blank lines between paragraphs, - for lists. "
        "Published terms can never be changed.",
        error_messages={"required": "Write the text of the terms."},
    )
    requires_reacceptance = forms.BooleanField(
        label="Banks must accept this version again",
        required=False,
        initial=True,
    )
    grace_days = forms.IntegerField(
        label="Grace period in days",
        min_value=0,
        max_value=365,
        initial=30,
        help_text="How long a bank that accepted an earlier version keeps using the API before it must "
        "accept this one. From 0 to 365.",
        error_messages={
            "required": "Enter the grace period in days.",
            "invalid": "Enter a whole number of days.",
            "min_value": "Enter a number of days from 0 to 365.",
            "max_value": "Enter a number of days from 0 to 365.",
        },
    )
