"""Settings shared by every environment, read from the environment with django-environ."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import django_stubs_ext
import environ
from celery.schedules import crontab

# Lets `ModelAdmin[Model]` and `QuerySet[Model]` work at run time, as the type checker sees them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -------------------------------------------------------------------------------------

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "portal",
    "portal.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "django_celery_beat",
    "compliance",
    "partners",
    "consent",
    "delivery",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # `request.user.is_verified()`: whether this session gave a code of the person's second factor.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.middleware.UserTimezoneMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.navigation",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
# SQLite is the zero-install default; DATABASE_URL points at PostgreSQL in production and CI.

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; IMMEDIATE avoids upgrade deadlocks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache holds API rate-limit counters: point CACHE_URL at Redis when several processes serve.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# --- People -----------------------------------------------------------------------------------

from .accounts import *  # noqa: E402, F403  (passwords, sessions, the lockout)

AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out account or address before any password is checked (portal/lockout.py).
    "portal.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "site-index"
GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None  # guardian: no anonymous object permissions at all

EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="portal@localhost")

# --- Internationalisation ---------------------------------------------------------------------

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files: vendored or from packages, never a CDN --------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- API --------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["partners.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [
        "partners.api.permissions.IsPartnerKey",
        "partners.api.permissions.TermsAccepted",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["partners.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env.str("PORTAL_API_RATE", default="1200/min"),
        # Bank applications from one address (the public form at /partners/apply/).
        "partner_application": env.str("PORTAL_APPLY_RATE", default="5/hour"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "portal.api.schema.PortalAutoSchema",
    "EXCEPTION_HANDLER": "portal.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Bank partnership portal: Partner API",
    "DESCRIPTION": "The contract partner banks build against. Errors are "
    '`{"error": {"code", "message", "fields"}}` with stable codes.',
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",  # JSON Schema 2020-12, which the pydantic event contract is written in
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Enum components as usual, then the OpenAPI links between operations (portal/api/links.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "portal.api.links.add_links"],
    "ENUM_NAME_OVERRIDES": {
        "PartnerStatusEnum": "partners.models.Partner.Status",
        "CapabilityStatusEnum": "partners.models.ChatbotCapability.Status",
        "ScopeStatusEnum": ["draft", "pending_review", "published", "retired"],
        "EventStatusEnum": "delivery.models.PartnerEvent.Status",
        "DeliveryStatusEnum": "delivery.models.Delivery.Status",
        "MessageTypeEnum": "partners.models.MessageType",  # an event's type and a grant's message types
    },
}

# --- Request hardening (issue 10: client address, bounded input, headers) ----------------------

# How many reverse proxies stand in front of the web process. Each appends the address it saw to
# X-Forwarded-For, so the client's address is the N-th entry from the right; anything left of it was
# written by the client. 0 (the default) means nobody is in front: REMOTE_ADDR is the client.
PORTAL_TRUSTED_PROXIES = env.int("PORTAL_TRUSTED_PROXIES", default=0)
# JSON bodies: 1 MB for one call, 5 MB for an event batch (500 events of at most 8 KB each). Larger
# bodies are answered 413 before being parsed; the parser also refuses nesting no request needs.
PORTAL_API_MAX_BODY_BYTES = env.int("PORTAL_API_MAX_BODY_BYTES", default=1024 * 1024)
PORTAL_API_MAX_BATCH_BODY_BYTES = env.int("PORTAL_API_MAX_BATCH_BODY_BYTES", default=5 * 1024 * 1024)
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = ["portal.api.parsers.BoundedJSONParser"]
# Forms and anything reading request.body outside the API: Django's own cap, at the API's single-call size.
DATA_UPLOAD_MAX_MEMORY_SIZE = PORTAL_API_MAX_BODY_BYTES
# Content-Security-Policy (django-csp) on every response, admin and API docs included: our own origin
# only, no inline script or style (each page's script and CSS is a static file), never framed.
# data: images are Swagger UI's icons. Security headers (HSTS, nosniff, frame denial) are in production.py.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "csp.middleware.CSPMiddleware")
# Cache-Control: no-store on everything a signed-in person or an API key is shown.
MIDDLEWARE.append("portal.middleware.AccountDataNoStoreMiddleware")

# --- The second factor (issue 10): TOTP through django-otp, and recovery codes ------------------
# Who must have one is decided in `portal/second_factor/rules.py`; until a signed-in person who has
# (or must have) one gives a code, every page but the second factor's own sends them there.
MIDDLEWARE.append("portal.second_factor.middleware.SecondFactorMiddleware")
# After n wrong codes in a row a device refuses codes for 2^(n-1) seconds (django-otp's throttle),
# on top of the sign-in lockout that wrong codes count towards.
OTP_TOTP_THROTTLE_FACTOR = env.int("OTP_TOTP_THROTTLE_FACTOR", default=1)

# --- Sessions (issue 10): limits by who is signed in, in `portal/sessions/policy.py` --------------
# Staff and bank members: 15 idle minutes, 12 hours in all; end users: 2 weeks if they tick "Keep me
# signed in", else until the browser closes (1 idle hour, 12 hours in all). The middleware ends a
# session past its limits, notes activity at most once a minute, and must come after the messages.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.messages.middleware.MessageMiddleware") + 1,
    "portal.sessions.middleware.SessionPolicyMiddleware",
)

# --- The lockout (issue 10): 10 tries per account and per address in 30 minutes -----------------
# The limits and their settings are in `accounts.py`.
MIDDLEWARE.append("axes.middleware.AxesMiddleware")

# --- Celery -----------------------------------------------------------------------------------
# The filesystem broker is the zero-install default; CELERY_BROKER_URL points at Redis or RabbitMQ.


def broker_transport_options(broker_url: str, folder: Path) -> dict[str, object]:
    """Return Celery's transport options: folders for the filesystem broker, else a visibility timeout."""
    if broker_url.startswith("filesystem://"):
        for sub in ("queue", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
            # Kombu looks for new messages once a second by default: a chat reply would wait that long.
            "polling_interval": 0.1,
        }
    return {"visibility_timeout": 3600}


CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(
    CELERY_BROKER_URL, Path(env.str("PORTAL_BROKER_DIR", default=str(VAR_DIR / "broker")))
)
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "portal.tasks.worker_heartbeat", "schedule": timedelta(seconds=30)},
    # Sessions past their limits that never came back (each would end at its next request anyway).
    "portal-sessions-sweep": {"task": "portal.tasks.sessions_sweep", "schedule": timedelta(minutes=10)},
    "consent-expire-due-grants": {"task": "consent.tasks.expire_due_grants", "schedule": timedelta(hours=1)},
    "consent-send-expiry-reminders": {
        "task": "consent.tasks.send_expiry_reminders",
        "schedule": crontab(hour=9, minute=0),
    },
    # compliance: link committed entries into the chain; sign a checkpoint of it every minute.
    "compliance-audit-seal": {"task": "compliance.tasks.audit_seal", "schedule": timedelta(seconds=5)},
    "compliance-audit-checkpoint": {"task": "compliance.tasks.audit_checkpoint", "schedule": timedelta(minutes=1)},
    # compliance: purge what is past its retention (RETENTION_* below), in batches, audited.
    "compliance-retention-purge": {"task": "compliance.tasks.retention_purge", "schedule": crontab(hour=3, minute=30)},
    # delivery: re-enqueue outbox rows the broker never got, and due retries.
    "delivery-sweep-outbox": {"task": "delivery.tasks.sweep_outbox", "schedule": timedelta(seconds=10)},
}
# Fraud alerts have their own queue, so bulk updates never delay them.
CELERY_TASK_ROUTES = {
    "delivery.tasks.deliver_fraud_batch": {"queue": "fraud"},
    "delivery.tasks.*": {"queue": "default"},
}
CELERY_TIMEZONE = TIME_ZONE

# --- Portal -----------------------------------------------------------------------------------

