"""The path from an image file to a decision, written once: ``prepare`` then ``score``.

    prepare(source, params)           file path, bytes or decoded image
        imaging.load_image            decode safely (formats, pixel budget, EXIF, DPI)
        locate_signature              the signature on a cheque (or the clerk's box)
        normalize.normalize_signature the model input
      -> PreparedSignature            box, normalised array, quality, file hash, per-stage timings
    engine.embed(...)                 the verifier network (engine.py)
    score(query, references, ...)     cosine against the customer's references, thresholds for K
      -> ScoreResult                  score, decision, per-reference scores

The Verifier (verify.py), batch (local pool and Ray), ``sigverify evaluate`` and training all
call these two functions; change a step here and every face and the model see the change.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import numpy as np

from .extraction import Extraction, find_signature
from .imaging import LoadedImage, load_image, printable_name, read_file_bytes
from .normalize import NoInkError, NormalizationParams, normalize_signature

Box = tuple[int, int, int, int]  # (x1, y1, x2, y2) in image pixels, exclusive end
Source = str | Path | bytes | bytearray | LoadedImage | np.ndarray


class NoSignatureError(ValueError):
    """Nothing usable as a signature in the image (blank, unsigned cheque, not a signature)."""


UNSIGNED_REASON = "no signature found on the cheque: a person must check it"


class UnsignedChequeError(NoSignatureError):
    """The finder judged a whole cheque unsigned. Not bad input: ``extract`` reports it as no
    signature, but a verification turns it into a "refer" decision (Verifier.refer_unsigned), so
    the clerk still sees the cheque and a person checks it."""

    def __init__(self, message: str, file_name: str, sha256: str, image: LoadedImage | None):
        super().__init__(message)
        self.file_name = file_name
        self.sha256 = sha256
        self.image = image  # the decoded cheque, to show (None when given as a bare array)


# --- prepare ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SignatureQuality:
    """How much to trust the crop, for a face to warn on and a report to show."""

    found_by: str  # "finder" (on a cheque), "whole image" (already a signature), "user box"
    confidence: float  # 0..1: the finder's confidence (1.0 for a user's box)
    ink_fraction: float  # share of the model canvas that is ink: very low is a faint or tiny signature

    def to_dict(self) -> dict:
        return {"found_by": self.found_by, "confidence": round(self.confidence, 4),
                "ink_fraction": round(self.ink_fraction, 4)}


@dataclass(frozen=True)
class PreparedSignature:
    """One input image made ready for the model."""

    file_name: str
    sha256: str  # of the bytes as read ("" for an image given already decoded)
    extraction: Extraction
    normalized: np.ndarray  # float32 (H, W), ink bright, in [0, 1]
    quality: SignatureQuality
    file_bytes: bytes | None = field(default=None, repr=False)  # kept for references (stored)
    image: LoadedImage | None = field(default=None, repr=False)  # kept for display
    timings: dict[str, float] = field(default_factory=dict, compare=False)  # seconds per stage

    @property
    def box(self) -> Box | None:
        """Where the signature is on a cheque; None when the image was the signature itself."""
        ext = self.extraction
        return tuple(int(v) for v in ext.box) if ext.is_cheque and ext.box else None  # type: ignore[return-value]


def crop_box(gray: np.ndarray, box: Box) -> np.ndarray:
    x1, y1, x2, y2 = box
    h, w = gray.shape
    x1, x2 = max(0, min(x1, w)), max(0, min(x2, w))
    y1, y2 = max(0, min(y1, h)), max(0, min(y2, h))
    if x2 - x1 < 4 or y2 - y1 < 4:
        raise NoSignatureError("the signature box is too small")
    return gray[y1:y2, x1:x2]


def locate_signature(gray: np.ndarray, dpi: float | None = None) -> Extraction:
    """The signature on a page (a cheque), or the page itself when it already is a signature: the
    one finder step, for prepare and for ``sigverify extract`` alike."""
    return find_signature(gray, dpi)


def _decode(source: Source, name: str | None) -> tuple[str, bytes | None, np.ndarray, float | None,
                                                           LoadedImage | None]:
    """(label, bytes or None, gray, dpi, LoadedImage or None) for any accepted source."""
    if isinstance(source, LoadedImage):
        return printable_name(name or source.source), None, source.gray, source.dpi, source
    if isinstance(source, np.ndarray):
        if source.dtype != np.uint8 or source.ndim != 2:
            raise ValueError("a decoded image must be a uint8 grayscale array (H, W)")
        return printable_name(name or "<image>"), None, source, None, None
    label = printable_name(name or ("<bytes>" if isinstance(source, bytes | bytearray) else str(source)))
    data = read_file_bytes(source, label)
    image = load_image(data, name=label)
    return label, data, image.gray, image.dpi, image


def prepare(source: Source, params: NormalizationParams, *, name: str | None = None, box: Box | None = None,
            keep: bool = True) -> PreparedSignature:
    """Decode, find the signature (or cut the clerk's ``box``), normalise. Raises ImageLoadError,
    NoSignatureError (with the reason) on bad input; never returns a half-made result.

    ``keep=False`` drops the file bytes and the decoded image from the result (batch workers send
    results between processes: only what the store and the report need travels)."""
    started = mark = time.perf_counter()
    timings: dict[str, float] = {}
    label, data, gray, dpi, image = _decode(source, name)
    sha256 = hashlib.sha256(data).hexdigest() if data is not None else ""
    timings["decode"] = time.perf_counter() - mark
    mark = time.perf_counter()
    if box is not None:
        crop = crop_box(gray, box)
        extraction = Extraction(found=True, is_cheque=True, box=tuple(int(v) for v in box), confidence=1.0,
                                crop=crop, reason="box set by the user")
        found_by = "user box"
    else:
        extraction = locate_signature(gray, dpi)
        if not extraction.found and extraction.is_cheque:
            raise UnsignedChequeError(f"{label}: no signature found ({extraction.reason or 'unsigned'})",
                                      label, sha256, image if keep else None)
        if not extraction.found or extraction.crop is None:
            raise NoSignatureError(f"{label}: no signature found ({extraction.reason or 'nothing signature-like'})")
        found_by = "finder" if extraction.is_cheque else "whole image"
    timings["extraction"] = time.perf_counter() - mark
    mark = time.perf_counter()
    try:
        normalized = normalize_signature(extraction.crop, params)
    except NoInkError as exc:
        raise NoSignatureError(f"{label}: {exc}") from exc
    timings["normalisation"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - started
    quality = SignatureQuality(found_by, float(extraction.confidence), float((normalized > 0.1).mean()))
    return PreparedSignature(label, sha256, extraction, normalized, quality,
                             data if keep else None, image if keep else None, timings)


# --- score ------------------------------------------------------------------------------------
class Decision(str, Enum):
    MATCH = "match"
    REFER = "refer"
    NO_MATCH = "no_match"

    @property
    def label(self) -> str:
        return {"match": "Match", "refer": "Refer", "no_match": "No match"}[self.value]


@dataclass(frozen=True)
class Thresholds:
    """score >= accept: match; score < reject: no match; between: refer.

    ``by_references``: (K, accept, reject) for customers with K references (a model may ship
    per-K thresholds: the best of K scores runs higher as K grows). A count not listed uses the
    largest listed K below it, else ``accept``/``reject``."""

    accept: float
    reject: float
    source: str  # "model" or "administrator"
    by_references: tuple[tuple[int, float, float], ...] = ()

    def for_references(self, count: int) -> Thresholds:
        """The thresholds that apply to a customer with ``count`` references."""
        usable = [entry for entry in sorted(self.by_references) if entry[0] <= count]
        if not usable:
            return Thresholds(self.accept, self.reject, self.source)
        _, accept, reject = usable[-1]
        return Thresholds(accept, reject, self.source)

    def to_dict(self) -> dict:
        data: dict = {"accept": self.accept, "reject": self.reject, "source": self.source}
        if self.by_references:
            data["by_references"] = {str(k): {"accept": a, "reject": r} for k, a, r in self.by_references}
        return data


def decide(score: float, thresholds: Thresholds) -> Decision:
    if score >= thresholds.accept:
        return Decision.MATCH
    if score < thresholds.reject:
        return Decision.NO_MATCH
    return Decision.REFER


@dataclass(frozen=True)
class ReferenceSpread:
    """How alike a customer's own references are (cosine between each pair): the yardstick a
    score can be normalised by when a customer has two or more references."""

    count: int
    mean: float
    std: float


def reference_spread(references: np.ndarray) -> ReferenceSpread | None:
    """None below two references (no pair to measure)."""
    count = len(references)
    if count < 2:
        return None
    sims = references @ references.T
    pairs = sims[np.triu_indices(count, 1)]
    return ReferenceSpread(count, float(pairs.mean()), float(pairs.std()))


# HOOK: score normalisation by the customer's reference spread (K >= 2). Given the raw best score
# and the spread, return the score the thresholds are compared with. A model that ships one says
# so in its metadata, and its thresholds are then set on the adjusted score; None keeps raw cosine.
ScoreAdjustment = Callable[[float, ReferenceSpread], float]


@dataclass(frozen=True)
class ReferenceScore:
    reference_id: int
    score: float


@dataclass(frozen=True)
class ScoreResult:
    score: float  # what the decision was made on (the raw best cosine unless an adjustment applies)
    decision: Decision
    thresholds: Thresholds  # those applied, for this customer's number of references
    reference_scores: list[ReferenceScore]
    raw_score: float  # the best cosine over the references
    spread: ReferenceSpread | None = None

    @property
    def best_reference_id(self) -> int:
        return max(self.reference_scores, key=lambda r: r.score).reference_id


def best_scores(queries: np.ndarray, references: np.ndarray, adjust: ScoreAdjustment | None = None) -> np.ndarray:
    """The score of each query (N, D) against one customer's references (K, D), all L2-normalised:
    the best cosine, adjusted by the references' spread when ``adjust`` is given and K >= 2. The
    rule ``score`` decides with, for evaluations that score many queries at once."""
    raw = (np.atleast_2d(np.asarray(queries, np.float32)) @ np.asarray(references, np.float32).T).max(axis=1)
    spread = reference_spread(references) if adjust is not None else None
    if adjust is None or spread is None:
        return raw
    return np.array([adjust(float(r), spread) for r in raw], np.float32)


def score(query: np.ndarray, references: np.ndarray, reference_ids: Sequence[int], thresholds: Thresholds,
          adjust: ScoreAdjustment | None = None) -> ScoreResult:
    """One query embedding (D,) against a customer's reference embeddings (K, D), all
    L2-normalised: cosine per reference, the best one decides, with the thresholds for K."""
    references = np.asarray(references, np.float32)
    if references.ndim != 2 or len(references) == 0 or len(references) != len(reference_ids):
        raise ValueError("score needs one row of embedding per reference id, and at least one reference")
    scores = references @ np.asarray(query, np.float32)
    per_ref = [ReferenceScore(int(i), float(s)) for i, s in zip(reference_ids, scores, strict=True)]
    final = float(best_scores(query, references, adjust)[0])
    spread = reference_spread(references) if adjust is not None else None
    applied = thresholds.for_references(len(references))
    return ScoreResult(final, decide(final, applied), applied, per_ref, float(scores.max()), spread)
