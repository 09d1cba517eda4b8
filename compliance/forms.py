"""Forms of the compliance pages: the review of a high-sensitivity scope version."""

from __future__ import annotations

from django import forms


class ScopeReviewForm(forms.Form):
    """Compliance approves a version or sends it back to the bank; the submit button says which."""

    DECISIONS = (("approve", "Approve and publish"), ("reject", "Send back to the bank"))

    version = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=DECISIONS, widget=forms.HiddenInput)
    # The service insists on a note for sending back, so that the rule lives in one place.
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required to send a version back: say what the bank must change. Kept in the audit trail either way.",
    )
