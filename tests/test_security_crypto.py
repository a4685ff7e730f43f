"""Reference data at rest: encrypted in the database, key outside it, wrong key refused in words."""

from __future__ import annotations

import os
import stat

import keyring
import numpy as np
import pytest
from keyring.backend import KeyringBackend
from keyring.backends.fail import Keyring as FailKeyring

from sigverify.core.engine import Engine
from sigverify.core.security import AesGcmCipher, CipherError, bootstrap_user, open_store
from sigverify.core.security.crypto import KEY_FILE_NAME, load_key
from sigverify.core.session import open_session
from sigverify.core.store import Store


@pytest.fixture
def engine(test_model) -> Engine:
    return Engine(test_model, device="cpu")


def register(engine, store, files):
    return open_session(engine, store, bootstrap_user("test")).register("C-1", files)


def key_file(home) -> os.PathLike:
    return home / "sigverify" / KEY_FILE_NAME


def test_database_file_holds_no_reference_bytes(engine, db_url, signature_files, isolated_home):
    store = open_store(db_url)
    register(engine, store, [signature_files["a0"]])
    ref = store.references_for("C-1")[0]
    original, normalized = store.reference_images(ref.id)
    assert original == signature_files["a0"].read_bytes()  # decrypts to the exact file
    store.engine.dispose()  # checkpoint the WAL into the file
    raw = b"".join(p.read_bytes() for p in (isolated_home.parent).glob("store.db*"))
    for secret in (original[40:104], normalized[40:104], np.asarray(ref.embedding, np.float32).tobytes()[:32]):
        assert secret not in raw
    key = key_file(isolated_home)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes().strip() not in raw


def test_wrong_key_is_refused_with_a_clear_error(engine, db_url, signature_files, isolated_home):
    register(engine, open_store(db_url), [signature_files["a0"]])
    key = key_file(isolated_home)
    key.unlink()  # the key is lost: no new one is made up for an encrypted database
    with pytest.raises(CipherError, match="key this PC does not have.*sigverify key import"):
        open_store(db_url)
    assert not key.exists()
    load_key()  # another PC's key is in place
    with pytest.raises(CipherError, match="is not the key of the database"):
        open_store(db_url)
    other = Store(db_url, cipher=AesGcmCipher(os.urandom(32), "a test key"))  # past the check value
    with pytest.raises(CipherError, match="encrypted with another key than a test key"):
        other.references_for("C-1")


def test_altered_ciphertext_and_plaintext_rows_are_errors_not_garbage(engine, db_url, signature_files):
    plain = Store(db_url)  # an installation that did not encrypt
    register(engine, plain, [signature_files["a0"]])
    with pytest.raises(CipherError, match="not encrypted"):
        open_store(db_url).references_for("C-1")
    cipher = AesGcmCipher(os.urandom(32))
    blob = bytearray(cipher.encrypt(b"embedding bytes"))
    blob[-1] ^= 1
    with pytest.raises(CipherError, match="damaged or was altered"):
        cipher.decrypt(bytes(blob))


def test_a_key_file_others_can_read_is_refused(isolated_home):
    load_key()
    key = key_file(isolated_home)
    key.chmod(0o644)
    with pytest.raises(CipherError, match="chmod 600"):
        load_key()


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self):
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.values.get((service, username))

    def set_password(self, service, username, password):
        self.values[(service, username)] = password

    def delete_password(self, service, username):
        self.values.pop((service, username), None)


def test_key_lives_in_the_os_keyring_where_one_works(monkeypatch, isolated_home):
    monkeypatch.delenv("SIGVERIFY_HOME")
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    try:
        keyring.set_keyring(memory)
        key, source = load_key()
        assert source == "the OS keyring" and load_key()[0] == key and len(memory.values) == 1
        assert not list(isolated_home.rglob(KEY_FILE_NAME))
        # no keyring (headless Linux): a key file with owner-only permissions in the config folder
        keyring.set_keyring(FailKeyring())
        key, source = load_key()
    finally:
        keyring.set_keyring(previous)
    assert "key file" in source and stat.S_IMODE(next(isolated_home.rglob(KEY_FILE_NAME)).stat().st_mode) == 0o600
