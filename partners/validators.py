"""Validation of what banks declare: scope content, message and event types, the URLs the platform will call."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from portal.errors import ApplicationError, Conflict
from portal.outbound_guard import Unresolvable, UnsafeAddress, checked_addresses, insecure_outbound_allowed

from .models import MAX_GRANT_DAYS, DataCategory, DataScopeVersion, MessageType, Purpose, WebhookEvent

# Purposes people ask for that the platform does not allow, and what to say.
FORBIDDEN_PURPOSES = {
    "advertising": "Bank data is never used for advertising on this platform.",
    "marketing": "Bank data is never used for marketing on this platform.",
    "ads": "Bank data is never used for advertising on this platform.",
    "profiling": "Bank data is never used to profile people on this platform.",
    "sale": "Bank data is never sold on this platform.",
}


def _allowed_list(name: str, values: Iterable[str]) -> str:
    return f"{name}: " + ", ".join(values)


def validate_purposes(purposes: Any) -> list[str]:
    """Return the purposes if every one is on the platform's closed list, else raise."""
    if not isinstance(purposes, list) or not purposes or not all(isinstance(p, str) for p in purposes):
        raise ApplicationError(
            "Choose at least one purpose.", fields={"purposes": ["Choose at least one purpose from the list."]}
        )
    for purpose in purposes:
        if purpose.lower() in FORBIDDEN_PURPOSES:
            raise ApplicationError(
                f"'{purpose}' is not a permitted purpose. {FORBIDDEN_PURPOSES[purpose.lower()]}",
                code="purpose_not_allowed",
                fields={"purposes": [f"'{purpose}' is not allowed. {FORBIDDEN_PURPOSES[purpose.lower()]}"]},
            )
        if purpose not in Purpose.values:
            raise ApplicationError(
                f"'{purpose}' is not a purpose the platform knows. {_allowed_list('Choose from', Purpose.values)}.",
                code="unknown_purpose",
                fields={"purposes": [f"Unknown purpose '{purpose}'. {_allowed_list('Choose from', Purpose.values)}."]},
            )
    return list(dict.fromkeys(purposes))


def validate_scope_fields(fields: Any) -> list[dict[str, str]]:
    """Return the scope's data fields if each has a unique name and a meaning, else raise."""
    message = "List each field the scope covers with a name and what it means, like {'name': 'balance', ...}."
    if not isinstance(fields, list) or not fields:
        raise ApplicationError(message, fields={"fields": ["Add at least one field."]})
    cleaned: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in fields:
        if (
            not isinstance(item, dict)
            or not str(item.get("name", "")).strip()
            or not str(item.get("description", "")).strip()
        ):
            raise ApplicationError(message, fields={"fields": ["Each field needs a name and a description."]})
        name = str(item["name"]).strip()[:64]
        if name in seen:
            raise Conflict(
                f"The field '{name}' is listed twice.",
                code="duplicate",
                fields={"fields": [f"'{name}' is listed twice."]},
            )
        seen.add(name)
        cleaned.append({"name": name, "description": str(item["description"]).strip()[:300]})
    return cleaned


def validate_scope_content(content: dict[str, Any]) -> dict[str, Any]:
    """Return a scope version's content checked against the platform's rules, or raise."""
    errors: dict[str, list[str]] = {}
    if not str(content.get("name", "")).strip():
        errors["name"] = ["Give the scope a plain-language name people will read."]
    if not str(content.get("description", "")).strip():
        errors["description"] = ["Describe, in plain words, what the bank will share and why."]
    if content.get("category") not in DataCategory.values:
        errors["category"] = [_allowed_list("Choose a category", DataCategory.values)]
    if content.get("sensitivity") not in DataScopeVersion.Sensitivity.values:
        errors["sensitivity"] = ["Choose low, medium or high."]
    for name, low, high in (("retention_days", 1, 3650), ("max_duration_days", 1, MAX_GRANT_DAYS)):
        value = content.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            errors[name] = [f"Enter a whole number of days from {low} to {high}."]
    if errors:
        code = "duration_too_long" if "max_duration_days" in errors and len(errors) == 1 else "invalid"
        raise ApplicationError(
            "Some details of the scope are not valid. Correct them and try again.", code=code, fields=errors
        )
    content["purposes"] = validate_purposes(content.get("purposes"))
    content["fields"] = validate_scope_fields(content.get("fields"))
    content["name"] = str(content["name"]).strip()
    content["description"] = str(content["description"]).strip()
    return content


