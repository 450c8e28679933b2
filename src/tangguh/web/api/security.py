"""Users, passwords, bearer tokens and API keys of the web API.

- Passwords: ``hashlib.scrypt`` (memory-hard, stdlib) with n=2**14, r=8, p=1, a 16-byte
  random salt and a 32-byte output, stored as ``scrypt$16384$8$1$<salt>$<hash>``
  (base64). Verification is constant-time (``hmac.compare_digest``).
- Bearer tokens (OAuth2 password flow) and API keys: 32 random bytes
  (``secrets.token_urlsafe(32)``); only their SHA-256 is stored. A fast hash is right
  here: 256 random bits cannot be guessed, unlike a password.
- Roles: ``public < citizen < operator < admin``; a user has citizen, operator or
  admin; an API key carries one of those roles too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from tangguh.bank import Bank
from tangguh.errors import InputError, NotFoundError
from tangguh.web.tables import tg_web_key, tg_web_token, tg_web_user

__all__ = [
    "ROLES",
    "ApiKey",
    "Principal",
    "User",
    "add_user",
    "authenticate",
    "check_login",
    "create_key",
    "disable_user",
    "find_login",
    "get_user",
    "hash_password",
    "issue_token",
    "list_keys",
    "list_users",
    "principal_for_key",
    "principal_for_token",
    "rank",
    "revoke_key",
    "set_password",
    "verify_password",
]

#: Roles from least to most rights.
ROLES: tuple[str, ...] = ("public", "citizen", "operator", "admin")
USER_ROLES: tuple[str, ...] = ("citizen", "operator", "admin")

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
_MAXMEM = 64 * 1024 * 1024

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256


def rank(role: str) -> int:
    """Position of ``role`` in :data:`ROLES` (public 0 … admin 3)."""
    return ROLES.index(role)


def _now() -> datetime:
    return datetime.now(UTC)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    """A scrypt hash of ``password`` with a fresh random salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        dklen=HASH_BYTES,
        maxmem=_MAXMEM,
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the stored scrypt hash (constant-time compare)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(want),
            maxmem=_MAXMEM,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who sends a request: ``kind`` anonymous | user | key."""

    kind: str
    role: str
    id: str | None = None
    name: str | None = None

    @property
    def actor(self) -> str:
        """``user:<name>``, ``key:<id>`` or ``anonymous`` (for audit and logs)."""
        if self.kind == "user":
            return f"user:{self.name}"
        if self.kind == "key":
            return f"key:{self.id}"
        return "anonymous"

    def at_least(self, role: str) -> bool:
        return rank(self.role) >= rank(role)


ANONYMOUS = Principal("anonymous", "public")


@dataclass(frozen=True)
class User:
    user_id: str
    username: str
    role: str
    created: datetime
    disabled: bool
    created_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "username": self.username,
            "role": self.role,
            "created": self.created.isoformat(),
            "disabled": self.disabled,
            "created_by": self.created_by,
        }


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    label: str
    role: str
    created: datetime
    created_by: str | None
    revoked: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "label": self.label,
            "role": self.role,
            "created": self.created.isoformat(),
            "created_by": self.created_by,
            "revoked": self.revoked.isoformat() if self.revoked else None,
        }


def _user(row: Any) -> User:
    return User(
        row["user_id"],
        row["username"],
        row["role"],
        row["created"],
        bool(row["disabled"]),
        row["created_by"],
    )


def _check_role(role: str, allowed: tuple[str, ...] = USER_ROLES) -> str:
    if role not in allowed:
        raise InputError(
            f"unknown role {role!r}",
            where="role",
            hint=f"use one of {list(allowed)}",
            message_id=f"peran {role!r} tidak dikenal",
            hint_id=f"gunakan salah satu dari {list(allowed)}",
        )
    return role


def _check_password(password: str) -> str:
    if not isinstance(password, str) or not (MIN_PASSWORD <= len(password) <= MAX_PASSWORD):
        raise InputError(
            f"a password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters",
            where="password",
            hint="use a passphrase of several words",
            message_id=f"kata sandi harus {MIN_PASSWORD} sampai {MAX_PASSWORD} karakter",
            hint_id="gunakan frasa sandi dari beberapa kata",
        )
    return password


def _check_username(username: str) -> str:
    if not isinstance(username, str) or not _USERNAME.match(username):
        raise InputError(
            f"invalid username {username!r}",
            where="username",
            hint="3-64 characters: letters, digits and . _ @ - (starting with a letter or digit)",
            message_id=f"nama pengguna {username!r} tidak sah",
            hint_id="3-64 karakter: huruf, angka dan . _ @ - (diawali huruf atau angka)",
        )
    return username


def add_user(
    bank: Bank,
    username: str,
    password: str,
    *,
    role: str = "citizen",
    created_by: str | None = None,
    password_hash: str | None = None,
) -> User:
    """Create a user; the password is stored only as its scrypt hash.

    ``password_hash``: the :func:`hash_password` of ``password`` computed beforehand
    (the web API hashes outside its bank lock).
    """
    _check_username(username)
    _check_role(role)
    _check_password(password)
    digest = password_hash or hash_password(password)
    now = _now()
    uid = uuid.uuid4().hex[:16]
    with bank.begin() as conn:
        taken = conn.execute(
            select(tg_web_user.c.user_id).where(tg_web_user.c.username == username)
        ).first()
        if taken is not None:
            raise InputError(
                f"the username {username!r} is taken",
                where="username",
                hint="choose another username",
                message_id=f"nama pengguna {username!r} sudah dipakai",
                hint_id="pilih nama pengguna lain",
            )
        conn.execute(
            insert(tg_web_user).values(
                user_id=uid,
                username=username,
                password_hash=digest,
                role=role,
                created=now,
                disabled=False,
                created_by=created_by,
            )
        )
    return User(uid, username, role, now, False, created_by)


def get_user(bank: Bank, username: str) -> User:
    with bank.connect() as conn:
        row = (
            conn.execute(select(tg_web_user).where(tg_web_user.c.username == username))
            .mappings()
            .first()
        )
    if row is None:
        raise NotFoundError(
            f"no user {username!r}",
            where="username",
            hint="list users with `tangguh users list`",
            message_id=f"tidak ada pengguna {username!r}",
            hint_id="lihat daftar pengguna dengan `tangguh users list`",
        )
    return _user(row)


def list_users(bank: Bank) -> list[User]:
    with bank.connect() as conn:
        rows = conn.execute(select(tg_web_user).order_by(tg_web_user.c.username)).mappings()
        return [_user(r) for r in rows]


def set_password(bank: Bank, username: str, password: str) -> User:
    """Replace a user's password; existing bearer tokens of the user are revoked."""
    user = get_user(bank, username)
    digest = hash_password(_check_password(password))
    with bank.begin() as conn:
        conn.execute(
            update(tg_web_user)
            .where(tg_web_user.c.user_id == user.user_id)
            .values(password_hash=digest)
        )
        conn.execute(delete(tg_web_token).where(tg_web_token.c.user_id == user.user_id))
    return user


