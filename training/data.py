"""Dataset readers (CEDAR, generic ROOT/<writer>/genuine|forged, SigComp2009 preview),
writer-disjoint splits, and the normalised-image cache.

Every sample is identified by (dataset, writer, kind, path). ``kind`` is "genuine" or
"forged"; a forged sample's writer is the writer being *imitated* (a skilled forgery of w).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sigverify.core.normalize import NormalizationParams
from sigverify.core.paths import datasets_folder, is_image_file
from sigverify.core.pipeline import NoSignatureError, prepare

# part of the cache key: images cached by an earlier loader (cv2 decoding, no finder) are not reused
LOADER = "sigverify.core.pipeline.prepare/1"
GENUINE_DIRS = ("genuine", "genuines", "real", "org", "original")
FORGED_DIRS = ("forged", "forgery", "forgeries", "forg", "fake", "skilled")


@dataclass(frozen=True)
class Sample:
    path: str
    writer: str  # globally unique: "<dataset>:<writer id>"
    kind: str  # "genuine" | "forged"


def datasets_root() -> Path:
    """../shared/datasets beside the repo, or $SIGVERIFY_DATASETS."""
    return datasets_folder()


def _images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if is_image_file(p) and p.is_file())


def read_cedar(root: Path, name: str = "cedar") -> list[Sample]:
    """root/full_org/original_<w>_<n>.png, root/full_forg/forgeries_<w>_<n>.png."""
    samples = []
    for sub, prefix, kind in (("full_org", "original", "genuine"), ("full_forg", "forgeries", "forged")):
        pattern = re.compile(rf"{prefix}_(\d+)_(\d+)\.\w+$", re.IGNORECASE)
        for path in _images(Path(root) / sub):
            m = pattern.match(path.name)
            if m:
                samples.append(Sample(str(path), f"{name}:{int(m.group(1)):03d}", kind))
    return _sorted(samples)


def read_generic(root: Path, name: str | None = None) -> list[Sample]:
    """root/<writer>/genuine/*, root/<writer>/forged/* (forgeries of that writer)."""
    root = Path(root)
    name = name or root.name
    samples = []
    for writer_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for sub in writer_dir.iterdir():
            if not sub.is_dir():
                continue
            low = sub.name.lower()
            kind = "genuine" if low in GENUINE_DIRS else "forged" if low in FORGED_DIRS else None
            if kind:
                samples += [Sample(str(p), f"{name}:{writer_dir.name}", kind) for p in _images(sub)]
    return _sorted(samples)


def read_sigcomp2009(root: Path, name: str = "nisdcc") -> list[Sample]:
    """SigComp2009 NISDCC: data/WWWWWW_NNN.png genuine (writer = last 3 digits of the 6),
    data/forged/FFFWWW_NNN.png forgeries of writer WWW by forger FFF."""
    root = Path(root)
    data = root / "data" if (root / "data").is_dir() else root
    samples = []
    for path in _images(data):
        m = re.match(r"(\d{3})(\d{3})_(\d+)\.\w+$", path.name)
        if m:
            samples.append(Sample(str(path), f"{name}:{m.group(2)}", "genuine"))
    for path in _images(data / "forged"):
        m = re.match(r"(\d{3})(\d{3})_(\d+)\.\w+$", path.name)
        if m:
            samples.append(Sample(str(path), f"{name}:{m.group(2)}", "forged"))
    return _sorted(samples)


def read_dataset(spec: str) -> list[Sample]:
    """``cedar``, ``nisdcc-preview``, ``arabic-kaggle`` (names under datasets_root()), or
    ``generic:/path``, ``cedar:/path``, ``sigcomp2009:/path``."""
    kind, _, path = spec.partition(":")
    if path:
        root = Path(path)
    else:
        root = datasets_root() / spec
        kind = {"cedar": "cedar", "nisdcc-preview": "sigcomp2009"}.get(spec, "generic")
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {root}")
    if kind == "cedar":
        return read_cedar(root)
    if kind == "sigcomp2009":
        return read_sigcomp2009(root)
    if kind == "generic":
        return read_generic(root, None if path else spec)
    raise ValueError(f"unknown dataset kind {kind!r} in {spec!r}")


def _sorted(samples: list[Sample]) -> list[Sample]:
    return sorted(samples, key=lambda s: (s.writer, s.kind, s.path))


def writers_of(samples: Sequence[Sample]) -> list[str]:
    return sorted({s.writer for s in samples})


# ---------------------------------------------------------------- splits

def split_writers(writers: Sequence[str], fractions: Sequence[float], seed: int) -> list[list[str]]:
    """Shuffle writers with ``seed`` and cut them into groups of the given fractions."""
    order = list(writers)
    np.random.default_rng(seed).shuffle(order)
    bounds = np.round(np.cumsum(fractions) / sum(fractions) * len(order)).astype(int)
    groups, start = [], 0
    for end in bounds:
        groups.append(sorted(order[start:end]))
        start = end
    return groups


def kfold_writers(writers: Sequence[str], k: int, seed: int) -> list[list[str]]:
    """k disjoint test groups covering all writers (sizes differ by at most one)."""
    order = list(writers)
    np.random.default_rng(seed).shuffle(order)
    return [sorted(order[i::k]) for i in range(k)]


# ---------------------------------------------------------------- cache

@dataclass
class ImageSet:
    """Normalised images (uint8, ink bright, 255 = 1.0) with their samples."""

    images: np.ndarray  # (N, H, W) uint8
    samples: list[Sample]

    def subset(self, writers: Sequence[str]) -> ImageSet:
        keep = set(writers)
        idx = [i for i, s in enumerate(self.samples) if s.writer in keep]
        return ImageSet(self.images[idx], [self.samples[i] for i in idx])

    def __add__(self, other: ImageSet) -> ImageSet:
        return ImageSet(np.concatenate([self.images, other.images]), self.samples + other.samples)

    def as_float(self, idx: np.ndarray | slice | None = None) -> np.ndarray:
        imgs = self.images if idx is None else self.images[idx]
        return imgs.astype(np.float32) / 255.0

    @property
    def writers(self) -> list[str]:
        return writers_of(self.samples)


def load_signature(path: str, params: NormalizationParams) -> np.ndarray:
    """One sample exactly as the app sees the same file: ``sigverify.core.pipeline.prepare``
    (decoded by sigverify.core.imaging: 16-bit, palette, alpha, CMYK, EXIF rotation, G4 TIFF;
    the signature found; normalised). Raises NoSignatureError for a blank image."""
    return prepare(path, params, keep=False).normalized


def normalize_samples(samples: Sequence[Sample], params: NormalizationParams, progress: bool = False
                      ) -> ImageSet:
    """Normalise every sample (skipping blank images), as uint8 to keep memory small."""
    images, kept = [], []
    it = samples
    if progress:
        from tqdm import tqdm

        it = tqdm(samples, desc="normalising", unit="img")
    for s in it:
        try:
            arr = load_signature(s.path, params)
        except NoSignatureError:
            continue
        images.append(np.round(arr * 255).astype(np.uint8))
        kept.append(s)
    h, w = params.height, params.width
    stack = np.stack(images) if images else np.zeros((0, h, w), np.uint8)
    return ImageSet(stack, kept)


def cache_dir() -> Path:
    """Ignored folder for caches: $SIGVERIFY_CACHE or <repo>/runs/cache."""
    env = os.environ.get("SIGVERIFY_CACHE")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "runs" / "cache"


def cached_dataset(spec: str, params: NormalizationParams, progress: bool = True) -> ImageSet:
    """read_dataset + normalise, cached in an npz keyed by the file list and the parameters."""
    samples = read_dataset(spec)
    key_src = json.dumps([params.to_dict(), LOADER, [(s.path, s.writer, s.kind) for s in samples]])
    key = hashlib.sha256(key_src.encode()).hexdigest()[:16]
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", spec)[-60:]
    path = cache_dir() / f"{safe}-{key}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["samples"]))
            return ImageSet(z["images"], [Sample(*m) for m in meta])
    data = normalize_samples(samples, params, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    meta = json.dumps([[s.path, s.writer, s.kind] for s in data.samples])
    np.savez_compressed(tmp, images=data.images, samples=np.array(meta))
    tmp.replace(path)
    return data