def _validate_choice_list(
    values: Any, *, allowed: list[str], field: str, noun: str, choose: str, choose_field: str
) -> list[str]:
    """Return `values` without repeats if it is a non-empty list of `allowed` ones, else raise."""
    if not isinstance(values, list) or not values:
        raise ApplicationError(choose, fields={field: [choose_field]})
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise ApplicationError(
            f"Unknown {noun} {unknown[0]!r}. {_allowed_list('Choose from', allowed)}.",
            fields={field: [f"Unknown {noun} {unknown[0]!r}."]},
        )
    return list(dict.fromkeys(values))


def validate_message_types(message_types: Any) -> list[str]:
    """Return the message types if each is one the platform sends, else raise."""
    return _validate_choice_list(
        message_types,
        allowed=MessageType.values,
        field="message_types",
        noun="message type",
        choose="Choose the message types this capability sends.",
        choose_field="Choose at least one.",
    )


def validate_event_types(event_types: Any) -> list[str]:
    """Return the webhook events if each is one the platform sends, else raise."""
    return _validate_choice_list(
        event_types,
        allowed=WebhookEvent.values,
        field="event_types",
        noun="event",
        choose="Choose the events this endpoint receives.",
        choose_field="Choose at least one event.",
    )


def validate_changeable(changes: Iterable[str], *, changeable: Iterable[str]) -> None:
    """Raise, naming them, when `changes` holds fields that cannot be changed."""
    unknown = set(changes) - set(changeable)
    if unknown:
        raise ApplicationError(
            f"These cannot be changed: {', '.join(sorted(unknown))}.", fields={k: ["Read-only."] for k in unknown}
        )


def validate_outbound_url(url: str, *, field: str = "url") -> str:
    """Return `url` if the platform may call it: https, and a host whose every address is public.

    The host name is resolved now (and again at each connection, see `portal.outbound_guard`).
    Development and tests allow http and loopback (setting PORTAL_ALLOW_INSECURE_OUTBOUND) so that a
    receiver on 127.0.0.1 can stand in for a bank; private addresses are refused everywhere.
    """
    allow_insecure = insecure_outbound_allowed()
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 0
    if parts.scheme not in ("https", "http") or not parts.hostname or not port:
        raise ApplicationError(
            "Enter a full web address starting with https://.", code="invalid_url", fields={field: ["Not a valid URL."]}
        )
    if parts.scheme != "https" and not allow_insecure:
        raise ApplicationError(
            "The address must use https.", code="insecure_url", fields={field: ["Use an https:// address."]}
        )
    if parts.username or parts.password:
        raise ApplicationError(
            "Do not put a user name or password in the address.",
            code="invalid_url",
            fields={field: ["Remove credentials."]},
        )
    try:
        checked_addresses(parts.hostname, port, allow_loopback=allow_insecure)
    except UnsafeAddress as exc:
        raise ApplicationError(
            f"{exc}. Use an https address on the public internet that reaches your bank's servers.",
            code="unsafe_url",
            fields={field: [f"{exc.host} is a {exc.kind} address. Use a public address."]},
        ) from exc
    except Unresolvable as exc:
        raise ApplicationError(
            f"{exc.host} could not be found in DNS. Check the address, or add it once its DNS record is live.",
            code="unsafe_url",
            fields={field: [f"{exc.host} does not resolve. Check the host name."]},
        ) from exc
    return url


LEI_LENGTH = 20


def validate_lei(value: str, *, field: str = "identifier") -> str:
    """Return a Legal Entity Identifier in capitals if it is well formed (ISO 17442), else raise.

    An LEI is 18 letters or digits and two check digits; read as a number with A=10 … Z=35, the
    whole code leaves a remainder of 1 when divided by 97 (ISO 7064 MOD 97-10), which catches
    every single mistyped character and almost every swap of two.
    """
    lei = "".join(value.split()).upper()
    if len(lei) != LEI_LENGTH or not lei.isascii() or not lei.isalnum():
        raise ApplicationError(
            "Enter the LEI as 20 letters and digits, like 5493001KJTIIGC8Y1R12.",
            code="invalid_lei",
            fields={field: ["An LEI has exactly 20 letters and digits."]},
        )
    if not lei[-2:].isdigit() or int("".join(str(int(char, 36)) for char in lei)) % 97 != 1:
        raise ApplicationError(
            "This LEI's check digits do not match: check it for a mistyped character.",
            code="invalid_lei",
            fields={field: ["This is not a valid LEI. Check each character."]},
        )
    return lei
