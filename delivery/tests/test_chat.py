"""Conversations in process: consent offered and checked, the signed chat.message to a real loopback bot,
retries and dead letters, replies that must answer the same person at the same bank, fraud answers once."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from compliance.models import AuditEntry
from consent.models import ConsentGrant
from consent.services import consent_revoke
from delivery import services
from delivery.chat.models import BotMessage, ChatMessage, Conversation, FraudAnswer
from delivery.chat.sending import bot_message_send, bot_messages_sweep
from delivery.chat.services import ConsentNeeded, chat_send, conversation_end, fraud_alert_answer
from delivery.demo_gateway import GatewayReceiver
from delivery.models import Delivery, InboxMessage
from delivery.tests.chatting import BOT_URL, HELP_SCOPE, bot_receiver, chat_bank, chatting, reply
from partners.models import PartnerMembership
from partners.services import capability_create
from partners.tests.factories import member_of
from portal.errors import Conflict
from portal.tests.signing_in import sign_in_verified

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events/"


@pytest.fixture
def bot(bot_server: GatewayReceiver) -> GatewayReceiver:
    return bot_server


def _post(client: Client, key: str, body: dict[str, Any]) -> Any:
    return client.post(EVENTS, body, content_type="application/json", headers={"Authorization": f"Bearer {key}"})


def _sent(c: Any, text: str = "What's my balance?") -> ChatMessage:
    return chat_send(user=c.user, partner=c.bank, text=text)


def test_without_customer_service_consent_the_page_offers_it_unticked_and_granting_it_opens_the_chat(
    client: Client,
) -> None:
    c = chatting(BOT_URL, allowed=False)
    with pytest.raises(ConsentNeeded):
        _sent(c)
    assert not BotMessage.objects.exists()
    sign_in_verified(client, c.user)
    page = client.get(f"/me/chat/{c.bank.slug}/").content.decode()
    assert "Let " in page
    assert "chatbot answer you?" in page
    assert 'name="scope_version"' in page
    assert " checked" not in page
    assert 'id="chat-text"' not in page  # no way to write before the person decides
    nothing = client.post(f"/me/chat/{c.bank.slug}/allow/", {})
    assert nothing.status_code == 400
    assert "Tick the box" in nothing.content.decode()
    assert not ConsentGrant.objects.filter(link=c.link).exists()
    version = c.bank.scopes.get().published_version
    done = client.post(f"/me/chat/{c.bank.slug}/allow/", {"scope_version": version.pk})
    assert done.status_code == 302
    grant = ConsentGrant.objects.get(link=c.link)
    assert (grant.purpose, grant.message_types, grant.status) == ("customer_service", ["chat_reply"], "active")
    assert 'id="chat-text"' in client.get(f"/me/chat/{c.bank.slug}/").content.decode()


def test_a_message_goes_to_the_bot_signed_with_the_capabilitys_secret_over_real_http(
    bot: GatewayReceiver, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = chatting(BOT_URL)
    bot_receiver(c.bot, bot)
    published: list[int] = []
    from delivery import tasks

    monkeypatch.setattr(tasks.send_bot_message, "apply_async", lambda **kw: published.append(kw["args"][0]))
    with django_capture_on_commit_callbacks(execute=True):
        message = _sent(c)
    row = BotMessage.objects.get(chat_message=message)
    assert published == [row.pk]
    assert row.enqueued_at is not None
    assert bot_message_send(message_id=row.pk) == "delivered"
    assert bot_message_send(message_id=row.pk) == "skipped"  # a second task with the same id sends nothing
    [body] = bot.state.messages.values()
    assert body["type"] == "chat.message"
    assert body["data"]["message"] == {
        "id": message.pk,
        "text": "What's my balance?",
        "sent_at": message.created_at.isoformat(),
    }
    assert (body["data"]["link"], body["data"]["capability"]) == (c.link.pk, "ask_anything")
    assert bot.state.rejected == 0
    assert list(bot.state.messages) == [row.msg_id]
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("delivered", 1)


def test_a_failing_bot_is_retried_on_the_schedule_then_a_permanent_refusal_is_a_dead_letter(
    bot: GatewayReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    c = chatting(BOT_URL)
    bot_receiver(c.bot, bot)
    bot.state.fail_next = 1
    row = BotMessage.objects.get(chat_message=_sent(c))
    assert bot_message_send(message_id=row.pk) == "retrying"
    row.refresh_from_db()
    assert row.attempts == 1
    assert row.enqueued_at is None
    assert row.next_attempt_at > timezone.now()
    assert bot_message_send(message_id=row.pk) == "not_due"
    # The sweeper takes it again once due.
    assert bot_messages_sweep(now=row.next_attempt_at, reenqueue_after=timedelta(minutes=1), limit=10) == 1
    BotMessage.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    bot.state.fail_next, bot.state.fail_status = 1, 410
    assert bot_message_send(message_id=row.pk) == "dead"
    row.refresh_from_db()
    assert row.status == "dead"
    assert row.attempt_log.count() == 2
    assert AuditEntry.objects.filter(action="delivery.bot_dead_letter").exists()
    assert bot.state.messages == {}


def test_consent_withdrawn_after_writing_stops_the_send_and_refuses_the_reply(
    bot: GatewayReceiver, client: Client
) -> None:
    c = chatting(BOT_URL)
    bot_receiver(c.bot, bot)
    message = _sent(c)
    for grant in ConsentGrant.objects.filter(link=c.link, purpose="customer_service"):
        consent_revoke(grant=grant, actor=c.user)
    row = BotMessage.objects.get(chat_message=message)
    assert bot_message_send(message_id=row.pk) == "cancelled"
    assert bot.state.arrivals == 0  # nothing left the platform
    answer = _post(client, c.api_key, reply(message.pk, c.link.pk))
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "consent_required"
    assert not ChatMessage.objects.filter(sender="bank").exists()
    with pytest.raises(ConsentNeeded):
        _sent(c, "Hello again")


def test_a_reply_shows_in_the_conversation_and_the_live_poll(client: Client) -> None:
    c = chatting(BOT_URL)
    message = _sent(c)
    card = {"kind": "balance", "account_mask": "•••• 1234", "balance": "12.30", "currency": "GBP"}
    answer = _post(client, c.api_key, reply(message.pk, c.link.pk, card=card, suggestions=["Last payments"]))
    assert answer.status_code == 202, answer.content
    assert answer.json()["status"] == "delivered"
    shown = ChatMessage.objects.get(sender="bank")
    assert (shown.in_reply_to_id, shown.conversation.user_id, shown.card["balance"]) == (message.pk, c.user.pk, "12.30")
    assert not Delivery.objects.filter(event_id=shown.event_id).exists()  # shown as it committed
    sign_in_verified(client, c.user)
    poll = client.get(f"/me/chat/{c.bank.slug}/new/?after={message.pk}").json()
    assert [m["id"] for m in poll["messages"]] == [shown.pk]
    assert poll["states"] == {str(message.pk): {"status": "pending", "words": "Sending…"}}
    assert "Your balance is 12.30 GBP." in poll["messages"][0]["html"]
    assert "Last payments" in poll["messages"][0]["html"]
    page = client.get(f"/me/chat/{c.bank.slug}/").content.decode()
    assert "•••• 1234" in page
    assert "What&#x27;s my balance?" in page


@pytest.mark.parametrize(
    "case",
    ["other_person", "other_bank", "bank_message", "malformed_card", "oversized", "unknown_field", "ended"],
)
def test_a_reply_that_may_not_show_is_refused_with_a_clear_code_and_nothing_shows(case: str, client: Client) -> None:
    c = chatting(BOT_URL)
    message = _sent(c)
    key, body = c.api_key, reply(message.pk, c.link.pk)
    expected = (404, "reply_not_found")
    if case == "other_person":  # the same bank's other customer's link
        other = chatting(BOT_URL, bank=c.bank)
        body = reply(message.pk, other.link.pk)
    elif case == "other_bank":
        stranger = chatting(BOT_URL)
        key, body = stranger.api_key, reply(message.pk, stranger.link.pk)
    elif case == "bank_message":
        _post(client, key, reply(message.pk, c.link.pk, event_id="first"))
        body = reply(ChatMessage.objects.get(sender="bank").pk, c.link.pk)
    elif case == "malformed_card":
        body["payload"]["card"] = {"kind": "chart", "title": "Coffee", "points": [{"label": "W1", "value": 3}]}
        expected = (400, "invalid")
    elif case == "oversized":
        body["payload"]["text"] = "x" * 2001
        expected = (400, "invalid")
    elif case == "unknown_field":
        body["payload"]["html"] = "<b>hi</b>"
        expected = (400, "invalid")
    elif case == "ended":
        conversation_end(user=c.user, partner=c.bank)
        expected = (409, "conversation_ended")
    before = ChatMessage.objects.filter(sender="bank").count()
    answer = _post(client, key, body)
    assert (answer.status_code, answer.json()["error"]["code"]) == expected, answer.content
    assert answer.json()["error"]["message"]
    assert ChatMessage.objects.filter(sender="bank").count() == before


def _fraud_alert(c: Any) -> InboxMessage:
    fraud = {
        "type": "fraud_alert",
        "link": c.link.pk,
        "event_id": "fraud-1",
        "payload": {"account_mask": "•••• 1", "amount": "99.00", "currency": "GBP", "merchant": "Shop",
                    "occurred_at": "2026-01-01T10:00:00Z"},
    }  # fmt: skip
    services.event_intake(partner=c.bank, events=[fraud], idempotency_key=None, actor=None)
    services.delivery_send_batch(
        delivery_ids=list(Delivery.objects.filter(channel="inbox").values_list("pk", flat=True))
    )
    return InboxMessage.objects.get(user=c.user, type="fraud_alert")


def test_a_fraud_alert_asks_and_the_answer_goes_to_the_bank_once_and_its_reply_shows(
    bot: GatewayReceiver, client: Client
) -> None:
    c = chatting(BOT_URL)
    bot_receiver(c.bot, bot)
    alert = _fraud_alert(c)
    sign_in_verified(client, c.user)
    inbox = client.get("/me/inbox/").content.decode()
    assert "This was me" in inbox
    assert "This wasn't me" in inbox
    answered = client.post(f"/me/inbox/alerts/{alert.pk}/answer/", {"answer": "not_me"})
    assert answered.status_code == 302
    assert answered["Location"] == f"/me/chat/{c.bank.slug}/"
    again = client.post(f"/me/inbox/alerts/{alert.pk}/answer/", {"answer": "was_me"})
    assert again.status_code == 302
    with pytest.raises(Conflict):
        fraud_alert_answer(user=c.user, inbox_message_id=alert.pk, answer="was_me")
    answer = FraudAnswer.objects.get()
    assert answer.answer == "not_me"
    with pytest.raises(IntegrityError), transaction.atomic():  # the database holds the line too
        FraudAnswer.objects.create(inbox_message=alert, answer="was_me", chat_message=ChatMessage.objects.create(
            conversation=answer.chat_message.conversation, sender="person", text="x"))  # fmt: skip
    [row] = BotMessage.objects.all()
    assert bot_message_send(message_id=row.pk) == "delivered"
    [body] = bot.state.messages.values()
    assert body["type"] == "fraud_alert.answered"
    assert (body["data"]["answer"], body["data"]["event_id"], body["data"]["link"]) == ("not_me", "fraud-1", c.link.pk)
    posted = _post(client, c.api_key, reply(body["data"]["message"]["id"], c.link.pk, text="We froze your card."))
    assert posted.status_code == 202, posted.content
    page = client.get(f"/me/chat/{c.bank.slug}/").content.decode()
    assert "We froze your card." in page
    assert "This wasn&#x27;t me" in page
    assert "You answered: This wasn&#x27;t me" in client.get("/me/inbox/").content.decode()


def test_another_persons_fraud_alert_cannot_be_answered(client: Client) -> None:
    c = chatting(BOT_URL)
    alert = _fraud_alert(c)
    stranger = chatting(BOT_URL, bank=c.bank)
    sign_in_verified(client, stranger.user)
    client.post(f"/me/inbox/alerts/{alert.pk}/answer/", {"answer": "not_me"})
    assert not FraudAnswer.objects.exists()
    assert client.get(f"/me/chat/{chat_bank(BOT_URL)[0].slug}/").status_code == 404  # a bank they never linked


def test_ending_the_conversation_and_writing_again(client: Client) -> None:
    c = chatting(BOT_URL)
    sign_in_verified(client, c.user)
    client.post(f"/me/chat/{c.bank.slug}/send/", {"text": "Hi"})
    client.post(f"/me/chat/{c.bank.slug}/end/")
    assert Conversation.objects.get().is_ended
    assert "You ended this conversation" in client.get(f"/me/chat/{c.bank.slug}/").content.decode()
    empty = client.post(f"/me/chat/{c.bank.slug}/send/", {"text": "   "})
    assert empty.status_code == 400
    assert "Write a message" in empty.content.decode()
    client.post(f"/me/chat/{c.bank.slug}/send/", {"text": "Back again"})
    assert not Conversation.objects.get().is_ended
    assert ChatMessage.objects.count() == 2


@pytest.mark.parametrize("count", [2, 30])
def test_the_conversation_page_reads_a_fixed_number_of_queries(
    count: int, client: Client, django_assert_num_queries: Any
) -> None:
    c = chatting(BOT_URL)
    card = {"kind": "chart", "title": "Coffee", "points": [{"label": "W1", "value": "3.20"}]}
    for index in range(count // 2):
        message = _sent(c, f"Question {index}")
        _post(client, c.api_key, reply(message.pk, c.link.pk, card=card, suggestions=["More"]))
    assert ChatMessage.objects.count() == count
    sign_in_verified(client, c.user)
    with django_assert_num_queries(12):
        page = client.get(f"/me/chat/{c.bank.slug}/")
    assert page.content.decode().count('class="chat-message') == count
    with django_assert_num_queries(9):
        client.get(f"/me/chat/{c.bank.slug}/new/?after=0")


def test_the_webhook_payload_is_json_the_bank_can_verify(bot: GatewayReceiver) -> None:
    c = chatting(BOT_URL)
    bot_receiver(c.bot, bot)
    row = BotMessage.objects.get(chat_message=_sent(c))
    bot.state.secret = "whsec_" + "B" * 44  # a bank checking with another secret refuses it
    bot_message_send(message_id=row.pk)
    assert bot.state.rejected == 1
    json.dumps(row.payload)


def test_a_tapped_suggestion_goes_to_the_capability_it_came_from(client: Client) -> None:
    c = chatting(BOT_URL)
    other = capability_create(
        partner=c.bank,
        code="atm_finder",
        actor=None,
        name="Find an ATM",
        description="The nearest cash machines.",
        sample_utterances=["Where is the nearest ATM?"],
        scopes=[HELP_SCOPE],
        message_types=["chat_reply"],
        webhook_url="http://127.0.0.1:9/atm",
        status="published",
    )
    sign_in_verified(client, c.user)
    page = client.get(f"/me/chat/{c.bank.slug}/").content.decode()
    assert 'value="atm_finder"' in page
    assert "Where is the nearest ATM?" in page
    client.post(f"/me/chat/{c.bank.slug}/send/", {"text": "Where is the nearest ATM?", "capability": "atm_finder"})
    client.post(f"/me/chat/{c.bank.slug}/send/", {"text": "Something else"})
    assert [row.capability_id for row in BotMessage.objects.order_by("pk")] == [other.pk, c.bot.pk]


def test_the_bank_sees_its_bots_dead_letters_and_sends_them_again(bot: GatewayReceiver, client: Client) -> None:
    c = chatting(BOT_URL)
    bot_receiver(c.bot, bot)
    row = BotMessage.objects.get(chat_message=_sent(c, "Are you there?"))
    bot.state.fail_next, bot.state.fail_status = 1, 404
    assert bot_message_send(message_id=row.pk) == "dead"
    sign_in_verified(client, member_of(c.bank, PartnerMembership.Role.COMPLIANCE))
    page = client.get(f"/bank/{c.bank.slug}/deliveries/").content.decode()
    assert "Messages your chatbot did not get" in page
    assert "HTTP 404" in page
    assert "Are you there?" not in page  # the bank's page names the failure, not what the person wrote
    sign_in_verified(client, member_of(c.bank))
    assert client.post(f"/bank/{c.bank.slug}/deliveries/replay/").status_code == 302
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 0)
    assert bot_message_send(message_id=row.pk) == "delivered"
    assert list(bot.state.messages) == [row.msg_id]
