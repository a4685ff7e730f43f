"""sigverify batch SOURCE [--manifest CSV] [--pattern REGEX] [--out CSV] [--html HTML] [--workers N] [--resume]"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from ...core.batch import (
    BatchOptions,
    BatchProgress,
    BatchSummary,
    ItemResult,
    default_workers,
    load_results,
    report_summary,
    write_csv,
    write_html,
    write_json,
)
from ..exit_codes import batch_exit_code

MAX_ERRORS_SHOWN = 20


def add_parser(subparsers, common) -> None:
    p = subparsers.add_parser(
        "batch", parents=[common], help="verify a folder of scans or an X9.37 image cash letter file",
        description="Verify every image under a folder (recursively) or every item of an X9.37 file. "
                    "Customers come from --manifest, --pattern, or (X9) the account number matched to the "
                    "store's customer accounts.")
    p.add_argument("source", type=Path, help="a folder of images, or an X9.37 file")
    p.add_argument("--manifest", type=Path, metavar="CSV", help="file,customer_id rows")
    p.add_argument("--pattern", metavar="REGEX",
                   help=r"regular expression on the file name (not its folders) with a group (?P<customer>...), "
                        r"e.g. '(?P<customer>C\d+)_'")
    p.add_argument("--out", type=Path, metavar="REPORT.csv", help="CSV report, one row per item")
    p.add_argument("--html", type=Path, metavar="REPORT.html", help="HTML report with crops beside references")
    p.add_argument("--json-out", type=Path, metavar="REPORT.json", help="JSON report: summary and items")
    p.add_argument("--workers", type=int, default=default_workers(),
                   help="worker processes for decoding and extraction; 0 runs everything in this process "
                        "(default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=32, help="items per embedding call and database write")
    p.add_argument("--resume", nargs="?", const="latest", metavar="RUN_ID",
                   help="continue the latest run of this source (or run RUN_ID) without redoing finished items")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--ray", metavar="ADDRESS",
                   help="run on a Ray cluster (ray://HOST:10001, auto, or 'local' to start one here); needs the "
                        "'cluster' extra, and SOURCE on storage every node can read")
    p.add_argument("--ray-actors", type=int, metavar="N", help="embedding actors on Ray (default: one per GPU)")
    p.set_defaults(handler=run, runs_model=True)  # the CPU/CUDA note belongs here (and in info)


def _resume(value: str | None) -> bool | int:
    if value is None:
        return False
    if value == "latest":
        return True
    if not value.isdigit():
        raise ValueError(f"--resume takes a run number, not {value!r}")
    return int(value)


def _progress_bar(args) -> tuple[tqdm, Callable[[BatchProgress], None]]:
    bar = tqdm(unit="item", file=sys.stderr, dynamic_ncols=True, smoothing=0.1,
               disable=True if args.no_progress else None)  # None: only on a terminal

    def on_progress(progress: BatchProgress) -> None:
        if bar.total != progress.total:
            # first call: a resumed run starts at its earlier items, which must not count in the rate
            bar.reset(total=progress.total)
            bar.initial = bar.n = bar.last_print_n = progress.done
            bar.refresh()
        bar.update(progress.done - bar.n)
        bar.set_postfix(errors=progress.errors, refresh=False)

    return bar, on_progress


def run(args, ctx) -> int:
    if args.workers < 0 or args.batch_size < 1:
        raise ValueError("--workers must be 0 or more and --batch-size 1 or more")
    options = BatchOptions(source=args.source, manifest=args.manifest, pattern=args.pattern,
                           workers=args.workers, batch_size=args.batch_size, resume=_resume(args.resume),
                           user=ctx.user, ray_address=args.ray, ray_actors=args.ray_actors)
    on_result = (lambda row: print(json.dumps(row.to_dict(), ensure_ascii=False), flush=True)) if ctx.json \
        else None
    runner = ctx.session.batch(options, on_result=on_result)
    bar, runner.on_progress = _progress_bar(args)
    with bar:
        summary = runner.run()
    results = load_results(ctx.store, summary.run_id)
    _write_reports(args, ctx, summary, results)
    _print_summary(ctx, summary, results, args.ray)
    return batch_exit_code(len(results), sum(1 for r in results if r.error), summary.interrupted)


def _write_reports(args, ctx, summary: BatchSummary, results: list[ItemResult]) -> None:
    if args.out:
        write_csv(results, args.out)
    if args.json_out:
        write_json(results, args.json_out, summary)
    if args.html:
        write_html(ctx.store, summary.run_id, results, args.html, summary)


def _print_summary(ctx, summary: BatchSummary, results: list[ItemResult], ray: str | None) -> None:
    counts = report_summary(results, summary)
    if ctx.json:
        print(json.dumps({"summary": counts}, ensure_ascii=False), flush=True)
        return
    errors = [r for r in results if r.error]
    for result in errors[:MAX_ERRORS_SHOWN]:
        print(f"error: {result.label}: {result.error}", file=sys.stderr)
    if len(errors) > MAX_ERRORS_SHOWN:
        print(f"... and {len(errors) - MAX_ERRORS_SHOWN} more errors (see the report)", file=sys.stderr)
    before = f", {summary.skipped} from before" if summary.skipped else ""
    device = "GPU" if any("CUDA" in p for p in summary.providers) else "CPU"
    print(f"batch {summary.run_id}: {counts['items']} of {summary.total} items ({summary.processed} this session"
          f"{before}): {counts['match']} match, {counts['refer']} refer, {counts['no_match']} no match, "
          f"{counts['errors']} errors; {summary.items_per_second:.1f} items/s, "
          f"{f'on Ray ({ray})' if ray else f'{summary.workers} workers'}, "
          f"inference on {device}", flush=True)
    if summary.interrupted:
        print(f"interrupted: run the same command with --resume to continue batch {summary.run_id}",
              file=sys.stderr)
