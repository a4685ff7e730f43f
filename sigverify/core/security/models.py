"""Model integrity: a model file that does not match its card runs only once an administrator accepted it.

The acceptance is of one exact file (its SHA-256), kept in ``settings`` and written in the same
transaction as its audit record. Pass ``accepted_model_hashes(store)`` to ``Engine``.
"""

from __future__ import annotations

from pathlib import Path

from ..engine import Engine
from ..model_trust import ModelError, check_model_file, sha256_file
from ..store import Store, now_iso
from .audit import AuditLog
from .roles import Permission, User, require

ACCEPTED_MODELS_SETTING = "accepted_models"


def accepted_models(store: Store) -> dict[str, dict]:
    """SHA-256 -> {file, accepted_by, accepted_at, card_sha256} for every accepted model file."""
    return dict(store.get_setting(ACCEPTED_MODELS_SETTING) or {})


def accepted_model_hashes(store: Store) -> frozenset[str]:
    """What ``Engine(accepted_sha256=...)`` may run: accepted in settings AND by an audited acceptance,
    so an acceptance typed into the database file around sigverify does not let a swapped model in."""
    live = set(accepted_models(store))
    return frozenset(live & _audited_acceptances(store)) if live else frozenset()


def audited_acceptances(store: Store) -> dict[str, dict]:
    """SHA-256 -> acceptance entry, for the files ``accepted_model_hashes`` lets run."""
    entries = accepted_models(store)
    return {digest: entries.get(digest) or {} for digest in accepted_model_hashes(store)}


def _audited_acceptances(store: Store) -> set[str]:
    accepted: set[str] = set()
    for rec in AuditLog(store).records(actions=("accept_model", "revoke_model")):
        digest = rec.details.get("sha256")
        if rec.action == "accept_model":
            accepted.add(digest)
        else:
            accepted.discard(digest)
    return accepted


def accept_model(store: Store, actor: User, path: str | Path, reason: str = "",
                 audit: AuditLog | None = None) -> dict:
    """Accept this exact file despite its card. It must still load as a sigverify model."""
    require(actor, Permission.CHANGE_MODEL)
    path = Path(path)
    digest = sha256_file(path) if path.is_file() else None
    if digest is None:
        raise ModelError(f"model file not found: {path}")
    try:
        check = check_model_file(path)
    except ModelError:
        check = None  # the mismatch being accepted; anything else is caught by loading it below
    engine = Engine(path, device="cpu", warm_up=True, accepted_sha256={digest})  # refuses a non-model
    entry = {"file": str(path), "model_version": engine.metadata.version, "accepted_by": actor.username,
             "accepted_at": now_iso(), "card_sha256": engine.check.card.sha256 if engine.check.card else None,
             "card_matched": bool(check and check.card_matches), "reason": reason}
    audit = audit or AuditLog(store)

    def work(conn):
        current = accepted_models(store)
        current[digest] = entry
        store.set_setting(ACCEPTED_MODELS_SETTING, current, conn=conn)
        audit.append(conn, actor.username, "accept_model", {"sha256": digest, **entry})

    store.run(work)
    return {"sha256": digest, **entry}


def revoke_model(store: Store, actor: User, sha256: str, audit: AuditLog | None = None) -> None:
    require(actor, Permission.CHANGE_MODEL)
    audit = audit or AuditLog(store)

    def work(conn):
        current = accepted_models(store)
        if current.pop(sha256, None) is None:
            raise KeyError(f"no accepted model with SHA-256 {sha256}")
        store.set_setting(ACCEPTED_MODELS_SETTING, current, conn=conn)
        audit.append(conn, actor.username, "revoke_model", {"sha256": sha256})

    store.run(work)
