"""Forms of the compliance pages: the review of a high-sensitivity scope version, the trail's filters."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.models import User

from .trail.filters import KINDS, PEOPLE, TrailFilter


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


class CursorInput(forms.HiddenInput):
    """A page cursor: read from the page links, never written into the form (filtering starts at the newest)."""

    def render(self, *args: Any, **kwargs: Any) -> Any:
        return ""


BROKEN_CURSOR = "This page link is broken. Go back to the newest entries and page from there."


class TrailFilterForm(forms.Form):
    """The trail's filters, as typed: each checked for shape, and each name looked up once, here.

    `banks` is the (slug, name, id) of every bank, read once by the view for the select and the table.
    """

    TARGET_SHAPE = re.compile(r"^(?P<type>[a-z0-9_]+\.[a-z0-9_]+):(?P<id>[\w-]{1,64})$")
    MAX_RANGE = dt.timedelta(days=3660)
    EARLIEST = dt.date(2000, 1, 1)

    # Chosen by the page's switch (links), carried by the form as it is.
    kind = forms.ChoiceField(
        label="Show",
        choices=KINDS,
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": "Choose people's actions, machine traffic or everything."},
    )
    actor = forms.CharField(label="Done by (email)", required=False, max_length=254)
    bank = forms.ChoiceField(label="Bank", required=False)
    person = forms.CharField(
        label="About person (email or id)", required=False, max_length=254, help_text="The person the entry is about."
    )
    action = forms.ChoiceField(label="Action", required=False)
    target = forms.CharField(
        label="Target", required=False, max_length=170, help_text="As shown on an entry, e.g. consent.consentgrant:17."
    )
    since = forms.DateField(label="From (date)", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(
        label="To (date, inclusive)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    before = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        widget=CursorInput,
        error_messages={"invalid": BROKEN_CURSOR, "min_value": BROKEN_CURSOR, "max_value": BROKEN_CURSOR},
    )
    after = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=2**63 - 1,
        widget=CursorInput,
        error_messages={"invalid": BROKEN_CURSOR, "min_value": BROKEN_CURSOR, "max_value": BROKEN_CURSOR},
    )

    def __init__(self, *args: Any, banks: list[tuple[str, str, int]], actions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.banks = banks
        bank, action = self.fields["bank"], self.fields["action"]
        assert isinstance(bank, forms.ChoiceField)
        assert isinstance(action, forms.ChoiceField)
        bank.choices = [("", "Any bank"), *((slug, name) for slug, name, _pk in banks)]
        action.choices = [("", "Any action"), *((name, name) for name in actions)]
        self.fields["bank"].error_messages["invalid_choice"] = "No bank has this address. Choose one from the list."
        self.fields["action"].error_messages["invalid_choice"] = (
            "No entry has this action yet. Choose one from the list."
        )

    def _person_id(self, value: str, *, by_id: bool) -> int | None:
        if not value:
            return None
        if by_id and value.isdigit():
            found = User.objects.filter(pk=int(value)).values_list("pk", flat=True).first()
        else:
            found = User.objects.filter(email__iexact=value).values_list("pk", flat=True).first()
        if found is None:
            raise ValidationError(
                "Nobody has this email address%s. Check it, or leave it empty." % (" or id" if by_id else ""),
                code="unknown_person",
            )
        return found

    def clean_actor(self) -> int | None:
        return self._person_id(self.cleaned_data["actor"].strip(), by_id=False)

    def clean_person(self) -> int | None:
        return self._person_id(self.cleaned_data["person"].strip(), by_id=True)

    def clean_target(self) -> tuple[str, str]:
        value = self.cleaned_data["target"].strip()
        if not value:
            return "", ""
        kind, _, number = value.partition(":")
        match = self.TARGET_SHAPE.match(f"{kind.lower()}:{number}")
        if match is None:
            raise ValidationError(
                "Give the target as an entry shows it, a type and an id such as consent.consentgrant:17.",
                code="bad_target",
            )
        return match["type"], match["id"]

    def _check_date(self, name: str) -> dt.date | None:
        value: dt.date | None = self.cleaned_data[name]
        if value is not None and not self.EARLIEST <= value <= timezone.localdate() + dt.timedelta(days=1):
            raise ValidationError("Give a date between 2000 and today.", code="date_out_of_range")
        return value

    def clean_since(self) -> dt.date | None:
        return self._check_date("since")

    def clean_until(self) -> dt.date | None:
        return self._check_date("until")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until:
            if until < since:
                self.add_error(
                    "until", ValidationError("“To” is before “From”: swap them, or change one.", code="range_reversed")
                )
            elif until - since > self.MAX_RANGE:
                self.add_error(
                    "since",
                    ValidationError(
                        "Choose a range of at most ten years; leave “From” empty to see everything before “To”.",
                        code="range_too_long",
                    ),
                )
        return data

    def trail_filter(self) -> TrailFilter:
        """Return the filter the valid form describes (call after `is_valid()`)."""
        data = self.cleaned_data
        zone = timezone.get_current_timezone()

        def midnight(day: dt.date | None) -> dt.datetime | None:
            return dt.datetime.combine(day, dt.time.min, tzinfo=zone) if day is not None else None

        until = data.get("until")
        target_type, target_id = data.get("target") or ("", "")
        return TrailFilter(
            kind=data.get("kind") or PEOPLE,
            actor_id=data.get("actor"),
            partner_id=next((pk for slug, _name, pk in self.banks if slug == data.get("bank")), None),
            person_id=data.get("person"),
            action=data.get("action") or "",
            target_type=target_type,
            target_id=target_id,
            since=midnight(data.get("since")),
            until=midnight(until + dt.timedelta(days=1)) if until else None,
        )


class BankTrailFilterForm(TrailFilterForm):
    """The filters of a bank's own slice: no bank to choose (the page's bank is forced by the view).

    An address that belongs to nobody matches nothing rather than saying so: a bank learns nothing
    about who has an account from its slice.
    """

    def __init__(self, *args: Any, actions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, banks=[], actions=actions, **kwargs)
        del self.fields["bank"]

    def _person_id(self, value: str, *, by_id: bool) -> int | None:
        try:
            return super()._person_id(value, by_id=by_id)
        except ValidationError:
            return NOBODY


# An id no person has: a filter on it selects no entry.
NOBODY = -1
