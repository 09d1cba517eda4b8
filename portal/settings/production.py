"""Settings for production: every secret from the environment, HTTPS everywhere."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")  # no default: refuse to start without one
# Signs the audit trail's checkpoints; no default either (`manage.py audit_keygen` makes one).
AUDIT_SIGNING_KEY = env.str("AUDIT_SIGNING_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")

# --- Outbound calls and shared counters -------------------------------------------------------
# No http:// and no loopback receivers, whatever the environment says.
PORTAL_ALLOW_INSECURE_OUTBOUND = False
# API rate limits, lockouts and per-bank concurrency are counted in the cache: it must be shared by
# every web and worker process, or each process would allow the whole limit on its own.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"].rsplit(".", 1)[-1] in ("LocMemCache", "DummyCache"):
    raise ImproperlyConfigured(
        "Set CACHE_URL to a cache every process shares, like redis://127.0.0.1:6379/1: production counts "
        "API rate limits and sign-in lockouts there, and a per-process cache would multiply every limit."
    )
