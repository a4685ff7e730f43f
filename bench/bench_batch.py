"""Batch throughput on generated cheques: items/s with 0 (single process), 1 and N workers.

    .venv/bin/python bench/bench_batch.py --n 1000                    # folder source, workers 0,1,N
    .venv/bin/python bench/bench_batch.py --n 1000 --workers 0,2 --x9  # also the same cheques as one X9 file
    .venv/bin/python bench/bench_batch.py --n 1000 --device cuda       # inference on the GPU
    .venv/bin/python bench/bench_batch.py --n 400 --workers 0,1,2 --against /tmp/old-sigverify
        # side by side with another source tree (e.g. `git archive <commit> | tar -x -C /tmp/old-sigverify`):
        # each worker count runs there and here in turn, in one invocation, so both see the same load

The cheques are made once by ``sigverify.synth.cheques`` (the capture mix it draws: JPEG scans,
phone photos, bitonal 200 dpi) and kept in ``--cache``; bitonal ones are saved as CCITT G4 TIFF,
the others as JPEG, like real scans. Twenty customers with two references each; the file name
carries the customer (``--pattern``). Each run gets a fresh copy of the same store.

Columns: items/s = items / wall time of the run (model loaded before, pool start included);
ratio = against the single-process run (workers 0); per-stage ms = stage time summed over all
processes / items (decode, extraction, normalisation run in the workers; read, inference and
database in the main process); worker CPU ms = CPU time of decode + extraction + normalisation
per item (unlike wall times, barely inflated when other programs share the cores); "main waits"
= share of the wall time the main process sat waiting for workers, i.e. how much the CPU stages
starve inference. The load average during the run is printed: compare runs only at similar load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sigverify.core.batch import STAGES, BatchOptions, BatchRunner, BatchSummary  # noqa: E402
from sigverify.core.engine import Engine  # noqa: E402
from sigverify.core.paths import bundled_model_path  # noqa: E402
from sigverify.core.store import Store  # noqa: E402
from sigverify.core.verify import Verifier  # noqa: E402
from sigverify.core.x9 import X9Item, write_x9  # noqa: E402

CUSTOMERS = 20
PATTERN = r"(?P<customer>C\d+)_"


def _make_one(args: tuple[int, str]) -> str:
    from sigverify.synth.cheques import generate_cheque

    seed, folder = args
    cheque = generate_cheque(seed)
    stem = Path(folder) / f"C{seed % CUSTOMERS:02d}_{seed:05d}"
    if cheque.effects.get("bitonal"):
        from PIL import Image

        path = stem.with_suffix(".tif")
        Image.fromarray(cheque.image).convert("1").save(path, compression="group4", dpi=(200, 200))
    else:
        path = stem.with_suffix(".jpg")
        cv2.imwrite(str(path), cheque.image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return str(path)


def make_cheques(n: int, folder: Path, processes: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    have = {int(p.stem.split("_")[1]) for p in folder.glob("C*_*.*")}
    missing = [(seed, str(folder)) for seed in range(n) if seed not in have]
    if missing:
        started = time.perf_counter()
        print(f"generating {len(missing)} cheques into {folder} ...", file=sys.stderr)
        with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
            list(pool.map(_make_one, missing, chunksize=8))
        print(f"  {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return sorted(p for p in folder.glob("C*_*.*") if int(p.stem.split("_")[1]) < n)


def base_store(path: Path, engine: Engine) -> Path:
    """Twenty customers, two synthetic references each, registered once and copied per run."""
    from sigverify.synth.signatures import SyntheticWriter

    store = Store(f"sqlite:///{path}")
    verifier = Verifier(engine, store)
    for c in range(CUSTOMERS):
        writer = SyntheticWriter(1000 + c)
        refs = []
        for k in range(2):
            ok, buffer = cv2.imencode(".png", writer.genuine(np.random.default_rng(k)))
            refs.append(buffer.tobytes())
        store.add_customer(f"C{c:02d}", account=f"{90000 + c}")
        verifier.register(f"C{c:02d}", refs)
    store.engine.dispose()
    return path


def load_engine(model: str | None, device: str) -> Engine:
    path = Path(model) if model else bundled_model_path()
    if not path.is_file():
        sys.path.insert(0, str(ROOT / "tests"))
        from model_factory import build_test_model

        path = build_test_model(Path(tempfile.mkdtemp()) / "test.onnx")
        print("note: no bundled model; using the test model (tiny: inference time is not representative)",
              file=sys.stderr)
    return Engine(path, device=device)


def run_once(engine: Engine, store_file: Path, source: Path, workers: int, batch_size: int) -> BatchSummary:
    work = Path(tempfile.mkdtemp())
    db = work / "run.db"
    shutil.copy(store_file, db)
    store = Store(f"sqlite:///{db}")
    options = BatchOptions(source, pattern=PATTERN, workers=workers, batch_size=batch_size)
    summary = BatchRunner(Verifier(engine, store), options).run()
    store.engine.dispose()
    shutil.rmtree(work, ignore_errors=True)
    return summary


def write_x9_copy(files: list[Path], path: Path) -> Path:
    """The same cheques as one X9.37 file (fronts as G4 TIFF, as clearing files carry them)."""
    from PIL import Image

    def items():
        for index, file in enumerate(files):
            customer = int(file.stem[1:3])
            with Image.open(file) as image:
                buffer = __import__("io").BytesIO()
                image.convert("1").save(buffer, format="TIFF", compression="group4", dpi=(200, 200))
            yield X9Item(index=index, routing="011000015", on_us=f"{90000 + customer}/ {index}",
                         account=str(90000 + customer), serial=str(index), amount_cents=100 + index,
                         sequence=f"{index + 1:015d}", front_image=buffer.getvalue())

    if not path.exists():
        write_x9(path, items())
    return path


def table(rows: list[tuple[str, BatchSummary]], cpu_seconds: dict[int, float] | None = None) -> str:
    """Ratios against the single-process run (workers 0) of the same label's code."""
    bases = {label: s.items_per_second for label, s in rows if s.workers == 0}
    cpu_seconds = cpu_seconds or {}
    head = ("| run | workers | items | items/s | ratio | wall s | " + " | ".join(f"{s} ms" for s in STAGES)
            + " | worker CPU ms | main waits |" + (" all CPU s |" if cpu_seconds else ""))
    lines = [head, "|" + "---|" * (6 + len(STAGES) + 2 + bool(cpu_seconds))]
    for row, (label, s) in enumerate(rows):
        per_item = [1000 * s.stage_seconds.get(stage, 0.0) / max(s.processed, 1) for stage in STAGES]
        base = bases.get(label if label != "X9.37" else "folder")
        ratio = f"{s.items_per_second / base:.2f}x" if base else "-"
        lines.append(f"| {label} | {s.workers} | {s.processed} | {s.items_per_second:.1f} | {ratio} | "
                     f"{s.elapsed:.1f} | " + " | ".join(f"{v:.1f}" for v in per_item)
                     + f" | {1000 * s.worker_cpu_seconds / max(s.processed, 1):.1f}"
                     + f" | {100 * s.waiting_seconds / max(s.elapsed, 1e-9):.0f}% |"
                     + (f" {cpu_seconds[row]:.1f} |" if row in cpu_seconds else (" - |" if cpu_seconds else "")))
    return "\n".join(lines)


