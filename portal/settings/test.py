"""Settings for the test suite: fast hashing, mail kept in memory, a file-backed SQLite by default."""

from .base import *  # noqa: F403
from .base import CELERY_BROKER_URL, DATABASES, VAR_DIR, broker_transport_options, env

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="test-key-not-for-production-use")
PORTAL_DEMO_FEATURES = True
# Fast hashing for the suite; base.py's Argon2-first list is tested in portal/tests/test_passwords.py.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that a real worker process can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Tests use their own broker folder (filesystem broker), so a running `make run` is never disturbed.
CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(CELERY_BROKER_URL, VAR_DIR / "test-broker")

# --- Outbound calls: the development exception (http:// and loopback receivers) ----------------
# The suite's receivers listen on 127.0.0.1; tests of the production rule turn this off.
PORTAL_ALLOW_INSECURE_OUTBOUND = True

# --- The audit trail's checkpoint key, for tests only; each test gets a checkpoint folder of its own.
AUDIT_SIGNING_KEY = "dGVzdC1zdWl0ZS1hdWRpdC1jaGVja3BvaW50LWtleSE="
