"""Erasure: no personal value left anywhere, the chain still verifies, each bank told, the person shut out."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from compliance.audit import audit_seal, audit_verify, content_hash
from compliance.audit.entries import HASHED_FIELDS
from compliance.data_requests import erasure
from compliance.data_requests.archive import archive_build, archive_path
from compliance.data_requests.erasure import person_erase
from compliance.data_requests.models import DataRequest
from compliance.data_requests.requests import data_request_log, data_request_mine
from compliance.models import AuditEntry
from compliance.tests.data_subjects import World, two_subjects
from consent.models import AccountLink, ConsentEvent
from consent.receipts import receipt_document, receipt_verifies
from delivery import outbound
from delivery.models import WebhookMessage
from delivery.services import webhook_send
from delivery.signing import verify
from portal.errors import ApplicationError
from portal.models import User
from portal.tests.factories import PASSWORD, ComplianceStaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _archive_dir(settings: Any, tmp_path: Path) -> None:
    settings.COMPLIANCE_ARCHIVE_DIR = tmp_path / "archives"


class _Bank(ThreadingHTTPServer):
    """A bank's webhook receiver on 127.0.0.1 that keeps every request's headers and body."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[tuple[dict[str, str], bytes]] = []


class _Handler(BaseHTTPRequestHandler):
    server: _Bank

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append((dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()


@pytest.fixture
def bank_receiver(monkeypatch: Any) -> Iterator[_Bank]:
    monkeypatch.setattr(outbound, "_client", None)
    server = _Bank()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _erase(world: World, staff: User | None = None) -> DataRequest:
    staff = staff or ComplianceStaffFactory()
    request = data_request_log(person=world.alice.user, kind="erasure", reason="Art. 17 letter", actor=staff)
    return person_erase(request=request, actor=staff)


def _rows_containing(value: str) -> dict[str, int]:
    """Return, per table, how many rows hold `value` in any column (each column read as text)."""
    found = {}
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            columns = [column.name for column in connection.introspection.get_table_description(cursor, table)]
            matches = " OR ".join(f"LOWER(CAST({quote(column)} AS TEXT)) LIKE %s" for column in columns)
            # Table and column names come from the database's own catalogue, quoted.
            query = f"SELECT count(*) FROM {quote(table)} WHERE {matches}"  # noqa: S608
            cursor.execute(query, [f"%{value.lower()}%"] * len(columns))
            count = cursor.fetchone()[0]
            if count:
                found[table] = count
    return found


def test_erasure_leaves_no_personal_value_in_any_table_and_keeps_the_other_person(
    django_capture_on_commit_callbacks: Any,
) -> None:
    world = two_subjects()
    alice, bob = world.alice, world.bob
    refs = [link.account_ref for link in alice.links]
    archived = archive_build(request_id=data_request_mine(person=alice.user).pk)
    assert archived is not None
    archive_file = archive_path(archived)
    assert archive_file is not None
    assert _rows_containing(alice.email)  # the search finds what is there
    assert _rows_containing(alice.merchant)
    with django_capture_on_commit_callbacks(execute=True):
        done = _erase(world)
    assert done.state == DataRequest.State.DONE
    for value in (alice.email, alice.name, alice.merchant, *refs):
        assert _rows_containing(value) == {}, value
    assert not archive_file.exists()  # deleted once the erasure committed
    # The other person is untouched.
    for value in (bob.email, bob.name, bob.merchant):
        assert _rows_containing(value)
    assert AccountLink.objects.get(pk=bob.links[0].pk).status == AccountLink.Status.ACTIVE


def test_consent_records_are_kept_pseudonymised_and_their_receipts_still_verify() -> None:
    world = two_subjects()
    before = set(ConsentEvent.objects.filter(user=world.alice.user).values_list("public_id", flat=True))
    _erase(world)
    events = list(ConsentEvent.objects.filter(user=world.alice.user))
    assert before < {event.public_id for event in events}  # all kept, plus the unlink
    for event in events:
        document = receipt_document(event)
        assert receipt_verifies(document)
        assert document["receipt"]["person"] == {"id": world.alice.user.pk, "email": None, "pseudonymised": True}


def test_the_chain_verifies_after_erasure_and_erased_entries_keep_only_a_commitment() -> None:
    world = two_subjects()
    audit_seal()
    _erase(world)
    audit_seal()
    report = audit_verify()
    assert report.ok, report.reason
    erased = AuditEntry.objects.exclude(personal_commitment="")
    assert erased.count() >= 5
    assert set(erased.values_list("actor_label", "target_label", "data_json", "ip", "personal_salt")) == {
        ("[erased]", "[erased]", '{"erased":true}', None, "")
    }
    assert AuditEntry.objects.get(action="data_request.person_erased").data["audit_entries"] == erased.count()


def test_a_forged_commitment_passes_the_trigger_but_not_verification() -> None:
    world = two_subjects()
    _erase(world)
    audit_seal()
    entry = AuditEntry.objects.exclude(personal_salt="").exclude(personal_commitment__gt="").first()
    assert entry is not None
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE compliance_auditentry SET actor_label = '[erased]', target_label = '[erased]',"
            " data_json = '{\"erased\":true}', ip = NULL, personal_salt = '', personal_commitment = %s WHERE id = %s",
            ["f" * 64, entry.pk],
        )
    report = audit_verify()
    assert report.broken_at == entry.link.position
    assert "altered" in report.reason


def test_any_other_update_of_an_entry_is_refused_by_the_database() -> None:
    world = two_subjects()
    _erase(world)
    erased = AuditEntry.objects.exclude(personal_commitment="").first()
    fresh = AuditEntry.objects.filter(personal_commitment="").exclude(personal_salt="").first()
    assert erased is not None
    assert fresh is not None
    statements = [
        ("UPDATE compliance_auditentry SET action = 'x' WHERE id = %s", fresh.pk),
        ("UPDATE compliance_auditentry SET actor_label = '[erased]' WHERE id = %s", fresh.pk),
        # An erased entry cannot be erased again with another commitment.
        ("UPDATE compliance_auditentry SET personal_commitment = repeat('a', 64) WHERE id = %s", erased.pk),
    ]
    for statement, pk in statements:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [pk])


