"""One process of the concurrency test (test_store_concurrency.py): a clerk, an administrator or a batch.

    python concurrency_worker.py ROLE USERNAME URL MODEL FOLDER SECONDS

Works as that user for SECONDS, counting what it did, and prints one JSON line: the counts per
audit action, the ids it was told were committed, and every error it saw (with its type). The
password of a server database comes from SIGVERIFY_DB_PASSWORD, as on a clerk PC.
"""

from __future__ import annotations

import json
import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

from sigverify.core.engine import Engine
from sigverify.core.security import UserService, open_store
from sigverify.core.session import open_session


def clerk(verifier, files, customers, until, done: Counter, ids: list) -> None:
    rng = random.Random()
    while time.monotonic() < until:
        result = verifier.verify(rng.choice(customers), rng.choice(files))
        done["verify"] += 1
        ids.append(result.record_id)
        if rng.random() < 0.5:  # the clerk decides on half of them
            verifier.record_final_decision(result.record_id, rng.choice(["accept", "reject", "refer_to_supervisor"]))
            done["final_decision"] += 1


def administrator(verifier, files, customers, until, done: Counter, ids: list) -> None:
    rng, n = random.Random(), 0
    while time.monotonic() < until:
        new = verifier.register(f"N-{n:05d}", rng.sample(files, 2), name=f"New customer {n}")
        done["register_reference"] += 1
        ids.extend(new.reference_ids)
        n += 1
        # replace one reference of a customer the clerks are verifying: add the new one first,
        # then remove the oldest, so the customer always has a reference to verify against
        customer = rng.choice(customers)
        verifier.register(customer, [rng.choice(files)])
        done["register_reference"] += 1
        oldest = verifier.store.references_for(customer)[0].id
        verifier.remove_reference(customer, oldest, reason="replaced by a newer scan")
        done["remove_reference"] += 1


def batch(verifier, files, customers, until, done: Counter, ids: list) -> None:
    from sigverify.core.batch import BatchOptions

    folder = files[0].parent.parent / "batch"
    while time.monotonic() < until:
        summary = verifier.batch(BatchOptions(source=folder, pattern=r"(?P<customer>C-\d+)_", workers=0,
                                              batch_size=4)).run()
        done["batch_start"] += 1
        done["batch_finish"] += 1
        done["batch_items"] += summary.processed
        ids.append(summary.run_id)


ROLES = {"clerk": clerk, "administrator": administrator, "batch": batch}


def main() -> None:
    role, username, url, model, folder, seconds = sys.argv[1:7]
    done: Counter[str] = Counter()
    ids: list[int] = []
    errors: list[str] = []
    try:
        store = open_store(url)
        user = UserService(store).get(username)
        verifier = open_session(Engine(model, device="cpu", warm_up=False), store, user)
        files = sorted(Path(folder).glob("*.png"))
        customers = sorted(c.customer_id for c in store.list_customers() if c.customer_id.startswith("C-"))
        print("ready", flush=True)
        sys.stdin.readline()  # all start together: the test says "go" once every process is ready
        ROLES[role](verifier, files, customers, time.monotonic() + float(seconds), done, ids)
    except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on any
        errors.append(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
    print(json.dumps({"role": role, "user": username, "done": done, "ids": ids, "errors": errors}), flush=True)


if __name__ == "__main__":
    main()
