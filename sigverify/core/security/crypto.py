"""Reference data at rest: AES-256-GCM for image bytes, normalised PNGs and embeddings.

The key never lives in the database. Where it lives, first match wins:
  1. ``SIGVERIFY_KEY_FILE``: an explicit key file (servers, batch jobs);
  2. ``SIGVERIFY_HOME`` set: ``$SIGVERIFY_HOME/reference.key`` only, never the OS keyring (tests,
     portable installs: everything of this installation in one folder);
  3. the OS keyring (Windows Credential Manager, macOS Keychain, Secret Service) where one works;
  4. else ``reference.key`` in the user's config folder, created with owner-only permissions.
A small encrypted check value in ``settings`` tells a wrong key apart from damaged data.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import stat
from pathlib import Path

import platformdirs
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..store import Store, StoreError

MAGIC = b"SVE1"  # format marker: a plaintext blob never starts with it by accident (PNG, float32)
NONCE_BYTES = 12
KEY_ID_BYTES = 4
KEY_FILE_NAME = "reference.key"
KEYRING_SERVICE = "sigverify"
KEYRING_NAME = "reference-data-key"
CHECK_SETTING = "cipher_check"
CHECK_PLAINTEXT = b"sigverify reference-data key check"


class CipherError(StoreError):
    """Encrypted data cannot be read: wrong key, missing key, or damaged data."""


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"sigverify key id" + key).digest()[:KEY_ID_BYTES]


class AesGcmCipher:
    """``Store(url, cipher=AesGcmCipher(key))``. Blob: MAGIC | key id | nonce | ciphertext+tag."""

    def __init__(self, key: bytes, source: str = "the given key"):
        if len(key) != 32:
            raise CipherError("the reference-data key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)
        self._key_id = key_id(key)
        self.source = source  # where the key came from, for error messages

    def encrypt(self, data: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)  # random 96-bit nonce: safe far beyond any bank's volume
        header = MAGIC + self._key_id
        return header + nonce + self._aead.encrypt(nonce, bytes(data), header)

    def decrypt(self, blob: bytes) -> bytes:
        blob = bytes(blob)
        header_len = len(MAGIC) + KEY_ID_BYTES
        if not blob.startswith(MAGIC):
            raise CipherError("reference data in this database is not encrypted (written without "
                              "encryption); it cannot be read by an installation that encrypts")
        if blob[len(MAGIC):header_len] != self._key_id:
            raise CipherError(f"reference data was encrypted with another key than {self.source}: "
                              "restore the key that belongs to this database")
        nonce, body = blob[header_len:header_len + NONCE_BYTES], blob[header_len + NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, body, blob[:header_len])
        except InvalidTag as exc:
            raise CipherError("encrypted reference data is damaged or was altered") from exc


# --- where the key lives ---------------------------------------------------------------------
def key_folder() -> Path:
    home = os.environ.get("SIGVERIFY_HOME")
    return Path(home) if home else Path(platformdirs.user_config_dir("sigverify", appauthor=False))


def _read_key_file(path: Path) -> bytes:
    if os.name == "posix" and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CipherError(f"the key file {path} can be read by other users: run `chmod 600 {path}`")
    try:
        key = base64.b64decode(path.read_bytes().strip(), validate=True)
    except ValueError as exc:
        raise CipherError(f"the key file {path} is damaged (not base64)") from exc
    if len(key) != 32:
        raise CipherError(f"the key file {path} is damaged (not a 32-byte key)")
    return key


def _create_key_file(path: Path) -> bytes:
    """Owner-only from the first byte (no chmod afterwards: no window where others could read it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path)  # another process created it a moment ago: use theirs
    with os.fdopen(fd, "wb") as handle:
        handle.write(base64.b64encode(key) + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key


def _file_key(path: Path) -> tuple[bytes, str]:
    key = _read_key_file(path) if path.exists() else _create_key_file(path)
    return key, f"the key file {path}"


def _keyring_key() -> tuple[bytes, str] | None:
    """The key from the OS keyring, created there if missing; None where no keyring works."""
    try:
        import keyring
        from keyring.errors import KeyringError

        stored = keyring.get_password(KEYRING_SERVICE, KEYRING_NAME)
        if stored is None:
            keyring.set_password(KEYRING_SERVICE, KEYRING_NAME, base64.b64encode(secrets.token_bytes(32)).decode())
            stored = keyring.get_password(KEYRING_SERVICE, KEYRING_NAME)  # null backends forget: check
        if stored is None:
            return None
        return base64.b64decode(stored, validate=True), "the OS keyring"
    except (ImportError, KeyringError, RuntimeError, ValueError, OSError):
        return None  # no usable keyring here (headless Linux, locked keychain): the key file it is


def load_key() -> tuple[bytes, str]:
    """(32-byte key, where it came from in words); creates the key on first use."""
    explicit = os.environ.get("SIGVERIFY_KEY_FILE")
    if explicit:
        path = Path(explicit)
        if not path.exists():
            raise CipherError(f"SIGVERIFY_KEY_FILE names {path}, which does not exist")
        return _read_key_file(path), f"the key file {path}"
    path = key_folder() / KEY_FILE_NAME
    if os.environ.get("SIGVERIFY_HOME") or path.exists():
        return _file_key(path)
    return _keyring_key() or _file_key(path)


def default_cipher() -> AesGcmCipher:
    key, source = load_key()
    return AesGcmCipher(key, source)


def check_store_key(store: Store) -> None:
    """Refuse a key that does not belong to this database, before anything is read or written with it.

    The first encrypting open stores an encrypted check value; later opens must decrypt it.
    """
    cipher = store.cipher
    if not isinstance(cipher, AesGcmCipher):
        return
    stored = store.get_setting(CHECK_SETTING)
    if stored is None:
        store.set_setting(CHECK_SETTING, base64.b64encode(cipher.encrypt(CHECK_PLAINTEXT)).decode())
        return
    try:
        ok = cipher.decrypt(base64.b64decode(stored)) == CHECK_PLAINTEXT
    except (CipherError, ValueError):
        ok = False
    if not ok:
        raise CipherError(f"the encryption key from {cipher.source} is not the key of the database "
                          f"{store.location}: restore the key that belongs to it (README, 'Reference data at rest')")


def open_store(url: str | None = None, cipher=None) -> Store:
    """The Store as the CLI and GUI must open it: encrypted reference data, key checked."""
    store = Store(url, cipher=cipher or default_cipher())
    check_store_key(store)
    return store