def test_each_affected_bank_gets_a_signed_person_erased_webhook(bank_receiver: _Bank) -> None:
    world = two_subjects(endpoint_url=f"http://127.0.0.1:{bank_receiver.server_address[1]}/hooks")
    _erase(world)
    [message] = WebhookMessage.objects.filter(event_type="person.erased")
    assert message.partner_id == world.bank.pk
    assert message.payload["data"]["links"] == [link.pk for link in world.alice.links]
    assert webhook_send(message_id=message.pk) == "delivered"
    [(headers, body)] = [(h, b) for h, b in bank_receiver.received if b"person.erased" in b]
    assert verify(world.endpoint.secret, headers, body) == message.msg_id
    sent = json.loads(body)
    assert sent["type"] == "person.erased"
    assert sent["data"]["links"] == [link.pk for link in world.alice.links]
    assert world.alice.email.encode() not in body


def test_the_person_can_no_longer_sign_in_and_their_session_ends(client: Client) -> None:
    world = two_subjects()
    assert client.login(email=world.alice.email, password=PASSWORD)
    _erase(world)
    assert client.get("/me/").status_code == 302  # sent to sign in
    assert not Client().login(email=world.alice.email, password=PASSWORD)
    person = User.objects.get(pk=world.alice.user.pk)
    assert not person.is_active
    assert not person.has_usable_password()


def test_erasure_is_one_transaction(monkeypatch: Any) -> None:
    world = two_subjects()
    staff = ComplianceStaffFactory()
    request = data_request_log(person=world.alice.user, kind="erasure", reason="Letter", actor=staff)
    entries_before = AuditEntry.objects.count()

    def failing(*args: Any) -> None:
        raise RuntimeError("the trail could not be erased")

    monkeypatch.setattr(erasure, "_erase_entries", failing)
    with pytest.raises(RuntimeError):
        person_erase(request=request, actor=staff)
    assert User.objects.get(pk=world.alice.user.pk).email == world.alice.email
    assert AccountLink.objects.get(pk=world.alice.links[0].pk).status == AccountLink.Status.ACTIVE
    assert not WebhookMessage.objects.filter(event_type="person.erased").exists()
    assert AuditEntry.objects.count() == entries_before
    assert DataRequest.objects.get(pk=request.pk).state == DataRequest.State.QUEUED


def test_only_compliance_erases_and_only_once() -> None:
    world = two_subjects()
    staff = ComplianceStaffFactory()
    request = data_request_log(person=world.alice.user, kind="erasure", reason="Letter", actor=staff)
    with pytest.raises(ApplicationError) as refused:
        person_erase(request=request, actor=world.bob.user)
    assert refused.value.code == "forbidden"
    person_erase(request=request, actor=staff)
    with pytest.raises(ApplicationError) as again:
        person_erase(request=request, actor=staff)
    assert again.value.code == "not_erasable"
    with pytest.raises(ApplicationError) as logged:
        data_request_log(person=User.objects.get(pk=world.alice.user.pk), kind="erasure", reason="x", actor=staff)
    assert logged.value.code == "already_erased"


def test_entries_from_before_erasure_existed_still_verify_and_are_counted_not_erased() -> None:
    world = two_subjects()
    fields = {
        "created_at": timezone.now(),
        "actor_type": "user",
        "actor_id": str(world.alice.user.pk),
        "actor_label": world.alice.email,
        "action": "legacy.sign_in",
        "target_type": "",
        "target_id": "",
        "target_label": "",
        "data_json": "{}",
        "ip": None,
        "partner_id": None,
        "person_id": world.alice.user.pk,
        "personal_salt": "",
        "personal_commitment": "",
    }
    legacy = AuditEntry(**fields, content_hash=content_hash([fields[name] for name in HASHED_FIELDS]))
    legacy.save(force_insert=True)
    erased = _erase(world)
    audit_seal()
    assert audit_verify().ok
    done = AuditEntry.objects.get(action="data_request.person_erased")
    assert done.data["audit_entries_unerasable"] == 1
    assert erased.state == DataRequest.State.DONE
    assert AuditEntry.objects.get(pk=legacy.pk).actor_label == world.alice.email  # left as it was, and said so
