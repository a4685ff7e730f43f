"""Benchmark: single verification latency and embedding throughput.

    python bench/bench_verify.py [--model PATH] [--device cpu|cuda|auto] [--threads 1]
    python bench/bench_verify.py --cheques 100      # a whole generated cheque: found + verified

Prints (1) model load + warm-up time, (2) one verification of a signature crop
(load file + extraction's crop check + normalise + embed + compare against 3 references) p50/p95 after warm-up, with the
share of each stage, and (3) embedding throughput at batch 1..256. Inputs are synthetic
signatures written to PNG files, so the run needs no dataset.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from sigverify.core.engine import Engine
from sigverify.core.extraction import find_signature
from sigverify.core.imaging import load_image
from sigverify.core.normalize import normalize_signature
from sigverify.core.paths import bundled_model_path
from sigverify.synth.signatures import SyntheticWriter


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def write_samples(folder: Path, count: int) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        image = SyntheticWriter(i % 7).genuine(rng, height=int(rng.integers(80, 160)))
        path = folder / f"sig{i}.png"
        cv2.imwrite(str(path), image)
        paths.append(path)
    return paths


def bench_single(engine: Engine, paths: list[Path], repeats: int) -> dict[str, list[float]]:
    references = engine.embed(np.stack([normalize_signature(load_image(p).gray, engine.metadata.normalization)
                                        for p in paths[:3]]))
    stages: dict[str, list[float]] = {"load": [], "extract": [], "normalise": [], "embed": [], "compare": [],
                                      "total": []}
    for i in range(repeats):
        path = paths[i % len(paths)]
        t0 = time.perf_counter()
        image = load_image(path)
        t1 = time.perf_counter()
        crop = find_signature(image.gray).crop  # decides "already a crop" for these inputs
        t2 = time.perf_counter()
        normalized = normalize_signature(crop, engine.metadata.normalization)
        t3 = time.perf_counter()
        embedding = engine.embed(normalized[None])[0]
        t4 = time.perf_counter()
        float((references @ embedding).max())
        t5 = time.perf_counter()
        for name, value in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5 - t0), strict=True):
            stages[name].append(value * 1000)
    return stages


def bench_cheques(engine: Engine, count: int, methods: list[str]) -> dict[str, dict[str, list[float]]]:
    """A whole cheque file found + verified through the app's pipeline (decode, finder, normalise,
    embed, compare with 3 references) on one core: generated cheques of every layout family and
    capture (JPEG scan, phone photo, bitonal), written as files like real scans. Each finder method
    in ``methods`` takes its turn on every cheque (side by side, one run)."""
    from sigverify.core import extraction
    from sigverify.core.pipeline import prepare
    from sigverify.synth.cheques import generate_cheque

    cv2.setNumThreads(1)  # one core, like the crop figure: OpenCV would otherwise use them all
    params = engine.metadata.normalization
    stages = {m: {"decode": [], "extraction": [], "normalisation": [], "embed": [], "total": []} for m in methods}
    app_method = extraction.AUTO_METHOD
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for seed in range(count):
            cheque = generate_cheque(seed, signed=True)
            path = Path(folder) / f"cheque{seed}.jpg"
            cv2.imwrite(str(path), cheque.image, [cv2.IMWRITE_JPEG_QUALITY, 90])
            paths.append(path)
        references = engine.embed(np.stack([prepare(paths[0], params).normalized] * 3))
        try:
            for path in paths:
                for method in methods:
                    extraction.AUTO_METHOD = app_method if method == "auto" else method
                    _time_one(engine, path, params, references, stages[method])
        finally:
            extraction.AUTO_METHOD = app_method
    return stages


def _time_one(engine: Engine, path: Path, params, references: np.ndarray, stages: dict[str, list[float]]) -> None:
    from sigverify.core.pipeline import NoSignatureError, prepare

    t0 = time.perf_counter()
    try:
        prepared = prepare(path, params, keep=False)
    except NoSignatureError:  # an unsigned cheque: referred, nothing to embed
        return
    t1 = time.perf_counter()
    float((references @ engine.embed(prepared.normalized[None])[0]).max())
    t2 = time.perf_counter()
    for name in ("decode", "extraction", "normalisation"):
        stages[name].append(prepared.timings[name] * 1000)
    stages["embed"].append((t2 - t1) * 1000)
    stages["total"].append((t2 - t0) * 1000)


def bench_throughput(engine: Engine, batch_sizes: list[int], seconds: float) -> list[tuple[int, float, float]]:
    h, w = engine.metadata.input_height, engine.metadata.input_width
    rows = []
    for batch in batch_sizes:
        data = np.random.default_rng(batch).random((batch, h, w), dtype=np.float32)
        engine.embed(data, batch_size=batch)  # warm this shape
        runs, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds or runs < 2:
            engine.embed(data, batch_size=batch)
            runs += 1
        elapsed = time.perf_counter() - started
        rows.append((batch, runs * batch / elapsed, elapsed / runs * 1000))
    return rows


def compare_models(model: Path, other: Path, device: str, threads: int, repeats: int) -> None:
    """Single-crop verification p50 of two models measured side by side: blocks of 20 runs
    alternate between them, so both see the same machine load."""
    engines = {"model": Engine(model, device=device, threads=threads), "other": Engine(other, device=device,
                                                                                      threads=threads)}
    stages: dict[str, dict[str, list[float]]] = {name: {} for name in engines}
    with tempfile.TemporaryDirectory() as folder:
        paths = write_samples(Path(folder), 20)
        for engine in engines.values():
            bench_single(engine, paths, 20)  # warm-up
        for _ in range(max(1, repeats // 20)):
            for name, engine in engines.items():
                for stage, values in bench_single(engine, paths, 20).items():
                    stages[name].setdefault(stage, []).extend(values)
    print(f"side by side, {threads} thread(s), {device}: p50 ms per stage (p95 in brackets)")
    labels = {name: f"{e.metadata.version} ({p.name})" for (name, e), p in zip(engines.items(), (model, other),
                                                                             strict=True)}
    print(f"{'stage':<10}{labels['model']:>34}{labels['other']:>34}{'ratio':>8}")
    for stage in stages["model"]:
        a, b = stages["model"][stage], stages["other"][stage]
        cell = lambda v: f"{percentile(v, 50):.2f} ({percentile(v, 95):.2f})"  # noqa: E731
        print(f"{stage:<10}{cell(a):>34}{cell(b):>34}{percentile(a, 50) / percentile(b, 50):>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=bundled_model_path())
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for onnxruntime (default 1 core)")
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=1.5, help="time per batch size")
    parser.add_argument("--batches", default="1,8,32,64,128,256")
    parser.add_argument("--compare", type=Path, default=None, metavar="OTHER_MODEL",
                        help="also time OTHER_MODEL, interleaved with --model in the same run, and print the ratio")
    parser.add_argument("--cheques", type=int, default=0, metavar="N",
                        help="time N whole generated cheques found + verified (one core) instead")
    parser.add_argument("--finders", default="auto", help="with --cheques: finder methods to time side by side "
                        "(auto = what the app runs; e.g. auto,rules,learned)")
    args = parser.parse_args()
    if args.cheques:
        engine = Engine(args.model, device=args.device, threads=args.threads)
        methods = [m.strip() for m in args.finders.split(",") if m.strip()]
        results = bench_cheques(engine, args.cheques, methods)
        for method, stages in results.items():
            print(f"whole cheque found + verified, finder {method!r}, {len(stages['total'])} signed generated "
                  f"cheques, one core, model {engine.metadata.version}")
            print(f"{'stage':<14}{'p50 ms':>10}{'p95 ms':>10}")
            for name, values in stages.items():
                print(f"{name:<14}{percentile(values, 50):>10.2f}{percentile(values, 95):>10.2f}")
        return
    if args.compare:
        compare_models(args.model, args.compare, args.device, args.threads, args.repeats)
        return

    started = time.perf_counter()
    engine = Engine(args.model, device=args.device, threads=args.threads)
    load_s = time.perf_counter() - started
    meta = engine.metadata
    print(f"model {args.model.name} version {meta.version}, input {meta.input_height}x{meta.input_width}, "
          f"providers {engine.providers}, onnxruntime threads {args.threads}")
    print(f"model load + warm-up: {load_s:.3f} s")

    with tempfile.TemporaryDirectory() as folder:
        paths = write_samples(Path(folder), 20)
        bench_single(engine, paths, 20)  # warm-up
        stages = bench_single(engine, paths, args.repeats)
    print(f"\nsingle verification of a signature crop ({args.repeats} runs)")
    print(f"{'stage':<10}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    for name, values in stages.items():
        print(f"{name:<10}{percentile(values, 50):>10.2f}{percentile(values, 95):>10.2f}"
              f"{statistics.fmean(values):>10.2f}")

    print("\nembedding throughput")
    print(f"{'batch':>6}{'images/s':>12}{'ms/batch':>12}")
    for batch, rate, ms in bench_throughput(engine, [int(b) for b in args.batches.split(",")], args.seconds):
        print(f"{batch:>6}{rate:>12.1f}{ms:>12.2f}")


if __name__ == "__main__":
    main()
