"""The project package: settings, URLs, the Celery app, people and roles, site pages."""

from .celery import app as celery_app

__all__ = ["celery_app"]
