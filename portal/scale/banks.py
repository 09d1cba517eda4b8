"""The scale world's banks: staff and bank members, banks in every state, usage terms, scopes and versions, keys."""

from __future__ import annotations

import hashlib
import json

from django.contrib.auth.hashers import make_password

from partners.models import PartnerApiKey
from partners.permissions import ROLE_PERMISSIONS
from portal.second_factor import totp

from .copying import NULL, Writer
from .plan import DAY, Bank, World, dice

# Every state a bank can be in comes first; after those, most banks are live.
STATES = ("applied", "in_review", "sandbox", "live", "suspended", "withdrawn")
# Banks whose customers hold accounts: live ones and suspended ones (their links stay).
PEOPLE_STATES = ("live", "suspended")
# The password of every seeded account (the world is for benchmarks, never for production).
PASSWORD = "scale-world"
# (code, category, purpose, sensitivity, name): one published scope per purpose, in this order.
SCOPES = (
    ("balances.read", "balances", "account_updates", "low", "Your balance"),
    ("fraud_alerts.push", "fraud_signals", "fraud_alerts", "medium", "Fraud alerts on your cards"),
    ("card_transactions.read", "card_transactions", "receipts_shipping", "medium", "Receipts from card payments"),
    ("customer_chat.write", "contact_details", "customer_service", "low", "Chat with the bank"),
)
PURPOSES = tuple(scope[2] for scope in SCOPES)
USER_COLUMNS = [
    "id",
    "password",
    "last_login",
    "is_superuser",
    "email",
    "full_name",
    "time_zone",
    "is_staff",
    "is_active",
    "date_joined",
    "awaiting_confirmation",
]
STAFF = (("platform", "Platform staff"), ("platform", "Platform staff"), ("compliance", "Compliance staff"))
MEMBER_ROLES = ("manager", "developer", "compliance")


def bank_state(index: int) -> str:
    """Return the state of the world's bank number `index` (every state once, then mostly live)."""
    if index < len(STATES):
        return STATES[index]
    if index % 15 == 0:
        return "suspended"
    if index % 10 == 0:
        return "sandbox"
    return "live"


def member_email(world: World, bank: Bank, user_id: int) -> str:
    """Return the email address of a seeded staff member (`user_id` in `world.staff_ids`) or bank member."""
    return f"u{user_id}@{'staff' if user_id in world.staff_ids else bank.slug}.scale.example"


def totp_key_of(seed: int, user_id: int) -> str:
    """Return the TOTP key (hex) of a seeded staff member or bank member, for benchmarks that sign in as them."""
    return hashlib.sha256(f"scale-world-totp:{seed}:{user_id}".encode()).hexdigest()[: totp.KEY_BYTES * 2]


def _second_factors(world: World, writer: Writer, user_ids: list[int]) -> None:
    """Give staff and bank members a confirmed authenticator app, as the second-factor gate requires of them."""
    first, created = world.first["otp_totp_totpdevice"], world.clock.text(world.clock.start)
    lines = [
        f"{first + number}\tAuthenticator app\tt\t{totp_key_of(world.seed, uid)}\t30\t0\t6\t1\t0\t-1\t{uid}\t0\t"
        f"{NULL}\t{created}\t{NULL}\n"
        for number, uid in enumerate(user_ids)
    ]
    columns = (
        "id name confirmed key step t0 digits tolerance drift last_t user_id throttling_failure_count "
        "throttling_failure_timestamp created_at last_used_at"
    )
    writer.copy("otp_totp_totpdevice", columns.split(" "), lines, part="second factors")


def api_key_of(world: World, bank: Bank) -> str:
    """Return the raw API key of a seeded bank, so benchmarks can call the API as that bank."""
    environment = "live" if bank.status in PEOPLE_STATES else "sandbox"
    return f"{PartnerApiKey.PREFIX}_{environment}_sc{bank.key_id:010x}_scale-world-{world.seed}-{bank.id}"


