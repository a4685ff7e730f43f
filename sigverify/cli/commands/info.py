"""sigverify info: model, version, providers, database."""

from __future__ import annotations

import onnxruntime as ort

from ... import __version__
from ...core import extraction


def add_parser(subparsers, common) -> None:
    p = subparsers.add_parser("info", parents=[common], help="model, providers in use and database")
    p.set_defaults(handler=run)


def run(args, ctx) -> int:
    engine, store = ctx.engine, ctx.store
    meta = engine.metadata
    data = {
        "sigverify": __version__,
        "model": {"path": str(engine.path), "version": meta.version, "sha256": engine.check.sha256,
                  "card_verified": engine.check.card_matches, "input": [meta.input_height, meta.input_width],
                  "embedding_size": meta.embedding_size, "tau_accept": meta.tau_accept,
                  "tau_reject": meta.tau_reject, "load_seconds": round(engine.load_seconds, 3)},
        "device": engine.device_label,
        "providers": engine.providers,
        "available_providers": ort.get_available_providers(),
        "device_note": engine.fallback_message,
        "database": store.location,
        "schema_version": store.schema_version(),
        "customers": len(store.list_customers()),
        "finder": _finder_info(),
    }
    text = "\n".join([
        f"sigverify {__version__}",
        f"model     {engine.path} (version {meta.version}, input {meta.input_height}x{meta.input_width})",
        f"device    {engine.device_label}; providers in use: {', '.join(engine.providers)}",
        *([f"note      {engine.fallback_message}"] if engine.fallback_message else []),
        f"database  {store.location} (schema {data['schema_version']}, {data['customers']} customers)",
        _finder_line(data["finder"]),
    ])
    ctx.emit(data, text)
    return 0


def _finder_info() -> dict:
    """Which signature finder whole cheques get: the configured method with its network, or the rules
    alone (and why) when the network's model file cannot be used."""
    network = extraction.learned_finder()
    if network is None:
        return {"method": "rules", "model": None, "version": None, "note": extraction.finder_notice()}
    return {"method": extraction.AUTO_METHOD, "model": str(network.path), "version": network.metadata.version,
            "note": None}


def _finder_line(finder: dict) -> str:
    if finder["model"] is None:
        return f"finder    rules only: {finder['note']}"
    return f"finder    {finder['method']} (network {finder['model']}, version {finder['version']})"
