"""Encryption at rest for personal data: a keyring of AES-GCM keys and keyed blind indexes.

Keys
    The *current* key encrypts and indexes new values: ``KEHU_ENCRYPTION_KEY``, or when that is
    unset the data directory's ``encryption.key`` (generated on first run). *Retired* keys still
    decrypt and still answer blind-index lookups: ``KEHU_ENCRYPTION_OLD_KEYS`` (comma-separated)
    and the data directory's ``encryption.old-keys`` (one per line). Keys are never deleted: the
    append-only audit log keeps values encrypted under every key there ever was.

    From each key two sub-keys are derived with HKDF-SHA256, one for encryption and one for the
    blind index, and a short key id (8 hex digits) that tokens carry.

Tokens
    ``enc1$<key id>$<urlsafe base64 of nonce | ciphertext+tag>``: AES-256-GCM with a random 96-bit
    nonce. The associated data binds a token to its *purpose* (``field:phone``, ``idempotency``,
    …) and to its key id, so a token copied from one purpose into another does not decrypt.

Blind indexes
    ``blind_index(kind, normalized)`` is HMAC-SHA256 under the current key of the kind and the
    normalized value, as 32 hex digits; equal values of one kind give equal indexes, so exact
    lookups and duplicate detection work without the plain text. ``blind_index_candidates``
    gives one index per key in the keyring, for lookups that must work while ``kehu rotate-keys``
    moves rows from the old key to the new one.

The keyring follows the key files: a process notices a rotation made by another process within
``REFRESH_SECONDS`` (and at once when it meets a token of a key it does not know yet).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

TOKEN_PREFIX = "enc1$"
KEY_FILE = "encryption.key"
OLD_KEYS_FILE = "encryption.old-keys"
REFRESH_SECONDS = 1.0
INDEX_LENGTH = 32  # hex digits of the blind index (128 bits)
_NONCE_BYTES = 12
IDEMPOTENCY_PURPOSE = "idempotency"  # stored answers of idempotent API requests (platform/api.py)


class CryptoError(Exception):
    """Base of the errors of this module."""


class DecryptionError(CryptoError):
    """A token that does not decrypt: altered, made for another purpose, or under a key that is
    not in the keyring."""


class KeyringError(CryptoError):
    """The keyring cannot be built (e.g. two different keys with the same id)."""


def _derive(material: bytes, info: bytes, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(material)


@dataclass(frozen=True)
class Key:
    """One key of the keyring with its derived sub-keys."""

    secret: str = field(repr=False)
    id: str = ""
    index_key: bytes = field(default=b"", repr=False)
    aead: AESGCM = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    @classmethod
    def from_secret(cls, secret: str) -> Key:
        material = secret.strip().encode("utf-8")
        if not material:
            raise KeyringError("An encryption key cannot be empty.")
        return cls(
            secret=secret.strip(),
            id=_derive(material, b"kehu key id v1", 4).hex(),
            index_key=_derive(material, b"kehu blind index v1"),
            aead=AESGCM(_derive(material, b"kehu encryption v1")),
        )


@dataclass(frozen=True)
class Keyring:
    """The current key first, then the retired keys (newest retirement first)."""

    keys: tuple[Key, ...]

    @property
    def current(self) -> Key:
        return self.keys[0]

    @property
    def retired(self) -> tuple[Key, ...]:
        return self.keys[1:]

    def get(self, key_id: str) -> Key | None:
        return next((key for key in self.keys if key.id == key_id), None)

    @classmethod
    def from_secrets(cls, current: str, retired: list[str]) -> Keyring:
        keys: list[Key] = []
        for secret in [current, *retired]:
            key = Key.from_secret(secret)
            same_id = next((k for k in keys if k.id == key.id), None)
            if same_id is None:
                keys.append(key)
            elif same_id.secret != key.secret:
                raise KeyringError(f"Two different encryption keys have the same id {key.id}; replace one of them.")
        return cls(keys=tuple(keys))


# ---------------------------------------------------------------- where the keys come from


def key_from_environment() -> bool:
    """Whether the current key is set by ``KEHU_ENCRYPTION_KEY`` (else the data directory's file)."""
    configured = getattr(settings, "KEHU_ENCRYPTION_KEY_FROM_ENV", None)
    return bool(os.environ.get("KEHU_ENCRYPTION_KEY")) if configured is None else bool(configured)


def key_file() -> Path:
    return Path(settings.DATA_DIR) / KEY_FILE


def old_keys_file() -> Path:
    return Path(settings.DATA_DIR) / OLD_KEYS_FILE


def _read_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        return []
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _file_stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def _settings_fingerprint() -> tuple[Any, ...]:
    return (
        settings.KEHU_ENCRYPTION_KEY,
        key_from_environment(),
        tuple(getattr(settings, "KEHU_ENCRYPTION_OLD_KEYS", ()) or ()),
        str(settings.DATA_DIR),
    )


def _load() -> Keyring:
    configured = str(settings.KEHU_ENCRYPTION_KEY)
    current = configured
    if not key_from_environment():
        # The file wins over the value read at start-up: another process may have rotated it.
        on_disk = _read_lines(key_file())
        if on_disk:
            current = on_disk[0]
    retired = [*reversed(_read_lines(old_keys_file())), *(getattr(settings, "KEHU_ENCRYPTION_OLD_KEYS", ()) or ())]
    if configured != current:
        retired.append(configured)  # the key this process started with stays readable
    return Keyring.from_secrets(current, retired)


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keyring: Keyring | None = None
        self.fingerprint: tuple[Any, ...] = ()
        self.checked_at = 0.0

    def get(self, *, force: bool = False) -> Keyring:
        now = time.monotonic()
        if not force and self.keyring is not None and now - self.checked_at < REFRESH_SECONDS:
            return self.keyring  # settings changes reset the cache (the setting_changed signal)
        with self.lock:
            full = (*_settings_fingerprint(), _file_stamp(key_file()), _file_stamp(old_keys_file()))
            if force or self.keyring is None or full != self.fingerprint:
                self.keyring = _load()
                self.fingerprint = full
            self.checked_at = now
            return self.keyring

    def clear(self) -> None:
        with self.lock:
            self.keyring = None
            self.fingerprint = ()
            self.checked_at = 0.0


_cache = _Cache()


def keyring(*, refresh: bool = False) -> Keyring:
    """The keyring now (re-read from the key files at most every ``REFRESH_SECONDS``)."""
    return _cache.get(force=refresh)


def reset() -> None:
    """Forget the cached keyring (after the key files changed in this process)."""
    _cache.clear()


@receiver(setting_changed)
def _on_setting_changed(setting: str, **kwargs: Any) -> None:
    if setting in {"KEHU_ENCRYPTION_KEY", "KEHU_ENCRYPTION_KEY_FROM_ENV", "KEHU_ENCRYPTION_OLD_KEYS", "DATA_DIR"}:
        reset()


def generate_key() -> str:
    """A new random 256-bit key in the form the data directory keeps (urlsafe base64)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


# ---------------------------------------------------------------- tokens


def _associated_data(purpose: str, key_id: str) -> bytes:
    return f"kehu|enc1|{key_id}|{purpose}".encode()


def is_token(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX) and value.count("$") == 2


def token_key_id(token: str) -> str | None:
    """The key id a token was made with (``None`` when ``token`` is not one)."""
    return token.split("$")[1] if is_token(token) else None


def encrypt(text: str, *, purpose: str = "text") -> str:
    """``text`` as a token under the current key, for ``purpose`` only."""
    key = keyring().current
    nonce = os.urandom(_NONCE_BYTES)  # what secrets.token_bytes returns, without its two calls
    sealed = key.aead.encrypt(nonce, text.encode("utf-8"), _associated_data(purpose, key.id))
    return f"{TOKEN_PREFIX}{key.id}${base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"


def decrypt(token: str, *, purpose: str = "text") -> str:
    """The text inside ``token``. Raises DecryptionError when it is not a token, was altered,
    was made for another purpose, or its key is not in the keyring."""
    if not is_token(token):
        raise DecryptionError("Not an encrypted value.")
    _prefix, key_id, payload = token.split("$")
    key = keyring().get(key_id) or keyring(refresh=True).get(key_id)
    if key is None:
        raise DecryptionError(
            f"Cannot decrypt: key {key_id} is not in the keyring (encryption.key, encryption.old-keys, "
            "KEHU_ENCRYPTION_OLD_KEYS). Restore the missing key; keys must never be deleted."
        )
    try:
        raw = base64.urlsafe_b64decode(payload.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise DecryptionError("Cannot decrypt: the value is damaged.") from None
    if len(raw) <= _NONCE_BYTES:
        raise DecryptionError("Cannot decrypt: the value is damaged.")
    try:
        plain = key.aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _associated_data(purpose, key_id))
    except InvalidTag:
        raise DecryptionError("Cannot decrypt: the value was altered or belongs to another field or purpose.") from None
    return plain.decode("utf-8")


def encrypt_json(value: Any, *, purpose: str) -> str:
    """Any JSON value as one token (e.g. a stored API answer)."""
    return encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")), purpose=purpose)


def decrypt_json(token: str, *, purpose: str) -> Any:
    return json.loads(decrypt(token, purpose=purpose))


def reencrypt(token: str, *, purpose: str) -> str:
    """``token`` under the current key (unchanged when it already is)."""
    if token_key_id(token) == keyring().current.id:
        return token
    return encrypt(decrypt(token, purpose=purpose), purpose=purpose)


# ---------------------------------------------------------------- blind indexes


def _index(key: Key, kind: str, normalized: str) -> str:
    message = f"{kind}\x00{normalized}".encode()
    return hmac.new(key.index_key, message, hashlib.sha256).hexdigest()[:INDEX_LENGTH]


def blind_index(kind: str, normalized: str) -> str:
    """The blind index of a normalized value of ``kind`` under the current key ("" for "")."""
    if not normalized:
        return ""
    return _index(keyring().current, kind, normalized)


def blind_index_candidates(kind: str, normalized: str) -> list[str]:
    """The blind index under every key of the keyring: a lookup that matches any of them finds
    the value whether or not its row has been rotated to the current key yet."""
    if not normalized:
        return []
    return [_index(key, kind, normalized) for key in keyring().keys]
