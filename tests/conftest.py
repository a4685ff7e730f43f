"""Shared fixtures: everything generated here, nothing downloaded; settings and DB per test."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

# Qt tests run without a screen; set before any Qt import
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).parent))

from fixture_files import write_signature  # noqa: E402
from model_factory import build_test_model  # noqa: E402

from sigverify.core.store import Store  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def datasets_dir() -> Path:
    return Path(os.environ.get("SIGVERIFY_DATASETS", REPO.parent / "shared" / "datasets"))


@pytest.fixture(scope="session")
def datasets() -> Path:
    path = datasets_dir()
    if not path.is_dir():
        pytest.skip(f"real datasets not present at {path}")
    return path


@pytest.fixture(scope="session")
def test_model(tmp_path_factory) -> Path:
    return build_test_model(tmp_path_factory.mktemp("model") / "test.onnx")


@pytest.fixture
def db_url(tmp_path) -> str:
    """An existing, empty store (as `sigverify init` leaves it): the app opens, never creates, one."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    Store(url, create=True).engine.dispose()
    return url


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """No test reads or writes the real user's data folder, settings or keyring."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("SIGVERIFY_HOME", str(home / "sigverify"))
    return home


@pytest.fixture
def signature_files(tmp_path):
    """Three genuine signatures of writer A, one of writer B, a blank page."""
    folder = tmp_path / "signatures"
    files = {f"a{i}": write_signature(folder / f"a{i}.png", 11, 100 + i) for i in range(3)}
    files["b0"] = write_signature(folder / "b0.png", 22, 200)
    blank = folder / "blank.png"
    cv2.imwrite(str(blank), np.full((120, 300), 250, np.uint8))
    files["blank"] = blank
    return files


# --- PostgreSQL: one throw-away server per test session, a fresh database per test ---------------
@pytest.fixture(scope="session")
def pg_server():
    from pg_server import remove_server, start_server

    try:
        server = start_server()
    except LookupError as exc:  # only "no server binary here" skips; a server that fails to start fails
        pytest.skip(f"PostgreSQL tests need a server: {exc}")
    yield server
    remove_server(server)


@pytest.fixture
def pg_url(pg_server, monkeypatch) -> str:
    """A new empty database; the password only in SIGVERIFY_DB_PASSWORD (child processes inherit it)."""
    import secrets

    name = f"t_{secrets.token_hex(6)}"
    pg_server.admin_sql(f"CREATE DATABASE {name}")
    monkeypatch.setenv("SIGVERIFY_DB_PASSWORD", pg_server.password)
    yield pg_server.url(name)
    try:
        pg_server.admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    except Exception:  # noqa: BLE001 - the server may have been stopped by the test; it goes at session end
        pass


@pytest.fixture
def pg_store_url(pg_url) -> str:
    """An existing, empty store on the server (as `sigverify init` leaves it)."""
    Store(pg_url, create=True).engine.dispose()
    return pg_url


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request, tmp_path) -> str:
    """An existing, empty store, on the embedded SQLite file and on a real PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
        Store(url, create=True).engine.dispose()
        return url
    return request.getfixturevalue("pg_store_url")