def disable_user(bank: Bank, username: str) -> User:
    """Disable a user (login refused, tokens revoked); the row stays for the audit log."""
    user = get_user(bank, username)
    with bank.begin() as conn:
        conn.execute(
            update(tg_web_user).where(tg_web_user.c.user_id == user.user_id).values(disabled=True)
        )
        conn.execute(delete(tg_web_token).where(tg_web_token.c.user_id == user.user_id))
    return User(user.user_id, user.username, user.role, user.created, True, user.created_by)


# A hash to compare against when the username is unknown, so the answer takes as long
# as for a wrong password (no user enumeration by timing).
_DUMMY = hash_password(secrets.token_urlsafe(16))


def find_login(bank: Bank, username: str) -> tuple[User, str] | None:
    """The user and stored hash for ``username`` (None when unknown)."""
    with bank.connect() as conn:
        row = (
            conn.execute(select(tg_web_user).where(tg_web_user.c.username == username))
            .mappings()
            .first()
        )
    return None if row is None else (_user(row), str(row["password_hash"]))


def check_login(found: tuple[User, str] | None, password: str) -> User | None:
    """The user when ``password`` matches and the account is enabled (no bank access,
    so the ~65 ms of scrypt can run outside any lock)."""
    if found is None:
        verify_password(password, _DUMMY)
        return None
    user, stored = found
    if not verify_password(password, stored) or user.disabled:
        return None
    return user


def authenticate(bank: Bank, username: str, password: str) -> User | None:
    """The user when ``username``/``password`` match an enabled account, else None."""
    return check_login(find_login(bank, username), password)


