"""The person's conversation with a bank's chatbot: the page, sending, live poll, allowing, ending, fraud answers."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from consent.services import GrantChoice, consent_grant
from partners.models import MessageType, Partner, Purpose
from portal.errors import ApplicationError, NotFound
from portal.models import User
from portal.requests import client_ip
from portal.roles import role_required

from . import selectors, services
from .models import TEXT_LENGTH


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _bank(request: HttpRequest, slug: str) -> Partner:
    partner = selectors.conversation_partner_for_user(user=_user(request), slug=slug)
    if partner is None:
        raise Http404("You have no account linked at this bank.")
    return partner


def _page(
    request: HttpRequest, partner: Partner, *, error: ApplicationError | None = None, text: str = ""
) -> HttpResponse:
    user = _user(request)
    conversation = selectors.conversation_for_user(user=user, partner=partner)
    rows = selectors.conversation_messages(conversation=conversation)
    allowed = bool(services.chat_links_allowed(user=user, partner=partner))
    bot = services.chat_bot_of(partner)
    context: dict[str, Any] = {
        "partner": partner,
        "conversation": conversation,
        "chat_messages": rows,
        "after": max((m.pk for m in rows), default=0),
        "allowed": allowed,
        "has_bot": bot is not None,
        "suggestions": selectors.chat_suggestions(partner=partner) if allowed and bot else [],
        "offers": [] if allowed else selectors.chat_consent_offers(user=user, partner=partner),
        "error": error,
        "text": text,
        "max_length": TEXT_LENGTH,
    }
    return render(request, "delivery/conversation.html", context, status=error.status if error else 200)


@role_required(User.Role.END_USER)
@require_GET
def conversation(request: HttpRequest, slug: str) -> HttpResponse:
    """Show the conversation with the bank's chatbot, or the offer to allow it to answer."""
    return _page(request, _bank(request, slug))


@role_required(User.Role.END_USER)
@require_POST
def conversation_send(request: HttpRequest, slug: str) -> HttpResponse:
    """Send what the person wrote, or the suggestion they tapped, to the bank's chatbot."""
    partner = _bank(request, slug)
    text = request.POST.get("text", "")
    try:
        services.chat_send(
            user=_user(request),
            partner=partner,
            text=text,
            capability_code=request.POST.get("capability", ""),
            ip=client_ip(request),
        )
    except ApplicationError as error:
        return _page(request, partner, error=error, text=text)
    return redirect(reverse("delivery:conversation", args=[partner.slug]) + "#chat-form")


@role_required(User.Role.END_USER)
@require_GET
@never_cache
def conversation_poll(request: HttpRequest, slug: str) -> JsonResponse:
    """Return the conversation's messages newer than `?after=`, rendered, for the open page to add."""
    user = _user(request)
    partner = _bank(request, slug)
    after = request.GET.get("after", "0")
    conversation = selectors.conversation_for_user(user=user, partner=partner)
    rows = selectors.conversation_messages(conversation=conversation, after_id=int(after) if after.isdigit() else 0)
    return JsonResponse(
        {
            "messages": [
                {
                    "id": message.pk,
                    "from": message.sender,
                    "html": render_to_string(
                        "delivery/includes/chat_message.html", {"message": message, "partner": partner}, request=request
                    ),
                }
                for message in rows
            ],
            "states": {
                str(pk): {"status": status, "words": words}
                for pk, (status, words) in selectors.conversation_send_states(conversation=conversation).items()
            },
            "ended": bool(conversation and conversation.is_ended),
        }
    )


@role_required(User.Role.END_USER)
@require_POST
def conversation_allow(request: HttpRequest, slug: str) -> HttpResponse:
    """Grant what the person ticked so the bank's chatbot may answer them (customer service); nothing pre-ticked."""
    user = _user(request)
    partner = _bank(request, slug)
    offers = {str(offer.version.pk): offer for offer in selectors.chat_consent_offers(user=user, partner=partner)}
    ticked = [offers[pk] for pk in request.POST.getlist("scope_version") if pk in offers]
    if not ticked:
        error = ApplicationError(
            f"Tick the box to let {partner.legal_name}'s chatbot answer you, or go back to your inbox.",
            code="nothing_chosen",
            fields={"scope_version": ["Tick the box to allow it."]},
        )
        return _page(request, partner, error=error)
    choices = [GrantChoice(offer.version.pk, Purpose.CUSTOMER_SERVICE, (MessageType.CHAT_REPLY,)) for offer in ticked]
    try:
        consent_grant(user=user, link=ticked[0].link, choices=choices, ip=client_ip(request))
    except ApplicationError as error:
        return _page(request, partner, error=error)
    messages.success(
        request, f"{partner.legal_name}'s chatbot may now answer you. You can withdraw this on your banks page."
    )
    return redirect("delivery:conversation", slug=partner.slug)


@role_required(User.Role.END_USER)
@require_POST
def conversation_end(request: HttpRequest, slug: str) -> HttpResponse:
    """End the conversation: the bank's replies to it are no longer shown until the person writes again."""
    partner = _bank(request, slug)
    services.conversation_end(user=_user(request), partner=partner, ip=client_ip(request))
    messages.success(request, f"You ended the conversation with {partner.legal_name}. Write again at any time.")
    return redirect("delivery:conversation", slug=partner.slug)


@role_required(User.Role.END_USER)
@require_POST
def fraud_alert_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the person's answer to a fraud alert ("This was me" / "This wasn't me") to the bank, once."""
    try:
        answer = services.fraud_alert_answer(
            user=_user(request), inbox_message_id=pk, answer=request.POST.get("answer", ""), ip=client_ip(request)
        )
    except NotFound as error:
        raise Http404(error.message) from error
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("delivery:inbox")
    partner = answer.inbox_message.partner
    messages.success(request, f"Your answer went to {partner.legal_name}. Their reply will appear here.")
    return redirect("delivery:conversation", slug=partner.slug)
