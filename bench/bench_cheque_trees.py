"""Whole cheque found + verified by two source trees, side by side on the same files.

    python bench/bench_cheque_trees.py --against OLD_TREE --cheques 100 --finders auto,rules
    (OLD_TREE: e.g. `git worktree add /tmp/old <commit>`)

Why a separate benchmark: on a shared 2-core machine the speed drifts by 10-20 % from one minute to
the next, so two runs of bench_verify.py one after the other do not compare two versions. Here one
child process per tree (each importing its own ``sigverify``, one core, the bundled models of its
tree) is given the same cheque files in turn, the order alternating from cheque to cheque, and
reports the pipeline's own stage timings (``prepare(...).timings``) plus the embedding. Printed: p50
and p95 per stage for each tree and the ratio of p50s. The cheques are generated and written as
JPEG files by this tree's generator (signatures from ../shared when present).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Run inside each child with its tree first on sys.path; uses only APIs both trees have.
CHILD = r"""
import json, sys, time
import cv2, numpy as np
cv2.setNumThreads(1)
from sigverify.core import extraction
from sigverify.core.engine import Engine
from sigverify.core.paths import bundled_model_path
from sigverify.core.pipeline import NoSignatureError, prepare
engine = Engine(bundled_model_path(), device="cpu", threads=1)
params = engine.metadata.normalization
app_method = extraction.AUTO_METHOD
references = None
for line in sys.stdin:
    path, method = json.loads(line)
    extraction.AUTO_METHOD = app_method if method == "auto" else method
    t0 = time.perf_counter()
    try:
        prepared = prepare(path, params, keep=False)
    except NoSignatureError:
        print(json.dumps(None), flush=True)
        continue
    if references is None:
        references = engine.embed(np.stack([prepared.normalized] * 3))
    t1 = time.perf_counter()
    float((references @ engine.embed(prepared.normalized[None])[0]).max())
    t2 = time.perf_counter()
    row = {k: prepared.timings[k] * 1000 for k in ("decode", "extraction", "normalisation")}
    row.update(embed=(t2 - t1) * 1000, total=(t2 - t0) * 1000)
    print(json.dumps(row), flush=True)
"""

STAGES = ("decode", "extraction", "normalisation", "embed", "total")


def _child(tree: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", CHILD], cwd=tree, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def _ask(child: subprocess.Popen, path: Path, method: str) -> dict | None:
    child.stdin.write(json.dumps([str(path), method]) + "\n")
    child.stdin.flush()
    line = child.stdout.readline()
    if not line:
        raise RuntimeError("a benchmark child process stopped; run it alone to see why")
    return json.loads(line)


def write_cheques(folder: Path, count: int) -> list[Path]:
    from sigverify.synth.cheques import generate_cheque

    paths = []
    for seed in range(count):
        path = folder / f"cheque{seed}.jpg"
        cv2.imwrite(str(path), generate_cheque(seed, signed=True).image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(path)
    return paths


def run(trees: dict[str, Path], paths: list[Path], methods: list[str]) -> dict[str, dict[str, dict]]:
    """{method: {tree label: {stage: [ms, ...]}}}, only cheques both trees found a signature on."""
    children = {label: _child(tree) for label, tree in trees.items()}
    results = {m: {label: {s: [] for s in STAGES} for label in trees} for m in methods}
    try:
        for child in children.values():       # warm-up: model load, first-call allocations
            _ask(child, paths[0], methods[0])
        for i, path in enumerate(paths):
            for method in methods:
                order = list(children) if i % 2 == 0 else list(children)[::-1]
                rows = {label: _ask(children[label], path, method) for label in order}
                if any(row is None for row in rows.values()):
                    continue
                for label, row in rows.items():
                    for stage in STAGES:
                        results[method][label][stage].append(row[stage])
    finally:
        for child in children.values():
            child.stdin.close()
            child.wait(timeout=60)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", type=Path, required=True, metavar="OLD_TREE")
    parser.add_argument("--cheques", type=int, default=100)
    parser.add_argument("--finders", default="auto", help="finder methods (auto = what the app runs)")
    args = parser.parse_args()
    if not (args.against / "sigverify").is_dir():
        parser.error(f"{args.against} is not a sigverify source tree")
    methods = [m.strip() for m in args.finders.split(",") if m.strip()]
    trees = {"before": args.against.resolve(), "after": ROOT}
    with tempfile.TemporaryDirectory() as folder:
        results = run(trees, write_cheques(Path(folder), args.cheques), methods)
    for method, by_tree in results.items():
        n = len(by_tree["after"]["total"])
        print(f"\nwhole cheque found + verified, finder {method!r}, {n} cheques both found signed, one core")
        print(f"{'stage':<14}{'before p50 (p95)':>20}{'after p50 (p95)':>20}{'after/before':>14}")
        for stage in STAGES:
            a, b = by_tree["before"][stage], by_tree["after"][stage]
            if not a:
                continue
            cell = lambda v: f"{np.percentile(v, 50):.2f} ({np.percentile(v, 95):.2f})"  # noqa: E731
            print(f"{stage:<14}{cell(a):>20}{cell(b):>20}{np.percentile(b, 50) / np.percentile(a, 50):>14.2f}")


if __name__ == "__main__":
    main()
