"""Celery tasks of consent: expiry and reminders on beat, each one service call."""

from __future__ import annotations

from celery import shared_task

from .services import consent_expire_due, consent_send_expiry_reminders


@shared_task(name="consent.tasks.expire_due_grants", ignore_result=True)
def expire_due_grants() -> int:
    """Expire every grant past its end date (hourly on beat; safe to run twice)."""
    return consent_expire_due()


@shared_task(name="consent.tasks.send_expiry_reminders", ignore_result=True)
def send_expiry_reminders() -> int:
    """Remind people of grants that end within the reminder window (daily on beat; each grant once)."""
    return consent_send_expiry_reminders()
