"""Store throughput: verifications/s with 1, 2 and 4 concurrent clients, SQLite vs PostgreSQL, one run.

    .venv/bin/python bench/bench_store.py                       # a throw-away PostgreSQL server, 10 s each
    .venv/bin/python bench/bench_store.py --seconds 20 --clients 1,2,4,8
    SIGVERIFY_DB_PASSWORD=... .venv/bin/python bench/bench_store.py --pg-url postgresql+psycopg://u@host/db

What one verification costs the store, as a clerk's click does it: read the customer's
references and the thresholds, write the verification record and its chained audit record in
one transaction (``Verifier.verify_embedding``, the bundled model's real embeddings). The model
itself is left out (it is measured by bench_verify.py, ~the same on either store): with it, the
store is a small share of a verification on a CPU. Each client is a separate process with its own
connection, as separate clerk PCs are. Without --pg-url the script starts a server the way the
tests do (tests/pg_server.py: Debian's postgresql package; as root it runs as 'postgres'), with
fsync on, so commits cost what they cost on a real server's disk.

Columns: clients, verifications/s summed over the clients, ms per verification as one client
sees it (mean and 95th percentile), ratio against 1 client on the same store. The load average
is printed: compare runs only at similar load.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from sigverify.core.engine import Engine  # noqa: E402
from sigverify.core.security import AuditLog  # noqa: E402
from sigverify.core.store import Store  # noqa: E402
from sigverify.core.verify import Verifier  # noqa: E402

CUSTOMERS = 20


def make_signature(path: Path, seed: int) -> Path:
    from fixture_files import write_signature

    return write_signature(path, seed, 100 + seed)


def setup_store(url: str, files: list[Path]) -> None:
    verifier = Verifier(Engine(device="cpu"), Store(url), audit=AuditLog(Store(url)))
    for c in range(CUSTOMERS):
        verifier.register(f"C-{c:03d}", [files[c % len(files)], files[(c + 1) % len(files)]], user="bench")


def client(url: str, sample: str, seconds: float, start_at: float) -> list[float]:
    """One clerk PC: verify against random customers until the time is up; the duration of each."""
    store = Store(url)
    verifier = Verifier(Engine(device="cpu", warm_up=False), store, audit=AuditLog(store))
    prepared = verifier.prepare(sample)
    embedding = verifier.engine.embed(prepared.normalized[None])[0]
    rng = np.random.default_rng(os.getpid())
    times: list[float] = []
    time.sleep(max(0.0, start_at - time.time()))
    end = time.time() + seconds
    while time.time() < end:
        began = time.perf_counter()
        verifier.verify_embedding(f"C-{rng.integers(CUSTOMERS):03d}", prepared, embedding, user="bench")
        times.append(time.perf_counter() - began)
    return times


def measure(url: str, sample: Path, clients: int, seconds: float) -> tuple[float, float, float]:
    with get_context("spawn").Pool(clients) as pool:
        start_at = time.time() + 8  # every client has loaded and connected by then
        results = pool.starmap(client, [(url, str(sample), seconds, start_at)] * clients)
    counts = [len(r) for r in results]
    every = np.concatenate([np.asarray(r) for r in results]) * 1000
    return sum(counts) / seconds, float(every.mean()), float(np.percentile(every, 95))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", default="1,2,4")
    parser.add_argument("--pg-url", help="an existing server (password in SIGVERIFY_DB_PASSWORD); "
                                         "default: start a throw-away one")
    args = parser.parse_args()
    counts = [int(n) for n in args.clients.split(",")]
    work = Path(tempfile.mkdtemp(prefix="bench-store-"))
    files = [make_signature(work / f"s{i}.png", 11 + i) for i in range(4)]
    server = None
    stores = {"sqlite": f"sqlite:///{work / 'bench.db'}"}
    if args.pg_url:
        stores["postgresql"] = args.pg_url
    else:
        from pg_server import remove_server, start_server

        server = start_server()
        _durable(server)
        server.admin_sql("CREATE DATABASE bench")
        os.environ["SIGVERIFY_DB_PASSWORD"] = server.password
        stores["postgresql"] = server.url("bench")
    try:
        print(f"load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs); {args.seconds:.0f} s per run")
        print(f"{'store':<11} {'clients':>7} {'verif/s':>9} {'mean ms':>8} {'p95 ms':>8} {'ratio':>6}")
        for name, url in stores.items():
            setup_store(url, files)
            base = None
            for n in counts:
                rate, mean, p95 = measure(url, files[0], n, args.seconds)
                base = base or rate
                print(f"{name:<11} {n:>7} {rate:>9.1f} {mean:>8.1f} {p95:>8.1f} {rate / base:>6.2f}", flush=True)
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        if server is not None:
            remove_server(server)


def _durable(server) -> None:
    """The test cluster skips disk flushes; a benchmark must not."""
    conf = server.folder / "data" / "postgresql.conf"
    conf.write_text(conf.read_text() + "\nfsync = on\nsynchronous_commit = on\nfull_page_writes = on\n")
    server.stop()
    server.restart()


if __name__ == "__main__":
    main()
