"""The demo commands: simulate_bank builds events the contract accepts."""

from __future__ import annotations

import random

from delivery.management.commands.simulate_bank import realistic_event
from delivery.payloads import event_validate


def test_simulated_events_pass_the_contract() -> None:
    rng = random.Random(5)
    consent = {"link": 7, "message_types": ["balance_update", "fraud_alert", "receipt", "shipping_update"]}
    for _ in range(40):
        event = realistic_event(consent, rng)
        assert event is not None
        assert event_validate(event).link_id == 7
    assert realistic_event({"link": 7, "message_types": ["chat_reply"]}, rng) is None
