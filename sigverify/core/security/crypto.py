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

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..paths import user_config_folder
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
    return Path(home) if home else user_config_folder()


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


def _file_key(path: Path, create: bool) -> tuple[bytes, str] | None:
    if not path.exists() and not create:
        return None
    key = _read_key_file(path) if path.exists() else _create_key_file(path)
    return key, f"the key file {path}"


def _keyring_key(create: bool) -> tuple[bytes, str] | None:
    """The key from the OS keyring (created there if asked); None where there is none or no keyring works."""
    try:
        import keyring
        from keyring.errors import KeyringError

        stored = keyring.get_password(KEYRING_SERVICE, KEYRING_NAME)
        if stored is None and create:
            keyring.set_password(KEYRING_SERVICE, KEYRING_NAME, base64.b64encode(secrets.token_bytes(32)).decode())
            stored = keyring.get_password(KEYRING_SERVICE, KEYRING_NAME)  # null backends forget: check
        if stored is None:
            return None
        return base64.b64decode(stored, validate=True), "the OS keyring"
    except (ImportError, KeyringError, RuntimeError, ValueError, OSError):
        return None  # no usable keyring here (headless Linux, locked keychain): the key file it is


def find_key(create: bool = True) -> tuple[bytes, str] | None:
    """(32-byte key, where it came from in words); created on first use if ``create``, else None."""
    explicit = os.environ.get("SIGVERIFY_KEY_FILE")
    if explicit:
        path = Path(explicit)
        if not path.exists():
            raise CipherError(f"SIGVERIFY_KEY_FILE names {path}, which does not exist")
        return _read_key_file(path), f"the key file {path}"
    path = key_folder() / KEY_FILE_NAME
    if os.environ.get("SIGVERIFY_HOME") or path.exists():
        return _file_key(path, create)
    return _keyring_key(create) or _file_key(path, create)


def load_key() -> tuple[bytes, str]:
    """(32-byte key, where it came from in words); creates the key on first use."""
    found = find_key(create=True)
    assert found is not None  # create=True always yields a key or raises
    return found


def key_from_file(path: str | Path) -> bytes:
    """The key in an exported key file (restoring a backup on another PC)."""
    path = Path(path)
    if not path.is_file():
        raise CipherError(f"key file not found: {path}")
    return _read_key_file(path)


def export_key(path: str | Path) -> Path:
    """Write this installation's key to ``path`` (owner-only), e.g. to keep it apart from backups."""
    key, _ = load_key()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise CipherError(f"{path} exists already; the key is never written over a file") from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(base64.b64encode(key) + b"\n")
    return path


def install_key(key: bytes) -> str:
    """Make ``key`` this installation's key (keyring, else key file); refuses to replace another key."""
    explicit = os.environ.get("SIGVERIFY_KEY_FILE")
    path = Path(explicit) if explicit else key_folder() / KEY_FILE_NAME
    existing = _existing_key(path)
    if existing is not None:
        if existing[0] != key:
            raise CipherError(f"{existing[1]} already holds another key; it would be lost: move it away first")
        return existing[1]
    if not (explicit or os.environ.get("SIGVERIFY_HOME")) and _keyring_set(key):
        return "the OS keyring"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(base64.b64encode(key) + b"\n")
    return f"the key file {path}"


def _existing_key(path: Path) -> tuple[bytes, str] | None:
    if path.exists():
        return _read_key_file(path), f"the key file {path}"
    if os.environ.get("SIGVERIFY_HOME") or os.environ.get("SIGVERIFY_KEY_FILE"):
        return None
    try:
        import keyring

        stored = keyring.get_password(KEYRING_SERVICE, KEYRING_NAME)
    except Exception:  # no usable keyring: nothing stored there
        return None
    return (base64.b64decode(stored), "the OS keyring") if stored else None


def _keyring_set(key: bytes) -> bool:
    try:
        import keyring

        value = base64.b64encode(key).decode()
        keyring.set_password(KEYRING_SERVICE, KEYRING_NAME, value)
        return keyring.get_password(KEYRING_SERVICE, KEYRING_NAME) == value
    except Exception:  # no usable keyring: the key file it is
        return False


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


def open_store(url: str | None = None, cipher=None, create: bool = False) -> Store:
    """The Store as the CLI and GUI must open it: encrypted reference data, key checked.

    Only an existing database opens (NoStoreError names the path otherwise): a mistyped --db
    must not quietly become a new, empty store. ``create=True`` is for creating one on purpose
    (the GUI's first start, ``sigverify init``).

    A database that is already encrypted never gets a fresh key made up for it (a restored
    backup on a new PC): the error says to import the key instead.
    """
    if not create:
        Store(url, create=False).engine.dispose()  # NoStoreError before a key is made up for nothing
    if cipher is None:
        found = find_key(create=False)
        if found is None:
            _refuse_if_encrypted(url)
            found = load_key()
        cipher = AesGcmCipher(*found)
    store = Store(url, cipher=cipher, create=create)
    check_store_key(store)
    return store


def _refuse_if_encrypted(url: str | None) -> None:
    probe = Store(url)  # plain: only the settings row is read
    try:
        encrypted = probe.get_setting(CHECK_SETTING) is not None
    finally:
        probe.engine.dispose()
    if encrypted:
        raise CipherError(f"the database {probe.location} is encrypted with a key this PC does not have: "
                          "import it with `sigverify key import KEYFILE` (README, 'Reference data at rest')")