def issue_token(bank: Bank, user: User, *, ttl: timedelta) -> tuple[str, datetime]:
    """A new bearer token for ``user`` valid for ``ttl``; expired tokens are purged."""
    token = secrets.token_urlsafe(32)
    now = _now()
    expires = now + ttl
    with bank.begin() as conn:
        conn.execute(delete(tg_web_token).where(tg_web_token.c.expires <= now))
        conn.execute(
            insert(tg_web_token).values(
                token_hash=_sha256(token), user_id=user.user_id, created=now, expires=expires
            )
        )
    return token, expires


#: Statements of every authenticated request, built once.
_Q_TOKEN = (
    select(
        tg_web_user.c.user_id,
        tg_web_user.c.username,
        tg_web_user.c.role,
        tg_web_user.c.disabled,
        tg_web_token.c.expires,
    )
    .join(tg_web_user, tg_web_user.c.user_id == tg_web_token.c.user_id)
    .where(tg_web_token.c.token_hash == bindparam("h"))
)
_Q_KEY = select(
    tg_web_key.c.key_id, tg_web_key.c.label, tg_web_key.c.role, tg_web_key.c.revoked
).where(tg_web_key.c.key_hash == bindparam("h"))


def principal_for_token(bank: Bank, token: str) -> Principal | None:
    """The user of a valid, unexpired bearer token (None: unknown, expired or disabled)."""
    with bank.connect() as conn:
        row = conn.execute(_Q_TOKEN, {"h": _sha256(token)}).first()
    if row is None or row.disabled or row.expires <= _now():
        return None
    return Principal("user", row.role, row.user_id, row.username)


def create_key(
    bank: Bank, label: str, *, role: str = "operator", created_by: str | None = None
) -> tuple[ApiKey, str]:
    """A new API key; returns its record and the key text (shown once, stored hashed)."""
    label = (label or "").strip()
    if not label or len(label) > 190:
        raise InputError(
            "an API key needs a label (1-190 characters)",
            where="label",
            hint="say who or what uses the key, e.g. 'dashboard BPBD'",
            message_id="kunci API memerlukan label (1-190 karakter)",
            hint_id="sebutkan siapa atau apa yang memakai kunci, mis. 'dashboard BPBD'",
        )
    _check_role(role)
    key_id = "k" + secrets.token_hex(6)
    secret = f"tgk_{key_id}_{secrets.token_urlsafe(32)}"
    now = _now()
    with bank.begin() as conn:
        conn.execute(
            insert(tg_web_key).values(
                key_id=key_id,
                key_hash=_sha256(secret),
                label=label,
                role=role,
                created=now,
                created_by=created_by,
                revoked=None,
            )
        )
    return ApiKey(key_id, label, role, now, created_by, None), secret


def _key(row: Any) -> ApiKey:
    return ApiKey(
        row["key_id"], row["label"], row["role"], row["created"], row["created_by"], row["revoked"]
    )


def list_keys(bank: Bank) -> list[ApiKey]:
    cols = [c for c in tg_web_key.c if c.name != "key_hash"]
    with bank.connect() as conn:
        rows = conn.execute(select(*cols).order_by(tg_web_key.c.created)).mappings()
        return [_key(r) for r in rows]


def revoke_key(bank: Bank, key_id: str) -> ApiKey:
    """Revoke an API key at once (idempotent)."""
    now = _now()
    with bank.begin() as conn:
        row = (
            conn.execute(select(tg_web_key).where(tg_web_key.c.key_id == key_id)).mappings().first()
        )
        if row is None:
            raise NotFoundError(
                f"no API key {key_id!r}",
                where="key_id",
                hint="list keys with `tangguh keys list`",
                message_id=f"tidak ada kunci API {key_id!r}",
                hint_id="lihat daftar kunci dengan `tangguh keys list`",
            )
        data = dict(row)
        if data["revoked"] is None:
            conn.execute(
                update(tg_web_key).where(tg_web_key.c.key_id == key_id).values(revoked=now)
            )
            data["revoked"] = now
    return _key(data)


def principal_for_key(bank: Bank, key: str) -> Principal | None:
    """The principal of a valid, unrevoked API key (None otherwise)."""
    with bank.connect() as conn:
        row = conn.execute(_Q_KEY, {"h": _sha256(key)}).first()
    if row is None or row.revoked is not None:
        return None
    return Principal("key", row.role, row.key_id, row.label)
