"""A throw-away PostgreSQL server for the tests: initdb into a temporary folder, 127.0.0.1 only.

The server binaries come from Debian's ``postgresql`` package (``.ci/run`` installs it when it
runs as root) or from PATH. initdb and postgres refuse to run as root, so under root the cluster
belongs to the ``postgres`` account the package creates. Password authentication (SCRAM) is on,
so the tests go through the same credential path as a clerk PC: the password is in
``SIGVERIFY_DB_PASSWORD``, never in a URL.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "sigverify_test"


def server_bin_dir() -> Path | None:
    """The folder with initdb/pg_ctl/postgres, or None when no server can be had here."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    return candidates[-1].parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PgServer:
    bin_dir: Path
    folder: Path
    port: int
    password: str
    run_as: str | None  # the account the server runs as when we are root

    def _cmd(self, *args: str) -> list[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        return ["runuser", "-u", self.run_as, "--", *command] if self.run_as else command

    def start(self) -> None:
        pwfile = self.folder / "pw"
        pwfile.write_text(self.password)
        os.chmod(pwfile, 0o600)
        data = self.folder / "data"
        if self.run_as:
            entry = pwd.getpwnam(self.run_as)
            for path in (self.folder, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        subprocess.run(self._cmd("initdb", "-D", str(data), "-U", SUPERUSER, "--pwfile", str(pwfile),
                                 "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"),
                       check=True, capture_output=True, text=True)
        pwfile.unlink()
        # in the cluster's own configuration, so a restart (test of an unreachable server) keeps it
        with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.folder}'\nmax_connections = 60\n"
                       "shared_buffers = 32MB\n"
                       # a throw-away cluster: the server never crashes in these tests (a killed
                       # CLIENT is what they test), so skip the disk flushes that only slow them
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        self.restart()

    def stop(self) -> None:
        subprocess.run(self._cmd("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop"),
                       capture_output=True, text=True)

    def restart(self) -> None:
        subprocess.run(self._cmd("pg_ctl", "-D", str(self.folder / "data"), "-l",
                                 str(self.folder / "server.log"), "-w", "-t", "60", "start"), check=True,
                       capture_output=True, text=True)

    def url(self, database: str = "postgres", user: str = SUPERUSER) -> str:
        return f"postgresql+psycopg://{user}@127.0.0.1:{self.port}/{database}"

    def admin_sql(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, password=self.password,
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(sql)

    def log_text(self) -> str:
        try:
            return (self.folder / "server.log").read_text(errors="replace")
        except OSError:
            return ""


def start_server() -> PgServer:
    """Start a fresh cluster; raises RuntimeError with the reason when that is impossible."""
    bin_dir = server_bin_dir()
    if bin_dir is None:
        raise LookupError("no PostgreSQL server binaries (initdb): install Debian's postgresql package "
                          "(.ci/run does so when it runs as root)")
    run_as = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError as exc:
            raise LookupError("running as root and there is no 'postgres' account to run the server as") from exc
        run_as = "postgres"
    folder = Path(tempfile.mkdtemp(prefix="sigverify-pg-"))
    server = PgServer(bin_dir, folder, _free_port(), secrets.token_urlsafe(18), run_as)
    try:
        server.start()
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"the test PostgreSQL server did not start: {exc.stderr or exc.stdout}") from exc
    _watch(server)
    return server


def _watch(server: PgServer) -> None:
    """Stop the server and remove its folder when this process dies without cleaning up (a test
    run killed by a timeout, Ctrl+C twice): no server outlives the tests that started it."""
    stop = " ".join(f"'{part}'" for part in server._cmd("pg_ctl", "-D", str(server.folder / "data"), "-m",
                                                        "immediate", "-w", "stop"))
    script = (f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 2; done; "
              f"if [ -d '{server.folder}' ]; then {stop} >/dev/null 2>&1; rm -rf '{server.folder}'; fi")
    subprocess.Popen(["sh", "-c", script], start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def remove_server(server: PgServer) -> None:
    server.stop()
    for _ in range(20):
        shutil.rmtree(server.folder, ignore_errors=True)
        if not server.folder.exists():
            return
        time.sleep(0.1)
