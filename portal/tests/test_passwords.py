"""Passwords: Argon2 first (old PBKDF2 hashes verify and are rehashed), 12 to 1024 characters."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher, get_hasher, make_password
from django.core.exceptions import ValidationError
from django.test import Client

from compliance.models import AuditEntry
from portal.models import User
from portal.settings import base
from portal.tests.factories import PASSWORD, UserFactory
from portal.tests.test_deploy import ROOT, production_env

pytestmark = pytest.mark.django_db


# In a process of its own, so that production settings are the ones in force.
SHOW_HASHERS = """
import json
import django
from django.conf import settings
from django.contrib.auth.hashers import make_password

django.setup()
print(json.dumps({"hashers": settings.PASSWORD_HASHERS, "made": make_password("x" * 12)[:16]}))
"""


def test_production_settings_hash_with_argon2_and_keep_pbkdf2_to_verify() -> None:
    command = [sys.executable, "-c", SHOW_HASHERS]
    result = subprocess.run(command, cwd=ROOT, env=production_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert shown["hashers"][0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" in shown["hashers"][1:]
    assert shown["made"].startswith("argon2$argon2id$")
    assert shown["hashers"] == base.PASSWORD_HASHERS


def test_a_pbkdf2_user_signs_in_and_their_hash_becomes_argon2(client: Client, settings: Any) -> None:
    settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS
    user = UserFactory()
    user.password = make_password(PASSWORD, hasher=PBKDF2PasswordHasher())
    user.save(update_fields=["password"])
    assert user.password.startswith("pbkdf2_sha256$")

    response = client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert get_hasher("argon2").verify(PASSWORD, user.password)
    entry = AuditEntry.objects.get(action="account.password_rehash")
    assert (entry.target_id, entry.data) == (str(user.pk), {"hasher": "argon2"})
    assert client.post("/accounts/logout/").status_code == 302
    assert client.post("/accounts/login/", {"username": user.email, "password": PASSWORD}).status_code == 302
    assert AuditEntry.objects.filter(action="account.password_rehash").count() == 1  # argon2 stays as it is


def test_new_passwords_are_hashed_with_argon2(settings: Any) -> None:
    settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS
    user = User.objects.create_user(email="fresh@example.test", password=PASSWORD)
    assert user.password.startswith("argon2$argon2id$")


def _sign_up(client: Client, password: str) -> str:
    body = {"email": "new@example.test", "full_name": "New Person", "password1": password, "password2": password}
    return client.post("/accounts/sign-up/", body).content.decode()


def test_sign_up_wants_twelve_characters_and_takes_a_long_passphrase(client: Client) -> None:
    assert "at least 12 characters" in _sign_up(client, "short-pass1")
    assert not User.objects.filter(email="new@example.test").exists()
    passphrase = "a calm river runs under the old stone bridge at dawn " * 19  # about 1000 characters
    assert "This password is too short" not in _sign_up(client, passphrase[:1024])
    assert User.objects.filter(email="new@example.test").exists()


def test_a_password_over_1024_characters_is_refused_with_a_clear_message(client: Client) -> None:
    html = _sign_up(client, "x" * 1025)
    assert "Use a password of at most 1024 characters" in html
    assert not User.objects.filter(email="new@example.test").exists()
    validator = base.AUTH_PASSWORD_VALIDATORS[0]
    assert validator["NAME"] == "portal.validators.MaximumLengthValidator"
    from portal.validators import MaximumLengthValidator

    with pytest.raises(ValidationError, match="at most 1024 characters"):
        MaximumLengthValidator(1024).validate("y" * 1025)


def test_a_megabyte_password_is_refused_without_hashing_it(
    client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS
    user = UserFactory()
    hashed: list[int] = []

    def counting_check(self: User, raw_password: str) -> bool:
        hashed.append(len(raw_password))
        return False

    monkeypatch.setattr(User, "check_password", counting_check)
    huge = "p" * 1_000_000  # under the 1 MB body limit: the form itself must refuse it
    response = client.post("/accounts/login/", {"username": user.email, "password": huge})
    assert response.status_code == 200
    assert "Use a password of at most 1024 characters" in response.content.decode()
    assert hashed == []
    response = client.post("/accounts/login/", {"username": user.email, "password": "p" * 20})
    assert hashed == [20]  # a normal wrong password is checked as usual
