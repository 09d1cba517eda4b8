"""The demo commands: simulate_bank builds events the contract accepts."""

from __future__ import annotations

import io
import random
from typing import Any

import pytest
from django.core.management import call_command

from delivery.management.commands.simulate_bank import realistic_event
from delivery.models import PartnerEvent
from delivery.payloads import event_validate
from delivery.tests.factories import consenting


def test_simulated_events_pass_the_contract() -> None:
    rng = random.Random(5)
    consent = {"link": 7, "message_types": ["balance_update", "fraud_alert", "receipt", "shipping_update"]}
    for _ in range(40):
        event = realistic_event(consent, rng)
        assert event is not None
        assert event_validate(event).link_id == 7
    assert realistic_event({"link": 7, "message_types": ["chat_reply"]}, rng) is None


@pytest.mark.django_db(transaction=True)
def test_simulate_bank_posts_through_the_api_and_every_event_is_accepted(live_server: Any) -> None:
    c = consenting()
    out = io.StringIO()
    call_command(
        "simulate_bank", url=live_server.url, key=c.api_key, interval=0, batches=2, size=40, stdout=out, stderr=out
    )
    assert out.getvalue().count("Posted 40: 40 accepted, 0 refused.") == 2, out.getvalue()
    assert PartnerEvent.objects.filter(partner=c.bank).count() == 80
