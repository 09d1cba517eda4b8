"""Intake, sending, retries, fencing and webhooks, in-process against the loopback gateway receiver."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from compliance.models import AuditEntry
from consent.models import ConsentGrant
from consent.services import consent_revoke
from delivery import receivers, services
from delivery.demo_gateway import GatewayReceiver
from delivery.models import Delivery, EndpointHealth, InboxMessage, PartnerEvent, WebhookMessage
from delivery.tests.factories import balance_event, consenting, delivery_bank
from partners.services import webhook_endpoint_create
from portal.errors import ApplicationError

pytestmark = pytest.mark.django_db


def _intake(c: Any, events: list[dict[str, Any]], key: str | None = None, single: bool = False) -> list[Any]:
    return services.event_intake(partner=c.bank, events=events, idempotency_key=key, actor=None, single=single)


def test_intake_stores_the_event_and_its_outbox_rows_with_one_audit_entry(gateway: GatewayReceiver) -> None:
    c = consenting()
    before = AuditEntry.objects.count()
    items = _intake(c, [balance_event(c.link.pk, event_id="e1"), balance_event(c.link.pk, event_id="e2")])
    assert [item.outcome for item in items] == ["accepted", "accepted"]
    assert PartnerEvent.objects.filter(partner=c.bank).count() == 2
    assert set(Delivery.objects.values_list("channel", flat=True)) == {"inbox", "gateway"}
    assert Delivery.objects.count() == 4
    assert AuditEntry.objects.count() == before + 1
    assert AuditEntry.objects.order_by("-id").first().action == "delivery.events_intake"


def test_a_repeat_returns_the_first_answer_and_a_different_body_is_a_duplicate() -> None:
    c = consenting()
    event = balance_event(c.link.pk)
    [first] = _intake(c, [event], key="k-1", single=True)
    [again] = _intake(c, [event], key="k-1", single=True)
    assert again.outcome == "replayed"
    assert again.event.pk == first.event.pk
    assert again.http_status == 200
    changed = {**event, "payload": {**event["payload"], "balance": "1.00"}}
    [clash] = _intake(c, [changed], key="k-1", single=True)
    assert (clash.outcome, clash.code, clash.http_status) == ("refused", "duplicate", 409)
    assert PartnerEvent.objects.count() == 1


def test_intake_refuses_without_consent_and_stores_nothing() -> None:
    c = consenting()
    other = consenting()  # a link at another bank: this bank may not address it
    items = _intake(c, [balance_event(other.link.pk, event_id="x"), balance_event(999_999, event_id="y")])
    assert [item.code for item in items] == ["consent_required", "consent_required"]
    consent_revoke(grant=c.grant, actor=c.user)
    [item] = _intake(c, [balance_event(c.link.pk, event_id="z")])
    assert item.code == "consent_required"
    assert not PartnerEvent.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "advert"}, "type"),
        ({"payload": {"balance": "x"}}, "payload"),
        ({"colour": "red"}, "colour"),
        ({"link": -1}, "link"),
    ],
)
def test_invalid_events_are_refused_per_item_with_fields(change: dict[str, Any], field: str) -> None:
    c = consenting()
    bad = {**balance_event(c.link.pk, event_id="bad"), **change}
    items = _intake(c, [bad, balance_event(c.link.pk, event_id="good")])
    assert items[0].outcome == "refused"
    assert field in items[0].fields
    assert items[1].outcome == "accepted"


def test_a_payload_over_the_size_cap_and_a_keyless_event_are_refused() -> None:
    c = consenting()
    huge = balance_event(c.link.pk, event_id="huge")
    huge["payload"]["account_mask"] = "x" * 10_000
    [too_big] = _intake(c, [huge])
    assert too_big.code == "invalid"
    assert "bytes" in too_big.fields["payload"][0]
    [keyless] = _intake(c, [balance_event(c.link.pk)])
    assert keyless.code == "idempotency_key_required"
    with pytest.raises(ApplicationError):
        _intake(c, [balance_event(c.link.pk)] * 501, key="many")


def _send(ids: list[int] | None = None) -> services.BatchOutcome:
    return services.delivery_send_batch(delivery_ids=ids or list(Delivery.objects.values_list("pk", flat=True)))


def test_a_batch_reaches_the_inbox_and_the_gateway_once(gateway: GatewayReceiver) -> None:
    c = consenting()
    _intake(
        c,
        [
            balance_event(c.link.pk, event_id=f"e{i}", as_of=f"2026-01-0{i + 1}T00:00:00Z", mask="•••• 1")
            for i in range(3)
        ],
    )
    outcome = _send()
    # Balance updates of one account supersede each other: only the newest is worth sending.
    assert outcome.delivered == 2
    assert outcome.cancelled == 4
    assert InboxMessage.objects.filter(user=c.user).count() == 1
    assert gateway.state.stats()["unique"] == 1
    assert _send().taken == 0  # idempotent: nothing left to send
    event = PartnerEvent.objects.get(idempotency_key="e2")
    assert event.status == PartnerEvent.Status.DELIVERED
    assert set(PartnerEvent.objects.exclude(pk=event.pk).values_list("status", flat=True)) == {"cancelled"}


def test_a_grant_ending_between_intake_and_send_means_no_send(gateway: GatewayReceiver) -> None:
    c = consenting()
    _intake(c, [balance_event(c.link.pk, event_id="e")])
    ids = list(Delivery.objects.values_list("pk", flat=True))
    # The grant's end date passes before the expiry sweeper ran: nothing cancelled the deliveries, so
    # the check at send time must catch it.
    now = timezone.now()
    ConsentGrant.objects.filter(pk=c.grant.pk).update(granted_at=now - timedelta(days=2), expires_at=now)
    outcome = _send(ids)
    assert outcome.cancelled == 2
    assert outcome.delivered == 0
    assert not InboxMessage.objects.exists()
    assert gateway.state.stats()["unique"] == 0
    assert PartnerEvent.objects.get().status == PartnerEvent.Status.BLOCKED


def test_revocation_cancels_queued_deliveries_in_its_own_transaction(gateway: GatewayReceiver) -> None:
    c = consenting()
    _intake(c, [balance_event(c.link.pk, event_id="e")])
    ids = list(Delivery.objects.values_list("pk", flat=True))
    consent_revoke(grant=c.grant, actor=c.user)  # no after-commit hook needed: cancelled as it commits
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.CANCELLED}
    assert _send(ids).delivered == 0


def test_a_failing_gateway_is_retried_with_retry_after_then_dead_lettered(gateway: GatewayReceiver) -> None:
    c = consenting()
    webhook_endpoint_create(
        partner=c.bank, url="https://bank.example/hooks", event_types=["delivery.failed"], actor=None
    )
    _intake(c, [balance_event(c.link.pk, event_id="e")])
    gateway.state.fail_next, gateway.state.retry_after = 1, "7"
    _send()
    row = Delivery.objects.get(channel="gateway")
    assert row.status == Delivery.Status.FAILED
    assert row.attempts == 1
    assert 6 <= (row.next_attempt_at - timezone.now()).total_seconds() <= 8
    assert Delivery.objects.get(channel="inbox").status == Delivery.Status.DELIVERED
    assert row.attempt_log.get().status_code == 503
    gateway.state.fail_next, gateway.state.fail_status = 1, 422  # permanent: no retry
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    _send([row.pk])
    row.refresh_from_db()
    assert row.status == Delivery.Status.DEAD
    dead_letter = AuditEntry.objects.get(action="delivery.dead_letter")
    assert dead_letter.data["deliveries"] == [row.pk]
    assert dead_letter.data["partner"] == c.bank.pk
    assert PartnerEvent.objects.get().status == PartnerEvent.Status.PARTIALLY_DELIVERED
    message = WebhookMessage.objects.get(event_type="delivery.failed")
    assert message.payload["data"]["deliveries"][0]["id"] == row.pk
    # Replay puts the dead letter back on a fresh schedule.
    assert services.delivery_replay(deliveries=[row], actor=None) == 1
    _send([row.pk])
    row.refresh_from_db()
    assert row.status == Delivery.Status.DELIVERED
    assert gateway.state.stats()["unique"] == 1


def test_a_poison_payload_is_dead_lettered_without_sinking_its_batch(gateway: GatewayReceiver) -> None:
    c = consenting()
    _intake(
        c,
        [
            balance_event(c.link.pk, event_id="ok"),
            balance_event(c.link.pk, event_id="poison"),
        ],
    )
    poison = PartnerEvent.objects.get(idempotency_key="poison")
    PartnerEvent.objects.filter(pk=poison.pk).update(payload={"balance": None}, supersession_key="")
    outcome = _send()
    assert outcome.dead == 2
    assert outcome.delivered == 2
    assert Delivery.objects.filter(event=poison, status=Delivery.Status.DEAD).count() == 2
    [entry] = AuditEntry.objects.filter(action="delivery.dead_letter")
    assert sorted(entry.data["deliveries"]) == sorted(
        Delivery.objects.filter(event=poison).values_list("pk", flat=True)
    )


def test_deliver_by_in_the_past_expires_the_delivery(gateway: GatewayReceiver) -> None:
    c = consenting()
    soon = (timezone.now() + timedelta(seconds=30)).isoformat()
    _intake(c, [balance_event(c.link.pk, event_id="e", deliver_by=soon)])
    PartnerEvent.objects.update(deliver_by=timezone.now() - timedelta(seconds=1))
    assert _send().cancelled == 2
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.EXPIRED}


def test_a_deliver_by_already_past_is_taken_and_never_sent(gateway: GatewayReceiver) -> None:
    c = consenting()
    [item] = _intake(c, [balance_event(c.link.pk, event_id="late", deliver_by="2001-01-01T00:00:00Z")])
    assert item.outcome == "accepted"  # within the schema: stored, and stale on arrival
    assert _send().cancelled == 2
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.EXPIRED}


def test_the_sweeper_enqueues_what_the_relay_never_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    c = consenting()
    _intake(c, [balance_event(c.link.pk, event_id="e")])  # stored and stamped, but the on-commit relay never runs
    sent: list[Any] = []
    monkeypatch.setattr("delivery.tasks.deliver_batch.apply_async", lambda **kwargs: sent.append(kwargs["args"]))
    assert services.outbox_sweep(now=timezone.now() + timedelta(seconds=5)) == 0  # its relay may still be at work
    later = timezone.now() + settings.DELIVERY_REENQUEUE_AFTER + timedelta(seconds=1)
    assert services.outbox_sweep(now=later) == 1
    assert sent


def test_rows_the_broker_refused_are_unstamped_and_swept_within_seconds(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    c = consenting()

    def broker_down(**kwargs: Any) -> None:
        raise OSError("connection refused")

    monkeypatch.setattr("delivery.tasks.deliver_batch.apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        _intake(c, [balance_event(c.link.pk, event_id="e")])
    assert Delivery.objects.filter(enqueued_at__isnull=True).count() == 1
    sent: list[Any] = []
    monkeypatch.setattr("delivery.tasks.deliver_batch.apply_async", lambda **kwargs: sent.append(kwargs["args"]))
    assert services.outbox_sweep(now=timezone.now()) == 0  # too fresh: its own relay may still be sending it
    assert services.outbox_sweep(now=timezone.now() + timedelta(seconds=5)) == 1
    assert sent
    assert Delivery.objects.filter(enqueued_at__isnull=False).count() == 1


def test_webhooks_are_signed_retried_and_an_endpoint_failing_for_days_is_disabled(
    gateway: GatewayReceiver, mailoutbox: list[Any]
) -> None:
    c = consenting()
    endpoint, _secret = webhook_endpoint_create(
        partner=c.bank, url="https://bank.example/hooks", event_types=["consent.revoked"], actor=None
    )
    # Point the endpoint at the loopback receiver, signing with the receiver's secret.
    type(endpoint).objects.filter(pk=endpoint.pk).update(url=gateway.url, secret=gateway.state.secret)
    [message] = services.webhook_notify(partner_id=c.bank.pk, event_type="consent.revoked", data={"link": 1})
    assert services.webhook_send(message_id=message.pk) == "delivered"
    assert message.msg_id in gateway.state.messages
    [second] = services.webhook_notify(partner_id=c.bank.pk, event_type="consent.revoked", data={"link": 2})
    gateway.state.fail_next = 1
    EndpointHealth.objects.filter(endpoint=endpoint).update(failing_since=timezone.now() - timedelta(days=6))
    assert services.webhook_send(message_id=second.pk) == "disabled"
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "Disabled after failing" in endpoint.disabled_reason
    assert AuditEntry.objects.get(action="webhook.disable").data["reason"] == endpoint.disabled_reason


def test_new_terms_go_to_every_active_endpoint_that_asked_for_them_and_no_other(
    django_assert_max_num_queries: Any,
) -> None:
    asking, both, silent = delivery_bank(), delivery_bank(), delivery_bank()
    wanted = [
        webhook_endpoint_create(
            partner=asking, url="https://a.example/terms", event_types=["terms.updated"], actor=None
        )[0],
        webhook_endpoint_create(
            partner=both, url="https://b.example/all", event_types=["consent.revoked", "terms.updated"], actor=None
        )[0],
    ]
    webhook_endpoint_create(
        partner=asking, url="https://a.example/consent", event_types=["consent.revoked"], actor=None
    )
    switched_off, _ = webhook_endpoint_create(
        partner=both, url="https://b.example/old", event_types=["terms.updated"], actor=None
    )
    type(switched_off).objects.filter(pk=switched_off.pk).update(is_active=False)
    webhook_endpoint_create(
        partner=silent, url="https://c.example/consent", event_types=["consent.granted"], actor=None
    )
    # One lookup of endpoints for all banks, then for each bank that asked: its messages and audit entry (8).
    with django_assert_max_num_queries(1 + 2 * 8):
        receivers.on_terms_published(sender=None, terms=SimpleNamespace(version=3, title="Terms 3"))
    messages = WebhookMessage.objects.filter(event_type="terms.updated")
    assert sorted(m.endpoint_id for m in messages) == sorted(e.pk for e in wanted)
    assert {m.payload["data"]["version"] for m in messages} == {3}


def test_a_webhook_refused_for_good_is_a_dead_letter_on_the_record(gateway: GatewayReceiver) -> None:
    c = consenting()
    endpoint, _secret = webhook_endpoint_create(
        partner=c.bank, url="https://bank.example/hooks", event_types=["consent.revoked"], actor=None
    )
    type(endpoint).objects.filter(pk=endpoint.pk).update(url=gateway.url, secret=gateway.state.secret)
    [message] = services.webhook_notify(partner_id=c.bank.pk, event_type="consent.revoked", data={"link": 1})
    gateway.state.fail_next, gateway.state.fail_status = 1, 410  # permanent: never retried
    assert services.webhook_send(message_id=message.pk) == "dead"
    entry = AuditEntry.objects.get(action="delivery.webhook_dead_letter")
    assert entry.data["message"] == message.msg_id
    assert entry.data["type"] == "consent.revoked"
