"""A bank's change and all it entails commit together: grants, consent events, audit, cancelled sends, webhook rows.

These tests use the plain `db` fixture, which never runs on-commit callbacks: everything asserted here
is written inside the partners service's own transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections

from compliance.models import AuditEntry
from consent import signals as consent_signals
from consent.models import ConsentEvent, ConsentGrant
from consent.rules import consent_check
from delivery import services
from delivery.models import Delivery, WebhookMessage
from delivery.tests.factories import Consenting, balance_event, consenting
from partners.models import Partner
from partners.services import partner_transition, scope_retire, webhook_endpoint_create
from portal.tests.factories import PlatformStaffFactory

pytestmark = pytest.mark.django_db

WEBHOOK_TYPES = ["consent.granted", "consent.revoked", "consent.expired"]


@pytest.fixture
def c(monkeypatch: pytest.MonkeyPatch) -> Consenting:
    """A consenting person with a queued balance update, at a bank listening to every consent.* webhook."""
    # The relays stay quiet: in a transactional test a worker running for other tests would send these first.
    for module in ("intake", "cancelling"):
        monkeypatch.setattr(f"delivery.services.{module}.publish_deliveries", lambda *args, **kwargs: 0)
    person = consenting()
    webhook_endpoint_create(
        partner=person.bank, url="https://bank.example/hooks", event_types=WEBHOOK_TYPES, actor=None
    )
    services.event_intake(
        partner=person.bank,
        events=[balance_event(person.link.pk, event_id=f"e{n}") for n in (1, 2)],
        idempotency_key=None,
        actor=None,
    )
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.PENDING}
    return person


@pytest.fixture
def failing_webhooks(c: Consenting) -> Iterator[None]:
    """Make delivery's webhook step fail, as a broken receiver would, inside the change's transaction."""

    def fail(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("receiver broke")

    consent_signals.consent_changed.connect(fail, dispatch_uid="test-failing-receiver")
    yield
    consent_signals.consent_changed.disconnect(dispatch_uid="test-failing-receiver")


def _actions(*, target_id: int | None = None) -> set[str]:
    rows = AuditEntry.objects.all() if target_id is None else AuditEntry.objects.filter(target_id=str(target_id))
    return set(rows.values_list("action", flat=True))


def _assert_followed_through(c: Consenting, *, revoked_by: str) -> None:
    grant = ConsentGrant.objects.get(pk=c.grant.pk)
    assert (grant.status, grant.revoked_by) == ("revoked", revoked_by)
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.CANCELLED}
    [webhook] = WebhookMessage.objects.filter(partner=c.bank)
    assert (webhook.event_type, webhook.status) == ("consent.revoked", WebhookMessage.Status.PENDING)
    assert webhook.payload["data"]["consents"][0]["id"] == grant.pk
    assert ConsentEvent.objects.filter(grant=grant, kind=ConsentEvent.Kind.REVOKED).count() == 1
    assert "consent.revoke" in _actions(target_id=grant.pk)


def test_a_retired_scope_ends_grants_cancels_sends_and_tells_the_bank_before_commit(c: Consenting) -> None:
    scope_retire(scope=c.grant.scope, actor=None)
    _assert_followed_through(c, revoked_by="bank")
    assert {"scope.retire", "delivery.cancel_for_consent", "delivery.webhook_queued"} <= _actions()


def test_a_withdrawn_bank_ends_grants_cancels_sends_and_tells_the_bank_before_commit(c: Consenting) -> None:
    partner_transition(partner=c.bank, to_status=Partner.Status.WITHDRAWN, note="Left.", actor=PlatformStaffFactory())
    _assert_followed_through(c, revoked_by="platform")
    # Consent's receiver ends the grants first, and with them their sends; nothing is left for the bank-wide cancel.
    assert {"partner.status_change", "delivery.cancel_for_consent"} <= _actions()


def test_a_suspended_bank_keeps_its_grants_but_its_sends_are_cancelled_at_once(c: Consenting) -> None:
    partner_transition(partner=c.bank, to_status=Partner.Status.SUSPENDED, note="Audit.", actor=PlatformStaffFactory())
    grant = ConsentGrant.objects.get(pk=c.grant.pk)
    assert grant.status == "active"  # suspension is not the end: the rule fails while it lasts
    assert not consent_check(partner_id=c.bank.pk, link_id=c.link.pk, message_type="balance_update")
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.CANCELLED}
    assert {"partner.status_change", "delivery.cancel_for_partner"} <= _actions()


@pytest.mark.usefixtures("failing_webhooks")
def test_a_failing_receiver_undoes_the_retirement_and_all_it_entailed(c: Consenting) -> None:
    audited = AuditEntry.objects.count()
    with pytest.raises(RuntimeError):
        scope_retire(scope=c.grant.scope, actor=None)
    scope = c.grant.scope
    scope.refresh_from_db()
    assert scope.retired_at is None
    assert ConsentGrant.objects.get(pk=c.grant.pk).status == "active"
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.PENDING}
    assert not WebhookMessage.objects.exists()
    assert not ConsentEvent.objects.filter(kind=ConsentEvent.Kind.REVOKED).exists()
    assert AuditEntry.objects.count() == audited


@pytest.mark.usefixtures("failing_webhooks")
def test_a_failing_receiver_undoes_the_withdrawal(c: Consenting) -> None:
    with pytest.raises(RuntimeError):
        partner_transition(
            partner=c.bank, to_status=Partner.Status.WITHDRAWN, note="Left.", actor=PlatformStaffFactory()
        )
    c.bank.refresh_from_db()
    assert c.bank.status == Partner.Status.LIVE
    assert ConsentGrant.objects.get(pk=c.grant.pk).status == "active"
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.PENDING}
    assert not WebhookMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_cancelling_skips_a_delivery_a_sending_batch_holds(c: Consenting) -> None:
    """The row a batch holds is left to that batch, whose consent check sees the change: no waiting, no deadlock."""
    held = Delivery.objects.order_by("pk").first()
    assert held is not None
    # Another connection stands in for the batch holding its row.
    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute("SELECT id FROM delivery_delivery WHERE id = %s FOR UPDATE", [held.pk])
            partner_transition(
                partner=c.bank, to_status=Partner.Status.SUSPENDED, note="Audit.", actor=PlatformStaffFactory()
            )
        other.rollback()
    finally:
        other.close()
    statuses = dict(Delivery.objects.values_list("pk", "status"))
    assert statuses.pop(held.pk) == Delivery.Status.PENDING
    assert set(statuses.values()) == {Delivery.Status.CANCELLED}
