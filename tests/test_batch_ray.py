"""Batch on a local Ray instance that the test starts and stops: results identical to the local run.

Runs whenever Ray is importable (the 'cluster' extra), skipped without it. Starting Ray takes
10-20 s; the whole module ~20-30 s on two cores.
"""

from __future__ import annotations

import os

import pytest

ray = pytest.importorskip("ray", reason="the 'cluster' extra (Ray) is not installed")

# a Ray that cannot start or a stalled dataset must fail this test, not hang CI until its own limit
# (the signal method fails only this test; "thread" would end the whole pytest run)
pytestmark = pytest.mark.timeout(300, method="signal")

from test_batch import (  # noqa: E402, F401
    PATTERN,
    _batch_entries,
    _comparable,
    cheque_dir,
    cheque_images,
    guarded,
    x9_bytes,
)

from sigverify.core.batch import BatchOptions, load_results  # noqa: E402
from sigverify.core.security import table_problems  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    # a test run reports nothing to Ray's usage statistics (and a CI without network waits for nothing)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()  # pytest runs this after a failed test too: no Ray processes outlive the module


def _trail(store, run_id: int) -> list[tuple]:
    """What the audit trail says of a run's items (scores compared apart: batches differ in size)."""
    return sorted((entry["item"], entry["customer_id"], entry["sha256"], entry["decision"], entry["reference_id"],
                   entry["box"], entry["error"], round(entry["score"], 5) if entry["score"] is not None else None)
                  for rec, entry in _batch_entries(store) if rec.details["run_id"] == run_id)


def test_ray_gives_the_local_results(local_ray, guarded, cheque_dir, x9_bytes, tmp_path):  # noqa: F811
    session = guarded  # as the CLI runs it: the trail must be the local run's too
    local = session.batch(BatchOptions(cheque_dir, pattern=PATTERN, workers=0)).run()
    on_ray = session.batch(BatchOptions(cheque_dir, pattern=PATTERN, ray_address="local", batch_size=4)).run()
    assert on_ray.processed == local.processed == 11 and not on_ray.interrupted
    assert _comparable(load_results(session.store, on_ray.run_id)) == \
        _comparable(load_results(session.store, local.run_id))
    assert _trail(session.store, on_ray.run_id) == _trail(session.store, local.run_id)

    # X9 rows carry the file and the item's offset; the Ray tasks read their own item
    letter = tmp_path / "letter.x937"
    letter.write_bytes(x9_bytes)
    local = session.batch(BatchOptions(letter, workers=0)).run()
    on_ray = session.batch(BatchOptions(letter, ray_address="local")).run()
    assert _comparable(load_results(session.store, on_ray.run_id)) == \
        _comparable(load_results(session.store, local.run_id))
    assert _trail(session.store, on_ray.run_id) == _trail(session.store, local.run_id)
    assert table_problems(session.store) == []
