"""What a bank may see of an entry in its own slice: everything but who the people outside the bank are.

A bank knows its members and, of the platform's users, only the account links they made with it:
never their email address or platform id. So in a bank's slice a person who is not one of its
members is shown as `OUTSIDER`, on the page and in the CSV alike, and values under person-naming
keys in an entry's data are hidden.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..audit import canonical_json
from ..models import AuditEntry

OUTSIDER = "A person (not one of your members)"
HIDDEN = "[hidden from the bank]"
PERSON_KEYS = frozenset({"user", "user_id", "email", "person", "person_id", "actor", "by_user"})
USER_TARGET = "portal.user"


def _hide(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: HIDDEN if key in PERSON_KEYS else _hide(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_hide(item) for item in value]
    return value


@dataclass(frozen=True)
class BankLens:
    """The bank's view of entries: `members` are the ids (as text) of the people who are its members."""

    members: frozenset[str]

    def shows_actor(self, actor_type: str, actor_id: str) -> bool:
        """Return True unless the actor is a person who is not one of the bank's members."""
        return actor_type != AuditEntry.ActorType.USER or actor_id in self.members

    def shows_target(self, target_type: str, target_id: str) -> bool:
        """Return True unless the target is a person who is not one of the bank's members."""
        return target_type != USER_TARGET or target_id in self.members

    def who(self, entry: AuditEntry) -> str:
        """Return who did it, as the bank may see it."""
        if not self.shows_actor(entry.actor_type, entry.actor_id):
            return OUTSIDER
        return entry.actor_label or entry.get_actor_type_display()

    def about(self, entry: AuditEntry) -> str:
        """Return what it was about, as the bank may see it."""
        return entry.target_label if self.shows_target(entry.target_type, entry.target_id) else OUTSIDER

    def data(self, data: Any) -> Any:
        """Return an entry's data with every value under a person-naming key hidden."""
        return _hide(data)

    def csv_row(self, columns: Sequence[str], row: Sequence[Any]) -> list[Any]:
        """Return one CSV row (values in `columns` order) as the bank may see it."""
        values = dict(zip(columns, row, strict=True))
        if not self.shows_actor(values["actor_type"], values["actor_id"]):
            values["actor_id"], values["actor"] = "", OUTSIDER
        if not self.shows_target(values["target_type"], values["target_id"]):
            values["target_id"], values["target"] = "", OUTSIDER
        if str(values["person_id"] or "") not in self.members:
            values["person_id"] = None
        values["data"] = canonical_json(self.data(json.loads(values["data"] or "{}")))
        return [values[name] for name in columns]
