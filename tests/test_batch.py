"""Batch verification: folders and X9 files, customer mapping, errors, resume, reports, CLI."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from fixture_files import write_signature
from PIL import Image

from sigverify.cli.main import main as cli_main
from sigverify.core.batch import (
    BatchError,
    BatchOptions,
    BatchRunner,
    CustomerResolver,
    ItemResult,
    Prepared,
    load_results,
    normalize_account,
    prepare_item,
    read_manifest,
    review_order,
    run_batch,
    write_csv,
    write_html,
    write_json,
)
from sigverify.core.engine import Engine
from sigverify.core.security import (
    AuditLog,
    bootstrap_user,
    open_store,
    table_problems,
)
from sigverify.core.session import Session, open_session
from sigverify.core.store import batch_items, batch_runs
from sigverify.core.verify import Verifier
from sigverify.core.x9 import X9Item, read_x9, write_x9
from sigverify.synth.cheques import generate_cheque

PATTERN = r"(?P<customer>C\d)_"
ACCOUNTS = {"C0": "1000-0001", "C1": "1000-0002", "C2": "1000-0003"}


def _cheque(seed: int, signed: bool = True, bitonal: bool = False) -> np.ndarray:
    return generate_cheque(seed, signed=signed, datasets=None, photo=False, bitonal=bitonal,
                           dpi=200.0 if bitonal else 150.0).image


@pytest.fixture(scope="session")
def cheque_images() -> dict[str, np.ndarray]:
    """Generated once: eight signed cheques, one unsigned (names carry the customer)."""
    images = {f"C{i % 3}_{i:03d}.png": _cheque(i) for i in range(8)}
    images["C1_unsigned.png"] = _cheque(99, signed=False)
    return images


@pytest.fixture
def cheque_dir(tmp_path, cheque_images) -> Path:
    folder = tmp_path / "scans"
    for i, (name, image) in enumerate(sorted(cheque_images.items())):
        target = folder / ("night2" if i % 2 else "night1") / name
        target.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(target), image)
    (folder / "night1" / "C0_broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    (folder / "night1" / "notes.txt").write_text("not an image: ignored")
    (folder / "night2" / "stranger.png").write_bytes((folder / "night1" / "C0_000.png").read_bytes())
    return folder


@pytest.fixture
def verifier(test_model, db_url, tmp_path) -> Verifier:
    # opened as the CLI opens it (encrypted reference data), so the CLI tests can share it
    verifier = Verifier(Engine(test_model, device="cpu"), open_store(db_url))
    for n, (customer, account) in enumerate(ACCOUNTS.items()):
        verifier.store.add_customer(customer, name=f"Customer {n}", account=account)
        refs = [write_signature(tmp_path / "refs" / f"{customer}_{k}.png", n, 1000 + k) for k in range(2)]
        verifier.register(customer, refs)
    return verifier


def _by_key(results: list[ItemResult]) -> dict[str, ItemResult]:
    """Rows by relative path and by bare file name (the fixture spreads files over two folders)."""
    rows = {r.key: r for r in results}
    rows.update({Path(r.key).name: r for r in results})
    return rows


def _comparable(results: list[ItemResult]) -> list[tuple]:
    return [(r.key, r.customer_id, None if r.score is None else round(r.score, 5), r.decision, r.reference_id,
             r.box, r.error) for r in results]


# --------------------------------------------------------------------------- folder runs


def test_folder_batch_pattern_errors_and_reports(verifier, cheque_dir, tmp_path):
    progress = []
    summary = run_batch(verifier, BatchOptions(cheque_dir, pattern=PATTERN, workers=0, batch_size=3),
                        on_progress=progress.append)
    results = load_results(verifier.store, summary.run_id)
    rows = _by_key(results)
    assert summary.total == len(results) == 11 and summary.processed == 11 and not summary.interrupted
    assert progress[-1].done == 11 and [p.done for p in progress] == sorted(p.done for p in progress)
    assert "not an image file" in rows["C0_broken.jpg"].error
    unsigned = rows["C1_unsigned.png"]  # not an error: a "refer" row with its reason, for a person
    assert unsigned.error is None and unsigned.decision == "refer" and unsigned.score is None
    assert unsigned.details["reason"] == "no signature found on the cheque: a person must check it"
    assert "no customer" in rows["stranger.png"].error
    scored = [r for r in results if r.score is not None]
    referred = [r for r in results if not r.error and r.score is None]
    # the finder may still miss a generated signature: the plumbing, not the finder, is tested here
    assert len(scored) >= 6 and summary.errors == 11 - len(scored) - len(referred) >= 2
    assert all(r.decision in ("match", "refer", "no_match") and r.reference_id for r in scored)
    assert sum(1 for r in scored if r.box) >= 5  # the finder may take a plain page for a crop (no box)
    assert all(r.customer_id == Path(r.key).name[:2] for r in scored + referred)
    assert sum(summary.decisions.values()) == len(scored) + len(referred)
    assert set(summary.stage_seconds) >= {"decode", "extraction", "normalisation", "inference", "database"}

    write_csv(results, tmp_path / "r.csv")
    with open(tmp_path / "r.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 11 and table[0].keys() >= {"item", "customer_id", "score", "decision", "box", "error"}
    unsigned_row = next(row for row in table if row["item"].endswith("C1_unsigned.png"))
    assert unsigned_row["decision"] == "refer" and unsigned_row["error"] == "" and unsigned_row["score"] == ""
    assert unsigned_row["reason"] == "no signature found on the cheque: a person must check it"
    write_json(results, tmp_path / "r.json", summary)
    document = json.loads((tmp_path / "r.json").read_text())
    assert document["summary"]["items"] == 11 and document["summary"]["errors"] == summary.errors
    write_html(verifier.store, summary.run_id, results, tmp_path / "r.html", summary)
    page = (tmp_path / "r.html").read_text()
    assert page.index("<table class='summary'>") < page.index("<h2>Items</h2>")
    assert page.count("data:image/png;base64,") == 2 * len(scored)  # a crop and a reference per scored item
    order = re.findall(r"<tr class='(\w+)'>", page)
    rank = {"no_match": 0, "error": 1, "refer": 2, "match": 3}  # what needs a person first
    assert [rank[c] for c in order] == sorted(rank[c] for c in order)


def test_html_thumbnails_are_images(verifier, cheque_dir, tmp_path):
    summary = run_batch(verifier, BatchOptions(cheque_dir, pattern=PATTERN, workers=0))
    results = load_results(verifier.store, summary.run_id)
    write_html(verifier.store, summary.run_id, results, tmp_path / "r.html", summary)
    import base64

    first = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", (tmp_path / "r.html").read_text())
    assert first is not None
    image = Image.open(io.BytesIO(base64.b64decode(first.group(1))))
    assert image.size[0] <= 320 and image.size[1] <= 120


def test_manifest_mapping(verifier, cheque_dir, tmp_path):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("file,customer_id\nnight1/C0_000.png,C2\nC1_001.png,C1\nnight2/stranger.png,C9\n")
    assert read_manifest(manifest)["night1/C0_000.png"] == "C2"
    summary = run_batch(verifier, BatchOptions(cheque_dir, manifest=manifest, workers=0))
    rows = _by_key(load_results(verifier.store, summary.run_id))
    assert rows["night1/C0_000.png"].customer_id == "C2" and rows["night1/C0_000.png"].score is not None
    assert rows["C1_001.png"].customer_id == "C1"  # matched by file name alone
    assert "unknown customer 'C9'" in rows["stranger.png"].error
    assert "no customer" in rows["C0_003.png"].error


def test_bad_options(verifier, cheque_dir, tmp_path):
    with pytest.raises(BatchError, match="named group"):
        CustomerResolver(verifier.store, pattern=r"C\d")
    with pytest.raises(BatchError, match="no such folder"):
        run_batch(verifier, BatchOptions(tmp_path / "missing", workers=0))
    not_x9 = tmp_path / "letter.x9"
    not_x9.write_bytes(b"hello world")
    with pytest.raises(BatchError, match="folder of images or an X9.37 file"):
        run_batch(verifier, BatchOptions(not_x9, workers=0))
    assert normalize_account("0001211-1234 56789") == "1211123456789"


# --------------------------------------------------------------------------- X9 runs


def _tiff_g4(gray: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(gray).convert("1").save(buffer, format="TIFF", compression="group4", dpi=(200, 200))
    return buffer.getvalue()


@pytest.fixture(scope="session")
def x9_bytes() -> bytes:
    """Five cheques as an X9.37 file: accounts of C0, C1, C1, an unknown account, and no front image."""
    accounts = ["1000-0001", "10000002", "1000-0002", "5555-5555", "1000-0003"]
    items = []
    for i, account in enumerate(accounts):
        front = _tiff_g4(_cheque(50 + i, bitonal=True)) if i < 4 else None
        items.append(X9Item(index=i, routing="011000015", on_us=f"{account}/ {300 + i}", account=account,
                            serial=str(300 + i), amount_cents=1000 + i, sequence=f"{i + 1:015d}",
                            front_image=front, back_image=_tiff_g4(np.full((60, 200), 255, np.uint8))))
    buffer = io.BytesIO()
    write_x9(buffer, items, encoding="ebcdic")
    return buffer.getvalue()


def test_x9_batch_accounts(verifier, x9_bytes, tmp_path):
    path = tmp_path / "letter.x937"
    path.write_bytes(x9_bytes)
    summary = run_batch(verifier, BatchOptions(path, workers=0))
    results = load_results(verifier.store, summary.run_id)
    assert [r.customer_id for r in results] == ["C0", "C1", "C1", None, None]
    assert all(r.score is not None for r in results[:3]), [r.error for r in results[:3]]
    assert "5555-5555" in results[3].error and "no front image" in results[4].error
    assert results[0].details["x9"]["amount_cents"] == 1000 and results[1].to_dict()["serial"] == "301"


def test_x9_damaged_file_processes_good_items_and_lists_the_damage(verifier, x9_bytes, tmp_path):
    path = tmp_path / "cut.x937"
    third = list(read_x9(io.BytesIO(x9_bytes), images=False))[2].offset
    path.write_bytes(x9_bytes[: third + 300])  # cut inside the third item's records
    summary = run_batch(verifier, BatchOptions(path, workers=0))
    results = load_results(verifier.store, summary.run_id)
    assert summary.total == len(results) == 3
    good = [r for r in results if not r.error]
    assert [r.customer_id for r in good] == ["C0", "C1"]
    (damage,) = [r for r in results if r.error]
    assert "truncated" in damage.error and "byte" in damage.error


# --------------------------------------------------------------------------- resume, workers


def test_interrupt_then_resume_is_exact(verifier, cheque_dir):
    reference = load_results(verifier.store,
                             run_batch(verifier, BatchOptions(cheque_dir, pattern=PATTERN, workers=0)).run_id)
    seen = []
    stopped = run_batch(verifier, BatchOptions(cheque_dir, pattern=PATTERN, workers=0, batch_size=2),
                        on_progress=seen.append, should_stop=lambda: bool(seen) and seen[-1].done >= 4)
    assert stopped.interrupted and 4 <= stopped.processed < 11
    partial = load_results(verifier.store, stopped.run_id)
    assert len(partial) == stopped.processed
    status = verifier.store.run(lambda c: c.execute(batch_runs.select()
                                                    .where(batch_runs.c.id == stopped.run_id)).first().status)
    assert status == "interrupted"
    resumed = run_batch(verifier, BatchOptions(cheque_dir, pattern=PATTERN, workers=0, resume=True))
    assert resumed.run_id == stopped.run_id and resumed.skipped == stopped.processed
    assert resumed.processed == 11 - stopped.processed and not resumed.interrupted
    final = load_results(verifier.store, resumed.run_id)
    assert _comparable(final) == _comparable(reference)  # same rows, no duplicates
    again = run_batch(verifier, BatchOptions(cheque_dir, pattern=PATTERN, workers=0, resume=stopped.run_id))
    assert again.processed == 0 and again.skipped == 11
    count = verifier.store.run(lambda c: c.execute(batch_items.select()
                                                   .where(batch_items.c.run_id == stopped.run_id)).all())
    assert len(count) == 11


def test_worker_processes_give_the_same_results(verifier, cheque_dir):
    inline = run_batch(verifier, BatchOptions(cheque_dir, pattern=PATTERN, workers=0))
    pooled = run_batch(verifier, BatchOptions(cheque_dir, pattern=PATTERN, workers=2, batch_size=4))
    assert pooled.workers == 2 and pooled.stage_seconds["extraction"] > 0
    assert _comparable(load_results(verifier.store, pooled.run_id)) == \
        _comparable(load_results(verifier.store, inline.run_id))


def test_results_streamed_as_they_come(verifier, cheque_dir):
    streamed: list[ItemResult] = []
    runner = BatchRunner(verifier, BatchOptions(cheque_dir, pattern=PATTERN, workers=0, batch_size=2),
                         on_result=streamed.append)
    summary = runner.run()
    assert len(streamed) == 11 and {r.key for r in streamed} == {r.key for r in load_results(
        verifier.store, summary.run_id)}
    assert review_order(streamed)[0].decision in ("no_match", "refer")


# --------------------------------------------------------------------------- CLI


def _cli_common(test_model, db_url) -> list[str]:
    return ["--db", db_url, "--model", str(test_model), "--device", "cpu"]


def test_cli_batch_reports_and_json(verifier, cheque_dir, test_model, db_url, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    code = cli_main(["batch", str(cheque_dir), "--pattern", PATTERN, "--workers", "0", "--out", str(out / "r.csv"),
                     "--html", str(out / "r.html"), "--json-out", str(out / "r.json"), "--json", "--no-progress",
                     *_cli_common(test_model, db_url)])
    assert code == 10  # finished; the broken and unknown items could not be verified (unsigned: a refer row)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 12 and lines[-1]["summary"]["items"] == 11
    assert {line["item"] for line in lines[:-1]} == {r["item"] for r in json.loads((out / "r.json").read_text())
                                                     ["items"]}
    assert (out / "r.html").stat().st_size > 1000 and len((out / "r.csv").read_text().splitlines()) == 12


def test_ctrl_c_stops_cleanly_and_resume_finishes(verifier, cheque_dir, test_model, db_url, tmp_path):
    # enough items that the run is still going when the signal arrives, even when a loaded
    # machine delays the first stored result (3 copies once finished before the signal)
    for copy in range(8):
        for path in sorted(cheque_dir.rglob("C*_0*.png")):
            (path.parent / f"{path.stem}_copy{copy}.png").write_bytes(path.read_bytes())
    command = [sys.executable, "-m", "sigverify.cli.main", "batch", str(cheque_dir), "--pattern", PATTERN,
               "--workers", "1", "--batch-size", "2", "--no-progress", *_cli_common(test_model, db_url)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    store = verifier.store
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if store.run(lambda c: c.execute(batch_items.select()).first()) is not None:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "--resume" in stderr
    run = store.run(lambda c: c.execute(batch_runs.select()).first())
    assert run.status == "interrupted"
    code = cli_main(["batch", str(cheque_dir), "--pattern", PATTERN, "--workers", "0", "--resume", "--no-progress",
                     *_cli_common(test_model, db_url)])
    assert code == 10  # finished, with the fixture's broken items
    results = load_results(store, run.id)
    files = [p for p in cheque_dir.rglob("*") if p.suffix in (".png", ".jpg")]
    assert sorted(r.key for r in results) == sorted(p.relative_to(cheque_dir).as_posix() for p in files)


def crash_on_poison(item, params=None) -> Prepared:
    """Stands in for a decoder that kills its process on one file (imported by spawned workers)."""
    if "poison" in item.key:
        os._exit(3)
    return prepare_item(item, params)


def test_a_worker_crash_costs_only_the_item_that_caused_it(verifier, cheque_images, tmp_path):
    folder = tmp_path / "crash"
    folder.mkdir()
    names = sorted(cheque_images)[:3]
    for name in names:
        cv2.imwrite(str(folder / name), cheque_images[name])
    cv2.imwrite(str(folder / "C2_poison.png"), cheque_images[names[0]])
    runner = BatchRunner(verifier, BatchOptions(folder, pattern=PATTERN, workers=1, batch_size=2),
                         prepare=crash_on_poison)
    summary = runner.run()
    rows = _by_key(load_results(verifier.store, summary.run_id))
    assert summary.processed == 4 and not summary.interrupted
    assert "worker process died on this item" in rows["C2_poison.png"].error
    assert all(rows[name].error is None or "worker" not in rows[name].error for name in names)


def test_x9_interrupt_then_resume(verifier, x9_bytes, tmp_path):
    path = tmp_path / "letter.x937"
    path.write_bytes(x9_bytes)
    seen = []
    stopped = run_batch(verifier, BatchOptions(path, workers=0, batch_size=1), on_progress=seen.append,
                        should_stop=lambda: bool(seen) and seen[-1].done >= 2)
    assert stopped.interrupted and stopped.total == 5
    resumed = run_batch(verifier, BatchOptions(path, workers=0, resume=True))
    assert resumed.run_id == stopped.run_id and resumed.skipped + resumed.processed == 5
    keys = [r.key for r in load_results(verifier.store, resumed.run_id)]
    assert keys == sorted(set(keys)) and len(keys) == 5


# --------------------------------------------------------------------------- audit trail


@pytest.fixture
def guarded(test_model, db_url, tmp_path) -> Session:
    """As the CLI and the GUI run it: behind the guard, every change with its chained audit record."""
    store = open_store(db_url)
    guarded = open_session(Engine(test_model, device="cpu"), store, bootstrap_user("night-desk"))
    for n, (customer, account) in enumerate(ACCOUNTS.items()):
        store.add_customer(customer, name=f"Customer {n}", account=account)
        guarded.register(customer, [write_signature(tmp_path / "refs" / f"{customer}_{k}.png", n, 1000 + k)
                                    for k in range(2)])
    return guarded


def _batch_entries(store) -> list[tuple]:
    """(record, item entry) for every item of every batch_verify record, in trail order."""
    records = AuditLog(store).records(actions=("batch_verify",))
    return [(rec, entry) for rec in records for entry in rec.details["items"]]


def test_every_batch_verification_is_audited_with_the_input_hash(guarded, cheque_dir):
    summary = guarded.batch(BatchOptions(cheque_dir, pattern=PATTERN, workers=1, batch_size=3)).run()
    store = guarded.store
    results = {r.key: r for r in load_results(store, summary.run_id)}
    entries = _batch_entries(store)
    # every item once, each flush one record (not one per run, not one per item)
    assert sorted(entry["item"] for _, entry in entries) == sorted(results) and len(results) == 11
    assert 1 < len({rec.id for rec, _ in entries}) < 11
    ids = store.run(lambda c: c.execute(batch_items.select().order_by(batch_items.c.id)).all())
    assert [entry["id"] for _, entry in entries] == [row.id for row in ids]
    for rec, entry in entries:
        assert rec.user == guarded.user.username and rec.details["run_id"] == summary.run_id
        assert rec.details["model_version"] == guarded.model_version
        assert rec.details["providers"] == list(guarded.engine.providers) and rec.details["thresholds"]
        result = results[entry["item"]]
        assert (entry["customer_id"], entry["decision"], entry["reference_id"], entry["error"]) == \
            (result.customer_id, result.decision, result.reference_id, result.error)
        assert entry["score"] == (None if result.score is None else round(result.score, 6))
        assert entry["box"] == (list(result.box) if result.box else None)
        if Path(entry["item"]).name == "stranger.png":
            assert entry["sha256"] is None  # no customer: never read, never verified
        else:  # the hash of the bytes on disk, a damaged file's too
            assert entry["sha256"] == hashlib.sha256((cheque_dir / entry["item"]).read_bytes()).hexdigest()
    assert AuditLog(store).verify().ok and table_problems(store) == []


@pytest.mark.parametrize("tamper, words", [
    ("UPDATE batch_items SET score = 0.99, decision = 'match' WHERE id = (SELECT min(id) FROM batch_items "
     "WHERE decision IS NOT NULL)", "score, decision differ(s) from audit record"),
    ("UPDATE batch_items SET error = NULL WHERE error IS NOT NULL", "error differ(s)"),
    ("DELETE FROM batch_items WHERE id = (SELECT max(id) FROM batch_items)", "in the audit trail but not in the table"),
    ("INSERT INTO batch_items (run_id, item_key, customer_id, score, decision, created_at) "
     "VALUES (1, 'forged.png', 'C0', 0.97, 'match', '2026-11-22')", "'forged.png') is not in the audit trail"),
])
def test_a_batch_row_changed_in_the_database_file_is_found(guarded, cheque_dir, db_url, tamper, words, capsys):
    guarded.batch(BatchOptions(cheque_dir, pattern=PATTERN, workers=0, batch_size=4)).run()
    assert table_problems(guarded.store) == []
    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    with conn:
        conn.execute(tamper)
    conn.close()
    problems = table_problems(guarded.store)
    assert AuditLog(guarded.store).verify().ok  # the trail itself is intact ...
    assert any(words in p and "batch item" in p for p in problems), problems  # ... and says what the row was
    # and `sigverify audit verify` says so (no users yet: the CLI runs as the first-time administrator)
    assert cli_main(["audit", "verify", "--db", db_url]) == 9
    assert "batch item" in capsys.readouterr().out


def test_pattern_reads_the_file_name_not_the_folders(verifier, signature_files, tmp_path):
    from sigverify.core.batch import ID_BEFORE_FIRST_UNDERSCORE, preview_mapping

    day = tmp_path / "scans" / "day_2026-12-02"
    day.mkdir(parents=True)
    shutil.copy(signature_files["a2"], day / "C1_g9.png")
    (preview,) = preview_mapping(verifier.store, tmp_path / "scans", pattern=ID_BEFORE_FIRST_UNDERSCORE)
    assert (preview.customer_id, preview.known, preview.customer_name) == ("C1", True, "Customer 1")