def seed_banks(
    world: World, writer: Writer, *, next_user: int, staff_groups: dict[str, int], permissions: dict[str, int]
) -> int:
    """Write staff, banks and everything a bank owns; return the first user id left for people."""
    rng = dice(world.seed, "banks")
    clock, first = world.clock, world.first
    password = world.password = make_password(PASSWORD, salt="scaleworld")
    users: list[str] = []
    groups: list[str] = []

    def user(email: str, name: str, *, staff: bool, joined: int) -> int:
        nonlocal next_user
        uid, next_user = next_user, next_user + 1
        flag = "t" if staff else "f"
        users.append(f"{uid}\t{password}\t{NULL}\tf\t{email}\t{name}\tUTC\t{flag}\tt\t{clock.text(joined)}\tf\n")
        return uid

    for number, (kind, group) in enumerate(STAFF):
        uid = user(
            f"u{next_user}@staff.scale.example",
            f"{kind.title()} officer {number}",
            staff=kind == "platform",
            joined=clock.start,
        )
        world.staff_ids.append(uid)
        groups.append(f"{first['portal_user_groups'] + len(groups)}\t{uid}\t{staff_groups[group]}\n")

    for index in range(world.sizes.banks):
        bank_id = first["partners_partner"] + index
        status = bank_state(index)
        created = clock.start + int(rng.random() * 60 * DAY)
        bank = Bank(bank_id, f"scale-bank-{bank_id}", f"Scale Bank {bank_id} plc", status, created)
        for role in MEMBER_ROLES:
            bank.member_ids.append(
                user(
                    f"u{next_user}@{bank.slug}.scale.example",
                    f"{role.title()} at bank {bank_id}",
                    staff=False,
                    joined=created,
                )
            )
        world.banks.append(bank)
        if status in PEOPLE_STATES:
            world.people_banks.append(index)

    writer.copy("portal_user", USER_COLUMNS, users, part="staff and bank members")
    writer.copy("portal_user_groups", ("id", "user_id", "group_id"), groups)
    _second_factors(world, writer, [uid for bank in world.banks for uid in bank.member_ids] + world.staff_ids)
    _partners(world, writer)
    _memberships(world, writer, permissions)
    _terms(world, writer)
    _catalog(world, writer, rng)
    _keys_and_endpoints(world, writer, rng)
    return next_user


def _partners(world: World, writer: Writer) -> None:
    clock = world.clock
    lines: list[str] = []
    for bank in world.banks:
        changed = clock.text(bank.created + 14 * DAY)
        lines.append(
            f"{bank.id}\t{bank.slug}\t{bank.name}\t{bank.status}\t{clock.text(bank.created)}\t{changed}\tGB\t"
            f"5493{bank.id:016d}\tlei\tsecurity@{bank.slug}.scale.example\t{changed}\thttps://{bank.slug}.scale.example/\n"
        )
    columns = [
        "id",
        "slug",
        "legal_name",
        "status",
        "created_at",
        "updated_at",
        "country",
        "identifier",
        "identifier_type",
        "security_contact",
        "status_changed_at",
        "website",
    ]
    writer.copy("partners_partner", columns, lines, part="banks")


def _memberships(world: World, writer: Writer, permissions: dict[str, int]) -> None:
    """Write each bank's three members and the object permissions their roles carry (as `partner_member_add`)."""
    first, allowed = world.first["partners_partnermembership"], world.first["partners_partneruserobjectpermission"]
    lines: list[str] = []
    grants: list[str] = []
    for bank in world.banks:
        for role, uid in zip(MEMBER_ROLES, bank.member_ids, strict=True):
            lines.append(f"{first + len(lines)}\t{role}\t{world.clock.text(bank.created)}\t{bank.id}\t{uid}\n")
            for codename in ROLE_PERMISSIONS[role]:
                grants.append(f"{allowed + len(grants)}\t{bank.id}\t{permissions[codename]}\t{uid}\n")
    writer.copy("partners_partnermembership", ("id", "role", "created_at", "partner_id", "user_id"), lines)
    columns = ("id", "content_object_id", "permission_id", "user_id")
    writer.copy("partners_partneruserobjectpermission", columns, grants, part="bank members' permissions")


