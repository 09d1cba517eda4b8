"""The audit-coverage check itself: an unaudited change is caught and named, an audited one passes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import transaction

from compliance.testing import audit_coverage, frames
from compliance.testing.audit_coverage import _fail_on_violations, tracker, worth_auditing
from compliance.testing.change_tracker import Change
from compliance.testing.frames import PROJECT
from compliance.tests import unaudited_services as services
from partners.models import Partner
from partners.tests.factories import PartnerFactory
from portal.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_project_code(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let `unaudited_services` stand for project code, so its writes are judged like a service's."""
    tracker.take()
    monkeypatch.setitem(frames._kinds, services.__file__, PROJECT)
    yield
    tracker.take()  # what the test provoked on purpose must not fail it


def test_the_check_is_on_for_every_test(request: pytest.FixtureRequest) -> None:
    assert request.config.pluginmanager.has_plugin("compliance.testing.audit_coverage")


def test_an_unaudited_change_is_caught_and_named(as_project_code: None) -> None:
    partner = PartnerFactory()
    services.rename_without_audit(partner)
    [found] = tracker.take()
    assert found.change.model == "partners.Partner"
    assert found.change.describe() == "update of legal_name"
    assert found.change.by[0].function == "rename_without_audit"
    assert found.unit is not None
    assert found.unit.function == "rename_without_audit"
    assert found.unit.path == "compliance/tests/unaudited_services.py"


def test_a_service_decorated_with_atomic_is_a_unit_too(as_project_code: None) -> None:
    services.rename_in_a_decorated_service(PartnerFactory())
    [found] = tracker.take()
    assert found.unit is not None
    assert found.unit.function == "rename_in_a_decorated_service"


def test_the_failure_names_the_model_the_change_and_the_function(as_project_code: None) -> None:
    services.rename_without_audit(PartnerFactory())
    with pytest.raises(pytest.fail.Exception) as failure:
        _fail_on_violations()
    message = str(failure.value)
    assert "partners.Partner: update of legal_name with no AuditEntry in the same transaction" in message
    assert "changed by  compliance/tests/unaudited_services.py:" in message
    assert "in rename_without_audit" in message


def test_an_audited_change_passes(as_project_code: None) -> None:
    services.rename_with_audit(PartnerFactory())
    assert tracker.take() == []


def test_the_entry_must_share_the_transaction(as_project_code: None) -> None:
    services.rename_then_audit_apart(PartnerFactory())
    assert [found.change.model for found in tracker.take()] == ["partners.Partner"]


def test_a_write_outside_any_transaction_of_project_code_is_caught(as_project_code: None) -> None:
    services.suspend_outside_any_transaction(PartnerFactory())
    [found] = tracker.take()
    assert found.unit is None
    assert "outside any transaction.atomic()" in audit_coverage.explain(found)


def test_a_rolled_back_change_needs_no_entry(as_project_code: None) -> None:
    partner = PartnerFactory()
    services.rename_in_a_savepoint_rolled_back(partner)
    with pytest.raises(RuntimeError):
        services.delete_then_fail(partner)
    assert tracker.take() == []


def test_saves_deletes_and_group_changes_are_seen(as_project_code: None) -> None:
    services.save_promote_and_delete(UserFactory(), PartnerFactory())
    assert {(found.change.model, found.change.describe()) for found in tracker.take()} == {
        ("portal.User", "save"),
        ("portal.User", "m2m of groups"),
        ("partners.Partner", "delete"),
    }


def test_what_tests_set_up_themselves_is_not_judged() -> None:
    tracker.take()
    partner = PartnerFactory()
    Partner.objects.filter(pk=partner.pk).update(legal_name="Renamed plc")
    with transaction.atomic():
        partner.delete()
    assert tracker.take() == []


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("partners/models/partner.py", frames.OTHER),
        ("delivery/models.py", frames.OTHER),
        ("partners/services/lifecycle.py", frames.PROJECT),
    ],
)
def test_models_in_a_package_are_the_data_layer_too(path: str, kind: str) -> None:
    assert frames._classify(frames.ROOT + path) == kind


def test_bookkeeping_fields_are_exempt(as_project_code: None) -> None:
    services.touch_last_login(UserFactory())
    assert tracker.take() == []
    assert not worth_auditing(Change("portal.User", "save", frozenset({"last_login"}), {}))
    assert not worth_auditing(Change("partners.PartnerApiKey", "update", frozenset({"last_used_at"}), {}))
    assert worth_auditing(Change("partners.PartnerApiKey", "update", frozenset({"last_used_at", "revoked_at"}), {}))
    assert worth_auditing(Change("portal.User", "save", None, {}))


@pytest.mark.parametrize(
    ("kind", "values", "counts"),
    [
        ("create", {"status": "pending"}, False),  # a new outbox row
        ("update", {"status": "failed", "attempts": 2}, False),  # a retry
        ("update", {"status": "delivered"}, False),
        ("update", {"attempts": 3, "last_error": "HTTP 500"}, False),
        ("update", {"status": "dead", "attempts": 7}, True),  # a dead letter
        ("update", {"status": "pending", "attempts": 0}, True),  # a replay
        ("create", {"status": "dead"}, True),
    ],
)
def test_deliveries_count_only_dead_letters_and_replays(kind: str, values: dict[str, object], counts: bool) -> None:
    for model in ("delivery.Delivery", "delivery.WebhookMessage"):
        fields = None if kind == "create" else frozenset(values)
        assert worth_auditing(Change(model, kind, fields, values)) is counts


def test_a_known_gap_is_let_through_and_counted(as_project_code: None, monkeypatch: pytest.MonkeyPatch) -> None:
    key = ("partners.Partner", "compliance.tests.unaudited_services.rename_without_audit")
    monkeypatch.setitem(audit_coverage.KNOWN_UNAUDITED, key, "a test of the allow-list")
    before = audit_coverage.known_seen[key]
    services.rename_without_audit(PartnerFactory())
    assert audit_coverage.unexplained(tracker.take()) == []
    assert audit_coverage.known_seen[key] == before + 1
