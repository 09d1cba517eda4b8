"""The audit-coverage check, a pytest plugin on for the whole suite: a change to audited state needs its entry.

Every service that changes state appends an audit entry in the same transaction (DESIGN.md, flow 7).
This plugin watches every test: when the outermost transaction that project code opened (a service's
`transaction.atomic()`) commits a change to an audited model without appending an `AuditEntry`, or
project code writes one outside any transaction of its own, the test fails and names the model, the
change, the function that made it and where its transaction began. The engine is in `change_tracker`.

What is audited, what is bookkeeping, and the gaps still open are declared here, in one place each:
`AUDITED` (a predicate per model), `EXEMPT_FIELDS` and `KNOWN_UNAUDITED`.

What it cannot see: which entry belongs to which change (any entry in the transaction covers all of
its changes, so one wide transaction, like `seed_demo`'s, hides a forgotten entry inside it), raw SQL,
and the Celery worker subprocess (the same services run in-process in other tests).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .change_tracker import Change, Tracker, Unaudited, install

DEAD, PENDING = "dead", "pending"  # Delivery.Status and WebhookMessage.Status share these values


def any_change(change: Change) -> bool:
    """Every write counts."""
    return True


def dead_letter_or_replay(change: Change) -> bool:
    """Only giving up (a dead letter) and sending again (a replay) count, not each attempt or retry.

    A row becomes pending again only by a replay (new rows are created pending), so a write that
    sets `pending` on an existing row is one. A status written as an expression cannot be judged
    here and counts.
    """
    if change.fields is not None and "status" not in change.fields:
        return False
    status = change.values.get("status")
    if change.kind == "create":
        return status == DEAD
    return status in (DEAD, PENDING) or not isinstance(status, str)


# The models whose changes must be audited, each with the predicate that says which changes count.
# Not here, on purpose: ConsentEvent (itself a record, written beside the grant's entry), PartnerEvent
# and InboxMessage (traffic, not state anyone decides), attempts and EndpointHealth (operational
# records), LinkAuthorisation and SimulatedAuthorisationCode (one OAuth round trip), auth.Group and
# its permissions (declared in portal/groups.py and set after each migrate), Celery beat's schedules,
# UserSession (bookkeeping beside Django's session rows; ending sessions is audited as
# `auth.sessions_ended`, a session past its limits as `auth.session_expired`).
AUDITED: dict[str, Callable[[Change], bool]] = {
    "portal.User": any_change,  # including its groups and permissions (M2M_FIELDS)
    # The second factor: enrolment, removal, resets and recovery codes; each verification too, since
    # a code that works (or not) moves the device's last step or its throttle (no exempt fields).
    "otp_totp.TOTPDevice": any_change,
    "portal.RecoveryCodeDevice": any_change,
    "portal.RecoveryCode": any_change,
    "partners.Partner": any_change,
    "partners.PartnerMembership": any_change,
    "partners.PartnerUserObjectPermission": any_change,  # who may act for a bank
    "partners.Invitation": any_change,
    "partners.DataScope": any_change,
    "partners.DataScopeVersion": any_change,
    "partners.ChatbotCapability": any_change,
    "partners.UsageTerms": any_change,
    "partners.TermsAcceptance": any_change,
    "partners.PartnerApiKey": any_change,
    "partners.WebhookEndpoint": any_change,
    "consent.AccountLink": any_change,
    "consent.ConsentGrant": any_change,
    "delivery.Delivery": dead_letter_or_replay,
    "delivery.WebhookMessage": dead_letter_or_replay,
    "compliance.AttestationChase": any_change,  # compliance chased a bank for its deletion attestations
}

# Many-to-many fields whose changes count as changes of a model above: "app.Model.field" -> (label, name).
M2M_FIELDS = {
    "portal.User.groups": ("portal.User", "groups"),
    "portal.User.user_permissions": ("portal.User", "user_permissions"),
    "partners.ChatbotCapability.scopes": ("partners.ChatbotCapability", "scopes"),
}

# Pure bookkeeping: a write of only these fields needs no entry.
EXEMPT_FIELDS: dict[str, frozenset[str]] = {
    "portal.User": frozenset({"last_login"}),  # each sign-in; the sign-in itself is audited (auth.login)
    "partners.PartnerApiKey": frozenset({"last_used_at"}),  # each API call, at most once a minute
    "consent.ConsentGrant": frozenset({"reminder_sent_at"}),  # the reminder run appends its own entry
}

# Changes known to escape the trail, while a fix is on its way: none now (dead letters of deliveries
# and webhooks were the last). Each would name the model and a function on the writing call path,
# as module prefix + name (a leading underscore ignored), with a probe test that fails once the
# function appends its entry. The run's summary says which lines no test reached.
KNOWN_UNAUDITED: dict[tuple[str, str], str] = {}


def worth_auditing(change: Change) -> bool:
    """Return True when `change` needs an audit entry in its transaction."""
    exempt = EXEMPT_FIELDS.get(change.model)
    if exempt and change.fields is not None and change.fields <= exempt:
        return False
    return AUDITED[change.model](change)


def known_gap(change: Change) -> tuple[str, str] | None:
    """Return the KNOWN_UNAUDITED key that covers `change`, if one does."""
    for frame in change.by:
        for model, function in KNOWN_UNAUDITED:
            module, _, name = function.rpartition(".")
            same_function = frame.function.lstrip("_") == name.lstrip("_")
            if model == change.model and same_function and frame.module.startswith(module):
                return model, function
    return None


def explain(found: Unaudited) -> str:
    """Return one violation in words: what changed, who changed it, and where its transaction began."""
    change = found.change
    lines = [f"{change.model}: {change.describe()} with no AuditEntry in the same transaction"]
    if change.by:
        lines.append(f"    changed by  {change.by[0]}")
        lines += [f"    called from {where}" for where in change.by[1:4]]
    if change.via is not None:
        lines.append(f"    through     {change.via}")
    if found.unit is None:
        lines.append("    outside any transaction.atomic() of project code, so no entry can share its transaction")
    else:
        lines.append(f"    transaction opened at {found.unit}")
    return "\n".join(lines)


# --- The pytest side ----------------------------------------------------------------------------

tracker = Tracker(worth_auditing, frozenset(AUDITED))
known_seen: Counter[tuple[str, str]] = Counter()


def unexplained(found: list[Unaudited]) -> list[Unaudited]:
    """Return the violations not covered by KNOWN_UNAUDITED, counting the covered ones."""
    left = []
    for item in found:
        key = known_gap(item.change)
        if key is None:
            left.append(item)
        else:
            known_seen[key] += 1
    return left


def _fail_on_violations() -> None:
    found = unexplained(tracker.take())
    if found:
        pytest.fail(
            "Audit coverage: state changed without an audit entry.\n"
            + "\n".join(explain(item) for item in found)
            + "\nAppend the entry with compliance.audit.audit_append() inside that transaction. Pure bookkeeping "
            "fields go to EXEMPT_FIELDS (compliance/testing/audit_coverage.py).",
            pytrace=False,
        )


def pytest_configure(config: pytest.Config) -> None:
    install(tracker, M2M_FIELDS)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    tracker.take()  # what happened before this test (another thread, after the last one) is not its doing
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    _fail_on_violations()  # covers the test's fixtures too
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    result = yield
    _fail_on_violations()
    return result


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not KNOWN_UNAUDITED:
        return
    terminalreporter.section("audit coverage: known gaps (KNOWN_UNAUDITED)")
    for key, why in KNOWN_UNAUDITED.items():
        seen = known_seen[key]
        terminalreporter.write_line(f"{key[0]} in {key[1]}: {f'{seen} time(s)' if seen else 'not seen'} - {why}")