def run_tree(tree: Path, args, workers: int) -> tuple[BatchSummary, float]:
    """One run by a source tree's own bench in a child process (its code, this cheque cache and
    model), and the CPU seconds that child and its workers used (model load and store set-up
    included, the same for every tree)."""
    out = Path(tempfile.mkdtemp()) / "other.json"
    command = [sys.executable, str(tree / "bench" / "bench_batch.py"), "--n", str(args.n), "--workers", str(workers),
               "--batch-size", str(args.batch_size), "--cache", str(args.cache), "--device", args.device,
               "--json", str(out)]
    if args.model:
        command += ["--model", args.model]
    import resource  # POSIX only, like this comparison

    env = {**os.environ, "PYTHONPATH": str(tree)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, check=True, env=env, cwd=tree, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    row = json.loads(out.read_text())[0]
    known = set(BatchSummary.__dataclass_fields__)
    return BatchSummary(**{k: v for k, v in row.items() if k in known}), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    cores = os.cpu_count() or 2
    parser.add_argument("--workers", default=f"0,1,{cores}", help="comma-separated worker counts")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "sigverify-bench-cheques")
    parser.add_argument("--model", help="ONNX model (default: the bundled one, else the tests' tiny model)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--x9", action="store_true", help="also run the same cheques as one X9.37 file")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    parser.add_argument("--against", type=Path, metavar="TREE",
                        help="another sigverify source tree to run side by side (its rows are labelled 'before')")
    args = parser.parse_args()

    files = make_cheques(args.n, args.cache, cores)
    source = Path(tempfile.mkdtemp()) / "cheques"
    source.mkdir()
    for file in files:  # exactly n files, even if the cache holds more
        os.symlink(file, source / file.name)
    engine = load_engine(args.model, args.device)
    store_file = base_store(Path(tempfile.mkdtemp()) / "base.db", engine)
    rows: list[tuple[str, BatchSummary]] = []
    cpu_seconds: dict[int, float] = {}  # row -> CPU of its child process tree (--against runs)
    for workers in [int(w) for w in args.workers.split(",")]:
        if args.against:  # both trees in child processes, one after the other, for every worker count
            for label, tree in (("before", args.against), ("after", ROOT)):
                summary, cpu = run_tree(tree, args, workers)
                rows.append((label, summary))
                cpu_seconds[len(rows) - 1] = cpu
                print(f"{label}, {workers} workers: {summary.items_per_second:.1f} items/s", file=sys.stderr)
            continue
        rows.append(("folder", run_once(engine, store_file, source, workers, args.batch_size)))
        print(f"folder, {workers} workers: {rows[-1][1].items_per_second:.1f} items/s", file=sys.stderr)
    if args.x9:
        x9 = write_x9_copy(files, args.cache / f"bench-{args.n}.x937")
        workers = max(int(w) for w in args.workers.split(","))
        rows.append(("X9.37", run_once(engine, store_file, x9, workers, args.batch_size)))
    load = os.getloadavg()[1] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{len(files)} generated cheques, model {engine.metadata.version}, inference on "
          f"{engine.device_label} ({', '.join(engine.providers)}), {cores} CPU cores, batch size {args.batch_size}, "
          f"load average {load:.1f} (5 min)\n")
    print(table(rows, cpu_seconds))
    if args.json:
        args.json.write_text(json.dumps([{"run": label, **s.to_dict()} for label, s in rows], indent=1))


if __name__ == "__main__":
    main()