def _terms(world: World, writer: Writer) -> None:
    """Publish two versions of the usage terms (unless terms exist); live banks accepted the newest."""
    clock, cursor = world.clock, writer.cursor
    cursor.execute("SELECT id, version FROM partners_usageterms ORDER BY version DESC LIMIT 2")
    found = cursor.fetchall()
    if len(found) < 2:
        base_id, base_version = world.first["partners_usageterms"], max((v for _, v in found), default=0)
        terms: list[str] = []
        for offset in range(2):
            body = f"Usage terms, version {base_version + offset + 1}, of the scale world."
            digest = hashlib.sha256(body.encode()).hexdigest()
            published = clock.start + offset * 200 * DAY
            terms.append(
                f"{base_id + offset}\t{base_version + offset + 1}\tUsage terms v{base_version + offset + 1}\t{body}\t"
                f"{digest}\tf\t30\t{clock.text(published)}\t{world.staff_ids[0]}\n"
            )
        columns = [
            "id",
            "version",
            "title",
            "body",
            "body_sha256",
            "requires_reacceptance",
            "grace_days",
            "published_at",
            "published_by_id",
        ]
        writer.copy("partners_usageterms", columns, terms, part="usage terms")
        found = [(base_id + 1, base_version + 2), (base_id, base_version + 1)]
    newest, older = found[0][0], found[1][0]
    lines: list[str] = []
    first = world.first["partners_termsacceptance"]
    for bank in world.banks:
        if bank.status in ("applied", "in_review", "withdrawn"):
            continue
        # Sandbox banks accepted only the older terms: the banks-with-terms-not-accepted report has rows.
        accepted = [older] if bank.status == "sandbox" else [older, newest]
        bank.terms_id = accepted[-1]
        for terms_id in accepted:
            lines.append(
                f"{first + len(lines)}\t{clock.text(bank.created + 15 * DAY)}\t192.0.2.{bank.id % 250 + 1}\tscale\t"
                f"{'0' * 64}\t{bank.member_ids[0]}\t{bank.id}\t{terms_id}\n"
            )
    columns = ["id", "accepted_at", "ip", "user_agent", "text_sha256", "accepted_by_id", "partner_id", "terms_id"]
    writer.copy("partners_termsacceptance", columns, lines, part="terms acceptances")


