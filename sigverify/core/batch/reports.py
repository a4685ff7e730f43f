"""Reports of a run: rows back from the store, review order, CSV, JSON and HTML.

Reports are built from the store (every session of a resumed run), not from one session's memory.
"""

from __future__ import annotations

import base64
import csv
import html
import json
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy import select

from ..store import Store, batch_items
from .common import REVIEW_ORDER, BatchSummary, ItemResult
from .worker import thumbnail_png


def load_results(store: Store, run_id: int) -> list[ItemResult]:
    """Every row of a run (all sessions of it), in item order."""
    columns = [c for c in batch_items.c if c.name != "crop_png"]  # thumbnails only when the HTML needs them
    rows = store.run(lambda c: c.execute(select(*columns).where(batch_items.c.run_id == run_id)
                                         .order_by(batch_items.c.item_key)).all())
    results = []
    for row in rows:
        details = json.loads(row.details) if row.details else {}
        box = tuple(json.loads(row.box)) if row.box else None
        results.append(ItemResult(row.item_key, details.get("label", row.item_key), row.customer_id, row.score,
                                  row.decision, row.reference_id, box, row.error, details))  # type: ignore[arg-type]
    return results


def review_order(results: list[ItemResult]) -> list[ItemResult]:
    """No match first, then items that could not be verified, then refer, then match; lowest scores first."""
    return sorted(results, key=lambda r: (REVIEW_ORDER.get(None if r.error else r.decision, 1),
                                          r.score if r.score is not None else 0.0, r.key))


REPORT_COLUMNS = ("item", "file", "customer_id", "score", "decision", "reference_id", "box", "error", "reason",
                  "routing", "account", "serial", "amount_cents")


def write_csv(results: list[ItemResult], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=REPORT_COLUMNS)
        writer.writeheader()
        for result in results:
            row = result.to_dict()
            row["box"] = " ".join(map(str, result.box)) if result.box else ""
            writer.writerow(row)


def report_summary(results: list[ItemResult], summary: BatchSummary | None = None) -> dict:
    """Counts over every row of the run (earlier sessions included), plus this session's figures."""
    counts = Counter(r.decision if not r.error else "error" for r in results)
    data = {"items": len(results), "match": counts.get("match", 0), "refer": counts.get("refer", 0),
            "no_match": counts.get("no_match", 0), "errors": counts.get("error", 0)}
    if summary is not None:
        data.update(run_id=summary.run_id, source=summary.source, model=summary.model,
                    thresholds=summary.thresholds, providers=summary.providers, workers=summary.workers,
                    session_items=summary.processed, session_seconds=round(summary.elapsed, 3),
                    items_per_second=round(summary.items_per_second, 2), interrupted=summary.interrupted)
    return data


def write_json(results: list[ItemResult], path: Path, summary: BatchSummary | None = None) -> None:
    document = {"summary": report_summary(results, summary), "items": [r.to_dict() for r in results]}
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False), encoding="utf-8")


def crop_thumbnails(store: Store, run_id: int, keys: list[str]) -> dict[str, bytes]:
    """{item key: signature crop thumbnail PNG} for those of ``keys`` that have one (GUI, HTML)."""
    found: dict[str, bytes] = {}
    for start in range(0, len(keys), 500):  # SQLite caps the number of bound parameters
        chunk = keys[start : start + 500]
        rows = store.run(lambda c, chunk=chunk: c.execute(
            select(batch_items.c.item_key, batch_items.c.crop_png)
            .where(batch_items.c.run_id == run_id, batch_items.c.item_key.in_(chunk))).all())
        found.update({r.item_key: store.cipher.decrypt(r.crop_png) for r in rows if r.crop_png})
    return found


def _reference_thumbnail(store: Store, reference_id: int) -> bytes | None:
    """The reference's normalised image, turned back to dark ink on paper to sit beside the crop."""
    try:
        _, normalized_png = store.reference_images(reference_id)
    except KeyError:
        return None
    image = cv2.imdecode(np.frombuffer(normalized_png, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        return None
    return thumbnail_png(255 - image)


def _plain(value: object) -> str:
    """Summary values as a person reads them, not as Python prints them."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _img(data: bytes | None, alt: str) -> str:
    if not data:
        return '<span class="none">-</span>'
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}">'


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:middle;text-align:left}
.summary td{min-width:6em}.no_match{background:#fde2e2}.refer{background:#fff4cc}.error{background:#eee}
.match{background:#e3f6e3}img{max-width:320px;max-height:120px;background:#fff;border:1px solid #ddd}
.none{color:#999}.err{color:#a00;max-width:30em}
"""


def write_html(store: Store, run_id: int, results: list[ItemResult], path: Path,
               summary: BatchSummary | None = None, max_thumbnails: int = 2000) -> None:
    """Summary on top, then every item in review order with its crop beside the reference used."""
    ordered = review_order(results)
    crops = crop_thumbnails(store, run_id, [r.key for r in ordered[:max_thumbnails]])
    references: dict[int, bytes | None] = {}
    counts = report_summary(results, summary)
    lines = ["<!doctype html><html><head><meta charset='utf-8'>",
             f"<title>sigverify batch {run_id}</title><style>{_CSS}</style></head><body>",
             f"<h1>Batch {run_id}</h1>", "<table class='summary'>"]
    for key, value in counts.items():
        lines.append(f"<tr><th>{html.escape(key.replace('_', ' '))}</th><td>{html.escape(_plain(value))}</td></tr>")
    lines.append("</table>")
    if len(ordered) > max_thumbnails:
        lines.append(f"<p>Images shown for the first {max_thumbnails} items in review order.</p>")
    lines.append("<h2>Items</h2><table><tr><th>#</th><th>item</th><th>customer</th><th>decision</th>"
                 "<th>score</th><th>signature on the item</th><th>reference used</th><th>box</th>"
                 "<th>error or reason</th></tr>")
    for number, result in enumerate(ordered, start=1):
        if result.reference_id is not None and number <= max_thumbnails and result.reference_id not in references:
            references[result.reference_id] = _reference_thumbnail(store, result.reference_id)
        css = result.decision if not result.error else "error"
        reference = references.get(result.reference_id) if result.reference_id is not None else None
        lines.append(
            f"<tr class='{css}'><td>{number}</td><td>{html.escape(result.label)}</td>"
            f"<td>{html.escape(result.customer_id or '')}</td><td>{html.escape(result.decision or 'error')}</td>"
            f"<td>{'' if result.score is None else f'{result.score:.3f}'}</td>"
            f"<td>{_img(crops.get(result.key), 'signature crop')}</td>"
            f"<td>{_img(reference, f'reference {result.reference_id}')}</td>"
            f"<td>{html.escape(' '.join(map(str, result.box)) if result.box else '')}</td>"
            f"<td class='err'>{html.escape(result.error or result.details.get('reason') or '')}</td></tr>")
    lines.append("</table></body></html>")
    path.write_text("\n".join(lines), encoding="utf-8")
