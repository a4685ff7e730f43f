"""Model trust, in one place: what a model file must be before sigverify runs it.

Every network the app loads (the verifier; a learned signature finder) goes through the same
checks, in this order:

1. the file exists and its SHA-256 is computed (``check_model_file``);
2. the model card beside it (``<model>.card.json``, a typed ``ModelCard`` that training writes)
   names that SHA-256, or an administrator accepted this exact file despite the mismatch
   (``accepted``: the audited acceptances, read by ``security.models``);
3. the ONNX file's own metadata (``metadata_props["sigverify"]``, JSON) says what kind of network
   it is and how to feed it (``read_metadata``); a verifier's metadata is a ``ModelMetadata``.

Errors here speak of the thing (the file, its card, its metadata); the CLI and the GUI word the
remedy (a command, a dialog).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .normalize import NormalizationParams
from .paths import bundled_model_path, card_path_for

METADATA_KEY = "sigverify"
VERIFIER = "verifier"
FINDER = "finder"
MODEL_KINDS = (VERIFIER, FINDER)
REQUIRED_VERIFIER_FIELDS = ("version", "normalization", "embedding_size", "tau_accept", "tau_reject")


class ModelError(RuntimeError):
    """The model file is missing, damaged, not a sigverify model, or not the one its card names."""


class ModelMismatchError(ModelError):
    """The model file is not the one its card names (changed, truncated or swapped)."""


class ModelMetadataError(ValueError):
    """The model's metadata is missing or does not describe the network it should."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- the card -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelCard:
    """What training says about one exported model file. Written as ``<model>.card.json``.

    The named fields are what the app checks and shows; ``details`` keeps everything else the
    training package records (architecture, metrics, parity, config), flat in the same JSON
    object, so a card round-trips unchanged.
    """

    sha256: str
    kind: str = VERIFIER
    file: str = ""
    version: str = ""
    created: str = ""
    size_bytes: int = 0
    training_data: str = ""
    metrics: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "details"}
        return {**self.details, **data}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_dict(cls, data: Mapping) -> ModelCard:
        if not isinstance(data, Mapping):
            raise ModelError("a model card must be a JSON object")
        names = {f.name for f in fields(cls)} - {"details"}
        known = {k: data[k] for k in names if k in data}
        # cards written before cards had a version field called it model_version
        known.setdefault("version", data.get("model_version", ""))
        known.setdefault("sha256", "")
        if known.get("kind", VERIFIER) not in MODEL_KINDS:
            raise ModelError(f"model card names an unknown kind of network {known['kind']!r}")
        details = {k: v for k, v in data.items() if k not in names}
        return cls(**known, details=details)

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ModelError(f"the model card is not valid JSON: {exc}") from exc

    @classmethod
    def read(cls, path: Path) -> ModelCard:
        try:
            return cls.from_json(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ModelError(f"model card {path} cannot be read: {exc}") from exc
        except ModelError as exc:
            raise ModelError(f"model card {path}: {exc}") from exc

    def write(self, path: Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def for_file(cls, model_path: Path, *, kind: str = VERIFIER, version: str = "", created: str = "",
                 training_data: str = "", metrics: dict | None = None, **details) -> ModelCard:
        """The card of a freshly exported file: its hash and size measured here, the rest given."""
        model_path = Path(model_path)
        return cls(sha256_file(model_path), kind, model_path.name, version, created, model_path.stat().st_size,
                   training_data, dict(metrics or {}), details)


# --- the file against its card --------------------------------------------------------------
@dataclass(frozen=True)
class ModelCheck:
    sha256: str
    card: ModelCard | None  # None: no card beside the model (e.g. a model built by the tests)
    card_matches: bool | None  # None: no card, or a card without a checksum
    accepted: bool = False  # does not match its card, but an administrator accepted this exact file

    @property
    def mismatch(self) -> bool:
        return self.card_matches is False


def check_model_file(path: Path, accepted: Collection[str] = (), kind: str | None = None) -> ModelCheck:
    """Existence and the SHA-256 against the card; raises ModelError on a mismatch unless the
    digest is in ``accepted`` (SHA-256 values an administrator accepted, audited). ``kind``: the
    network the caller wants; a card naming another kind is refused."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    digest = sha256_file(path)
    card_file = card_path_for(path)
    if not card_file.is_file():
        return ModelCheck(digest, None, None)
    card = ModelCard.read(card_file)
    if kind is not None and card.kind != kind:
        raise ModelError(f"model file {path.name} is a {card.kind} network by its card, not a {kind}")
    if not card.sha256:
        return ModelCheck(digest, card, None)
    if card.sha256 != digest:
        if digest in accepted:
            return ModelCheck(digest, card, False, accepted=True)
        raise ModelMismatchError(
            f"model file {path.name} does not match its card (SHA-256 {digest[:12]}…, card says "
            f"{card.sha256[:12]}…): the file was changed, truncated or swapped since it was shipped")
    return ModelCheck(digest, card, True)


def is_bundled_model(path: Path) -> bool:
    """The model shipped with sigverify (any user may run it; others need an administrator's acceptance)."""
    try:
        return Path(path).resolve() == bundled_model_path(Path(path).name).resolve()
    except OSError:
        return False


@dataclass(frozen=True)
class ModelFileState:
    """A model file as the trust rules see it, for a face to show before it loads the file."""

    path: Path
    sha256: str
    card_sha256: str | None
    card_version: str | None
    mismatch: bool  # check_model_file refuses this file unless it is accepted
    bundled: bool = False  # the model shipped with sigverify: everyone may run it
    accepted: dict | None = None  # the audited acceptance of this exact file (who, when, why)

    @property
    def needs_acceptance(self) -> bool:
        """Refused at load (mismatch), or refused to users who may not choose models (not the
        bundled model), until accepted."""
        return self.accepted is None and (self.mismatch or not self.bundled)


def inspect_model_file(path: Path, acceptances: Mapping[str, dict] | None = None) -> ModelFileState | None:
    """``acceptances``: SHA-256 -> the audited acceptance entry. None when there is no file, or a
    card that cannot be read (loading the model says why)."""
    path = Path(path)
    if not path.is_file():
        return None
    digest = sha256_file(path)
    try:
        # the digest let through: ``accepted`` is then True exactly when the file mismatches its card
        check = check_model_file(path, accepted={digest})
    except ModelError:
        return None
    card = check.card
    return ModelFileState(path, digest, card.sha256 if card else None, card.version if card else None,
                          check.accepted, is_bundled_model(path), (acceptances or {}).get(digest))


# --- the metadata inside the ONNX file -------------------------------------------------------
def read_metadata(props: Mapping[str, str], model_name: str, kind: str = VERIFIER) -> dict:
    """The sigverify metadata (a JSON object) from an ONNX model's metadata_props, checked to be
    of ``kind`` (metadata without a kind is a verifier's, as every model before the finder)."""
    if METADATA_KEY not in props:
        raise ModelError(f"{model_name} has no sigverify metadata: not a sigverify model")
    try:
        data = json.loads(props[METADATA_KEY])
    except json.JSONDecodeError as exc:
        raise ModelError(f"{model_name}: the sigverify metadata is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{model_name}: the sigverify metadata is not a JSON object")
    found = data.get("kind", VERIFIER)
    if found != kind:
        raise ModelError(f"{model_name} is a {found} network, not a {kind}")
    return data


@dataclass(frozen=True)
class ModelMetadata:
    """A verifier network's metadata: input, normalisation, embedding, thresholds."""

    version: str
    normalization: NormalizationParams
    embedding_size: int
    # score >= tau_accept -> match; score < tau_reject -> no_match; between -> refer
    tau_accept: float
    tau_reject: float
    # the operating points the thresholds were set at, on validation writers
    threshold_notes: dict = field(default_factory=dict)
    training_data: str = ""
    metrics: dict = field(default_factory=dict)
    created: str = ""
    input_name: str = "signature"
    output_name: str = "embedding"
    # thresholds for a customer with K references: {"K": {"tau_accept": a, "tau_reject": r}}; a
    # count not listed uses the nearest listed K below it, else tau_accept/tau_reject
    thresholds_by_references: dict = field(default_factory=dict)
    kind: str = VERIFIER

    @property
    def input_height(self) -> int:
        return self.normalization.height

    @property
    def input_width(self) -> int:
        return self.normalization.width

    def to_json(self) -> str:
        data = asdict(self)
        data["normalization"] = self.normalization.to_dict()
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping) -> ModelMetadata:
        missing = [name for name in REQUIRED_VERIFIER_FIELDS if name not in data]
        if missing:
            raise ModelMetadataError(f"model metadata lacks {', '.join(missing)}")
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["normalization"] = NormalizationParams.from_dict(data["normalization"])
        meta = cls(**known)
        if meta.kind != VERIFIER:
            raise ModelMetadataError(f"model metadata describes a {meta.kind} network, not a verifier")
        if not meta.tau_reject <= meta.tau_accept:
            raise ModelMetadataError("model metadata has tau_reject above tau_accept")
        for k, pair in meta.thresholds_by_references.items():
            if int(k) < 1 or not float(pair["tau_reject"]) <= float(pair["tau_accept"]):
                raise ModelMetadataError(f"model metadata has bad thresholds for {k} reference(s)")
        return meta

    @classmethod
    def from_json(cls, text: str) -> ModelMetadata:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelMetadataError(f"model metadata is not valid JSON: {exc}") from exc
        return cls.from_dict(data)


def read_verifier_metadata(props: Mapping[str, str], model_name: str) -> ModelMetadata:
    try:
        return ModelMetadata.from_dict(read_metadata(props, model_name, VERIFIER))
    except (ModelMetadataError, ValueError, TypeError, KeyError) as exc:
        raise ModelError(f"{model_name}: {exc}") from exc