def _catalog(world: World, writer: Writer, rng: object) -> None:
    """Write each bank's scopes: four published (some on a second version), a draft, a retired one."""
    clock, first = world.clock, world.first
    scopes, versions = [], []
    scope_id, version_id = first["partners_datascope"], first["partners_datascopeversion"]
    staff = world.staff_ids[-1]

    def version(scope: int, number: int, status: str, spec: tuple[str, ...], at: int) -> int:
        nonlocal version_id
        _code, category, purpose, sensitivity, name = spec
        fields = json.dumps([{"name": f"{category}_value", "description": f"The {category} itself"}])
        published = clock.text(at) if status in ("published", "superseded", "retired") else NULL
        approved = published if sensitivity == "high" else NULL
        versions.append(
            f"{version_id}\t{number}\t{status}\t{name}\tWe share {name.lower()} with your chat, version {number}.\t"
            f"{category}\t{fields}\t{json.dumps([purpose])}\t{sensitivity}\t90\t365\t{clock.text(at)}\t{published}\t"
            f"{approved}\t{{}}\t{staff if approved != NULL else NULL}\t{scope}\n"
        )
        version_id += 1
        return version_id - 1

    for index, bank in enumerate(world.banks):
        at = bank.created + DAY
        for spec in SCOPES:
            revised = (index + len(bank.scopes)) % 2 == 0
            published_version = version(scope_id, 1, "superseded" if revised else "published", spec, at)
            number = 1
            if revised:
                published_version, number = version(scope_id, 2, "published", spec, at + 100 * DAY), 2
            if index % 3 == 0 and spec[0] == "balances.read":
                version(scope_id, number + 1, "draft", spec, at + 300 * DAY)
            bank.scopes.append((scope_id, published_version, spec[0], number))
            scopes.append(f"{scope_id}\t{spec[0]}\t{clock.text(at)}\t{NULL}\t{bank.id}\t{published_version}\n")
            scope_id += 1
        high = ("transactions.read", "transactions", "account_updates", "high", "Your transactions")
        version(scope_id, 1, "pending_review", high, at + 200 * DAY)
        scopes.append(f"{scope_id}\t{high[0]}\t{clock.text(at)}\t{NULL}\t{bank.id}\t{NULL}\n")
        scope_id += 1
        old = ("receipts.read", "receipts", "receipts_shipping", "low", "Old receipts")
        version(scope_id, 1, "retired", old, at)
        scopes.append(f"{scope_id}\t{old[0]}\t{clock.text(at)}\t{clock.text(at + 50 * DAY)}\t{bank.id}\t{NULL}\n")
        scope_id += 1
    writer.copy(
        "partners_datascope",
        ("id", "code", "created_at", "retired_at", "partner_id", "published_version_id"),
        scopes,
        part="scopes",
    )
    columns = [
        "id",
        "number",
        "status",
        "name",
        "description",
        "category",
        "fields",
        "purposes",
        "sensitivity",
        "retention_days",
        "max_duration_days",
        "created_at",
        "published_at",
        "approved_at",
        "narrowed",
        "approved_by_id",
        "scope_id",
    ]
    writer.copy("partners_datascopeversion", columns, versions, part="scope versions")


def _keys_and_endpoints(world: World, writer: Writer, rng: object) -> None:
    clock, first = world.clock, world.first
    keys: list[str] = []
    endpoints: list[str] = []
    for bank in world.banks:
        if bank.status in ("applied", "in_review", "withdrawn"):
            continue
        bank.key_id = first["partners_partnerapikey"] + len(keys)
        raw = api_key_of(world, bank)
        environment = raw.split("_")[1]
        keys.append(
            f"{bank.key_id}\tscale key\t{environment}\tsc{bank.key_id:010x}\t{PartnerApiKey.digest_of(raw)}\t"
            f"{clock.text(bank.created + 16 * DAY)}\t{NULL}\t{NULL}\t{bank.member_ids[1]}\t{bank.id}\t{NULL}\n"
        )
        events = json.dumps(["consent.granted", "consent.revoked", "consent.expired", "delivery.failed"])
        endpoints.append(
            f"{first['partners_webhookendpoint'] + len(endpoints)}\thttps://{bank.slug}.scale.example/hooks\t"
            f"scale endpoint\t{events}\twhsec_c2NhbGUtd29ybGQtc2VjcmV0LXt7YmFua319LXNjYWxlIQ==\t\t{NULL}\tt\t{NULL}\t\t"
            f"{clock.text(bank.created + 16 * DAY)}\t{clock.text(bank.created + 16 * DAY)}\t{bank.id}\n"
        )
    columns = [
        "id",
        "name",
        "environment",
        "lookup",
        "digest",
        "created_at",
        "last_used_at",
        "revoked_at",
        "created_by_id",
        "partner_id",
        "expires_at",
    ]
    writer.copy("partners_partnerapikey", columns, keys, part="API keys")
    columns = [
        "id",
        "url",
        "description",
        "event_types",
        "secret",
        "previous_secret",
        "previous_secret_expires_at",
        "is_active",
        "disabled_at",
        "disabled_reason",
        "created_at",
        "updated_at",
        "partner_id",
    ]
    writer.copy("partners_webhookendpoint", columns, endpoints, part="webhook endpoints")
