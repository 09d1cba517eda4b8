"""People who use the portal, their roles, their recovery codes, and the worker heartbeat that /healthz reads."""

from __future__ import annotations

import hashlib
import zoneinfo
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.hashers import check_password, get_hasher
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.functional import cached_property
from django_otp.models import Device, ThrottlingMixin, TimestampMixin

from .validators import validate_no_bidi_controls

PLATFORM_STAFF_GROUP = "Platform staff"
COMPLIANCE_STAFF_GROUP = "Compliance staff"


def validate_timezone(value: str) -> None:
    """Refuse a time zone name that the IANA database does not know."""
    if value not in zoneinfo.available_timezones():
        raise ValidationError("Choose a time zone from the list, such as Europe/London.", code="invalid")


class UserManager(BaseUserManager["User"]):
    """Create people by email address; there are no usernames."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields: Any) -> User:
        """Return a new person who can sign in with email and password."""
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields: Any) -> User:
        """Return a new superuser (for `createsuperuser`; platform staff use the group instead)."""
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username: str | None) -> User:
        """Return the person with this email address, whatever its case."""
        return self.get(email__iexact=username)


# django-otp ships no types, so the stubs cannot follow its devices' reverse managers onto User.
class User(AbstractBaseUser, PermissionsMixin):  # type: ignore[django-manager-missing]
    """A person: an end user, a member of a partner bank, or platform or compliance staff.

    One account can hold several roles (a bank's developer may also bank with another partner);
    the `primary_role` decides which home page they land on.
    """

    class Role(models.TextChoices):
        END_USER = "end_user", "End user"
        PARTNER_MEMBER = "partner_member", "Partner bank member"
        PLATFORM_STAFF = "platform_staff", "Platform staff"
        COMPLIANCE_STAFF = "compliance_staff", "Compliance staff"

    email = models.EmailField("email address", unique=True)
    full_name = models.CharField("full name", max_length=150, blank=True, validators=[validate_no_bidi_controls])
    time_zone = models.CharField("time zone", max_length=64, default="UTC", validators=[validate_timezone])
    is_staff = models.BooleanField(
        "may use the admin site",
        default=False,
        help_text="Set for platform staff; it opens Django's admin site.",
    )
    is_active = models.BooleanField("active", default=True)
    awaiting_confirmation = models.BooleanField(
        "awaiting email confirmation",
        default=False,
        help_text="Signed up, not yet confirmed by the emailed link: inactive until then.",
    )
    date_joined = models.DateTimeField("date joined", default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = "person"
        verbose_name_plural = "people"
        constraints = [
            models.UniqueConstraint(Lower("email"), name="portal_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def check_password(self, raw_password: str | None) -> bool:
        """Return True when `raw_password` is this person's; an outdated hash is replaced, on the trail.

        Django rehashes on a successful check when the hash is not the first hasher's (Argon2) or its
        parameters are out of date; the new hash and its entry commit together, saying only that it happened.
        """

        def rehash(raw: str | None) -> None:
            from compliance.audit import audit_append

            with transaction.atomic():
                self.set_password(raw)
                self._password = None  # Django's own setter clears it: nothing to send password_changed for
                self.save(update_fields=["password"])
                hasher = get_hasher().algorithm
                audit_append(action="account.password_rehash", actor=self, target=self, data={"hasher": hasher})

        return check_password(raw_password, self.password, rehash)

    def get_full_name(self) -> str:
        """Return the person's name, or their email address when they gave none."""
        return self.full_name or self.email

    def get_short_name(self) -> str:
        """Return the first word of the person's name, or their email address."""
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @cached_property
    def roles(self) -> frozenset[User.Role]:
        """Return every role this person holds (one query, cached on the instance)."""
        groups = set(self.groups.values_list("name", flat=True))
        roles = {self.Role.END_USER}
        if PLATFORM_STAFF_GROUP in groups or self.is_superuser:
            roles.add(self.Role.PLATFORM_STAFF)
        if COMPLIANCE_STAFF_GROUP in groups:
            roles.add(self.Role.COMPLIANCE_STAFF)
        # The reverse accessor belongs to partners.PartnerMembership; portal imports no app.
        if self.partner_memberships.exists():
            roles.add(self.Role.PARTNER_MEMBER)
        return frozenset(roles)

    def has_role(self, role: User.Role) -> bool:
        """Return True when this person holds `role`."""
        return role in self.roles

    @property
    def primary_role(self) -> User.Role:
        """Return the role whose home page this person lands on after signing in."""
        for role in (
            self.Role.PLATFORM_STAFF,
            self.Role.COMPLIANCE_STAFF,
            self.Role.PARTNER_MEMBER,
        ):
            if role in self.roles:
                return role
        return self.Role.END_USER


class RecoveryCodeDevice(TimestampMixin, ThrottlingMixin, Device):
    """A person's recovery codes: the second factor for when their authenticator app is lost.

    A django-otp device, so that a session verified by one is verified like by the app. The codes
    are kept only as SHA-256 digests (django-otp's own static device keeps them readable; each code
    carries about 79 random bits, so a fast digest is enough); each code works once. Wrong codes
    count towards the device's throttle like wrong app codes do.
    """

    class Meta(Device.Meta):
        verbose_name = "recovery code set"

    @staticmethod
    def digest_of(code: str) -> str:
        """Return the SHA-256 of a code as typed, ignoring case, spaces and hyphens."""
        normalised = "".join(code.split()).replace("-", "").lower()
        return hashlib.sha256(normalised.encode()).hexdigest()

    def verify_token(self, token: str) -> bool:
        """Use up the unused code `token` and return True, or count a failure and return False."""
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        used = self.codes.filter(digest=self.digest_of(str(token)), used_at__isnull=True).update(used_at=timezone.now())
        if not used:
            self.throttle_increment(commit=True)
            return False
        self.throttle_reset(commit=False)
        self.set_last_used_timestamp(commit=False)
        self.save()
        return True

    def get_throttle_factor(self) -> int:
        from django.conf import settings

        return int(getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1))

    def codes_left(self) -> int:
        """Return how many codes are still unused."""
        return self.codes.filter(used_at__isnull=True).count()