# A worker that has not beaten for this long makes /healthz answer 503.
PORTAL_HEARTBEAT_MAX_AGE = timedelta(minutes=2)
# Keys in audit data whose values are never written to the trail.
PORTAL_AUDIT_REDACT_KEYS = ("password", "secret", "token", "key", "code", "authorization")
# The audit trail's checkpoints: signed with this Ed25519 key (base64 of a 32-byte seed; make one with
# `manage.py audit_keygen`), never kept in the database, and written to this folder, which should be
# storage the database's owner cannot rewrite (a separate volume or an object-store mount).
AUDIT_SIGNING_KEY = env.str("AUDIT_SIGNING_KEY", default="")
AUDIT_VERIFY_KEY = env.str("AUDIT_VERIFY_KEY", default="")
AUDIT_CHECKPOINT_DIR = Path(env.str("AUDIT_CHECKPOINT_DIR", default=str(VAR_DIR / "audit-checkpoints")))
# Data-subject archives (zips built by `compliance.data_requests.archive`) are written here.
COMPLIANCE_ARCHIVE_DIR = Path(env.str("COMPLIANCE_ARCHIVE_DIR", default=str(VAR_DIR / "data-archives")))
# Retention, in days (`compliance.retention`): event payloads of finished events, delivery and webhook
# attempts, inbox messages, and data-subject archives are purged once older. Audit entries and consent
# records are never purged by these; they are kept at least CONSENT_RECORDS_KEPT_DAYS after the
# person's last authorisation (the law's three years is the floor).
RETENTION_DELIVERY_PAYLOAD_DAYS = env.int("RETENTION_DELIVERY_PAYLOAD_DAYS", default=90)
RETENTION_DELIVERY_ATTEMPT_DAYS = env.int("RETENTION_DELIVERY_ATTEMPT_DAYS", default=30)
RETENTION_INBOX_DAYS = env.int("RETENTION_INBOX_DAYS", default=365)
RETENTION_EXPORT_DAYS = env.int("RETENTION_EXPORT_DAYS", default=7)
CONSENT_RECORDS_KEPT_DAYS = env.int("CONSENT_RECORDS_KEPT_DAYS", default=3 * 365 + 1)
# Bank simulator pages and demo logins exist only where this is on (development, tests, demo).
PORTAL_DEMO_FEATURES = env.bool("PORTAL_DEMO_FEATURES", default=False)

# --- Consent ----------------------------------------------------------------------------------

# Days a bank has to attest deletion after a grant is revoked or expires.
CONSENT_DELETION_DEADLINE_DAYS = env.int("CONSENT_DELETION_DEADLINE_DAYS", default=30)
# Days before a grant ends that its person is reminded (by email, and inbox through delivery).
CONSENT_REMINDER_DAYS = env.int("CONSENT_REMINDER_DAYS", default=30)

# --- Delivery ---------------------------------------------------------------------------------

# The messenger gateway: deliveries are POSTed there in signed batches. Empty means inbox only.
PORTAL_GATEWAY_URL = env.str("PORTAL_GATEWAY_URL", default="")
PORTAL_GATEWAY_SECRET = env.str("PORTAL_GATEWAY_SECRET", default="")
PORTAL_GATEWAY_TIMEOUT = env.float("PORTAL_GATEWAY_TIMEOUT", default=5.0)
# How many deliveries one task sends together (one inbox insert, one gateway POST).
DELIVERY_BATCH_SIZE = env.int("DELIVERY_BATCH_SIZE", default=500)
# Batch tasks one bank may run at once across every worker (counted in the cache: set CACHE_URL to
# Redis when workers run in more than one process), so one flooding or slow bank cannot take them all.
DELIVERY_BANK_CONCURRENCY = env.int("DELIVERY_BANK_CONCURRENCY", default=4)
# The sweeper re-enqueues rows the broker never got (or that a relay stamped and never sent) after this long.
DELIVERY_REENQUEUE_AFTER = timedelta(seconds=env.int("DELIVERY_REENQUEUE_AFTER_SECONDS", default=60))
# A webhook endpoint that fails without a single success for this long is disabled, with a notice.
DELIVERY_WEBHOOK_DISABLE_AFTER = timedelta(days=env.int("DELIVERY_WEBHOOK_DISABLE_AFTER_DAYS", default=5))
# Largest event payload accepted, in bytes of JSON.
DELIVERY_MAX_PAYLOAD_BYTES = 8 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    # axes says at INFO every sign-in and clean-up; failures and lockouts (WARNING) still show.
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}
CSRF_FAILURE_VIEW = "portal.views.csrf_failure"
PORTAL_SITE_URL = env.str("PORTAL_SITE_URL", default="http://127.0.0.1:8000")

# --- Outbound calls (webhooks, capability bots, the gateway) ----------------------------------
# http:// and loopback receivers are allowed only where this is on (local and test settings); private,
# link-local and other internal addresses never are. Production settings force it off.
PORTAL_ALLOW_INSECURE_OUTBOUND = env.bool("PORTAL_ALLOW_INSECURE_OUTBOUND", default=False)
# Seconds to wait for a connection (the read timeout is PORTAL_GATEWAY_TIMEOUT), and the most of an
# answer the platform reads: the rest is cut, since only a status and a short excerpt are kept.
PORTAL_OUTBOUND_CONNECT_TIMEOUT = env.float("PORTAL_OUTBOUND_CONNECT_TIMEOUT", default=2.0)
PORTAL_OUTBOUND_MAX_RESPONSE_BYTES = 64 * 1024
