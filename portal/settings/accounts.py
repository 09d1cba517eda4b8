"""Settings of signing in: password hashing and rules, the second factor's name, sessions, the lockout.

Plain values only; `base` imports them and adds the middleware they need, in its order.
"""

from datetime import timedelta

# --- Passwords -------------------------------------------------------------------------------
# Argon2id first: new passwords and every older hash, at its owner's next sign-in, are stored with it;
# PBKDF2 stays so that hashes made before verify (and are then rehashed).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
# Passphrases welcome: at least 12 characters, at most PORTAL_PASSWORD_MAX_LENGTH (the forms refuse
# longer ones before any hashing, so a megabyte "password" costs nothing).
PORTAL_PASSWORD_MIN_LENGTH = 12
PORTAL_PASSWORD_MAX_LENGTH = 1024
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "portal.validators.MaximumLengthValidator", "OPTIONS": {"max_length": PORTAL_PASSWORD_MAX_LENGTH}},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PORTAL_PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- The second factor -------------------------------------------------------------------------
# The name authenticator apps show beside the person's email address.
OTP_TOTP_ISSUER = "Bank partnership portal"

# --- Sessions (the limits themselves are in `portal/sessions/policy.py`) --------------------------
# The database engine: every session has a row, which `portal.UserSession` points at.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = 14 * 24 * 3600  # the longest any session lasts (kept signed in); the policy cuts the rest

# --- The lockout: 10 tries per account and per address in 30 minutes ----------------------------
# django-axes counts failed sign-ins (portal and admin) and wrong codes in the database, so every
# process sees the same count; reset requests and sign-ups are counted in the shared cache. The rules
# and the answer a locked-out person gets are in `portal/lockout.py`.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = 10
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locked is enough
AXES_CLIENT_IP_CALLABLE = "portal.requests.client_ip"  # the address our trusted proxies saw, nothing a client wrote
AXES_USERNAME_CALLABLE = "portal.lockout.attempted_username"
AXES_LOCKOUT_CALLABLE = "portal.lockout.lockout_response"
# Tries while locked out are refused without being counted, so the time the page promises holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_ENABLE_ADMIN = False  # the portal registers its own read-only admin (portal/admin.py)
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "password", "code", "csrfmiddlewaretoken", "once"]
AXES_VERBOSE = False  # the audit trail already records each failure
