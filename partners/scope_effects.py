"""What publishing a scope version did to people's grants, as the bank's scope page shows it.

Consent owns the grants and fills this in through a provider it registers at start-up, because
partners may not import consent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .models import DataScopeVersion


@dataclass(frozen=True)
class GrantChangeLine:
    """One grant a published version changed: which, and what happened to it."""

    grant_id: int
    purpose: str
    outcome: str
    detail: str


@dataclass(frozen=True)
class GrantChanges:
    """The grants one published version changed: counts by outcome, and the first few of them."""

    counts: list[tuple[str, int]] = field(default_factory=list)
    lines: list[GrantChangeLine] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Return how many grants the version changed."""
        return sum(count for _outcome, count in self.counts)


GrantChangesProvider = Callable[[DataScopeVersion], GrantChanges]
_providers: list[GrantChangesProvider] = []


def register_grant_changes_provider(provider: GrantChangesProvider) -> None:
    """Let the app that owns grants say what a published version changed (called from its AppConfig.ready)."""
    if provider not in _providers:
        _providers.append(provider)


def grant_changes_of_version(*, version: DataScopeVersion | None) -> GrantChanges:
    """Return what publishing `version` did to people's grants (nothing when no provider or no version)."""
    if version is None or not _providers:
        return GrantChanges()
    answers = [provider(version) for provider in _providers]
    return GrantChanges(
        counts=[pair for answer in answers for pair in answer.counts],
        lines=[line for answer in answers for line in answer.lines],
    )