class RecoveryCode(models.Model):
    """One recovery code, as its digest; `used_at` is set when it verified a session."""

    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "recovery code"
        constraints = [models.UniqueConstraint(fields=["device", "digest"], name="portal_recovery_code_unique")]

    def __str__(self) -> str:
        return f"recovery code {self.pk} of {self.device_id}"


class WorkerHeartbeat(models.Model):
    """The last time a Celery worker ran the beat-scheduled heartbeat task.

    /healthz reports the worker `degraded` when the newest beat is older than
    `PORTAL_HEARTBEAT_MAX_AGE`.
    """

    hostname = models.CharField(max_length=255, primary_key=True)
    last_seen = models.DateTimeField()

    class Meta:
        verbose_name = "worker heartbeat"

    def __str__(self) -> str:
        return f"{self.hostname} at {self.last_seen:%Y-%m-%d %H:%M:%S}"


class UserSession(models.Model):
    """One signed-in browser of a person: what their sessions page lists, and what ending their sessions finds.

    Django's session table holds the session itself, but cannot tell whose it is without decoding
    every row; this row points at it (and goes with it when it is deleted). `kind` names the limits
    `portal.sessions.policy` applies; `created` and `last_seen` are the times those limits count from
    (`last_seen` is written at most once a minute). The device is a short summary, never the full
    User-Agent, and the session key itself is never shown: pages name a session by this row's id.
    """

    class Kind(models.TextChoices):
        STRICT = "strict", "Staff or bank account"
        KEPT = "kept", "Kept signed in"
        BROWSER = "browser", "Until the browser closes"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="user_sessions")
    session = models.OneToOneField("sessions.Session", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created = models.DateTimeField("signed in at")
    last_seen = models.DateTimeField("last seen")
    device = models.CharField(max_length=100, blank=True)
    ip = models.GenericIPAddressField("address", null=True, blank=True)

    class Meta:
        verbose_name = "signed-in session"
        indexes = [models.Index(fields=["user", "-last_seen"], name="portal_usersession_user_seen")]

    def __str__(self) -> str:
        return f"session {self.pk} of {self.user_id}"
