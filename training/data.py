"""Datasets for training: the core's signature-set reader, writer-disjoint splits, and the
normalised-image cache.

Every image reaches the model through the APP's path (``sigverify.core`` load, signature
check, normalisation): training never decodes or normalises on its own, so what the model
learns from is exactly what the app feeds it.
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
from sigverify.core.paths import datasets_folder
from sigverify.core.pipeline import prepare
from sigverify.core.signature_sets import Sample, read_signature_set, writers_of

# bump when the path from file to cached array changes, so stale caches are not reused
LOADER_VERSION = "app-prepare-1"
# the core modules that turn a file into the model input: the cache key hashes their source, so a
# change to the app's decoding, signature finding or normalisation invalidates cached arrays
_APP_PATH_MODULES = ("imaging", "extraction", "finder", "normalize", "pipeline", "pixel_stats")


def app_path_fingerprint() -> str:
    import sigverify.core as core

    digest = hashlib.sha256()
    for name in _APP_PATH_MODULES:
        path = Path(core.__file__).parent / f"{name}.py"
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def datasets_root() -> Path:
    """../shared/datasets beside the repo, or $SIGVERIFY_DATASETS."""
    return datasets_folder()


def read_dataset(spec: str) -> list[Sample]:
    """The core's signature-set reader, with names resolved under datasets_root()."""
    return read_signature_set(spec, datasets_root())


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

    def subset_owners(self, owners: Sequence[str]) -> ImageSet:
        """The samples of these owners (people; a writer when no person is recorded)."""
        keep = set(owners)
        idx = [i for i, s in enumerate(self.samples) if s.owner in keep]
        return ImageSet(self.images[idx], [self.samples[i] for i in idx])

    @property
    def writers(self) -> list[str]:
        return writers_of(self.samples)

    @property
    def owners(self) -> list[str]:
        return sorted({s.owner for s in self.samples})


def load_normalized(path: str, params: NormalizationParams) -> np.ndarray:
    """One labelled image -> the model input, by the app's own prepare (decode, signature
    check, normalise): float32 (H, W) in [0, 1]. Raises what the app raises on bad input."""
    return prepare(path, params, keep=False).normalized


def to_uint8(normalized: np.ndarray) -> np.ndarray:
    return np.round(normalized * 255).astype(np.uint8)


def normalize_samples(samples: Sequence[Sample], params: NormalizationParams, progress: bool = False
                      ) -> ImageSet:
    """Every sample through the app's path, as uint8 to keep memory small. Images the app
    would refuse (no signature found, unreadable) are left out and counted."""
    images, kept, refused = [], [], 0
    it = samples
    if progress:
        from tqdm import tqdm

        it = tqdm(samples, desc="normalising (app path)", unit="img")
    for s in it:
        try:
            arr = load_normalized(s.path, params)
        except ValueError:  # NoSignatureError, ImageLoadError: the app would refuse it too
            refused += 1
            continue
        images.append(to_uint8(arr))
        kept.append(s)
    if refused:
        print(f"{refused} of {len(samples)} images refused by the app's path (no signature / unreadable)")
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
    files = [(s.path, s.writer, s.kind, s.person) for s in samples]
    key_src = json.dumps([LOADER_VERSION, app_path_fingerprint(), params.to_dict(), files])
    key = hashlib.sha256(key_src.encode()).hexdigest()[:16]
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", spec)[-60:]
    path = cache_dir() / f"{safe}-{key}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["samples"]))
            return ImageSet(z["images"], [Sample(*m) for m in meta])
    data = normalize_samples(samples, params, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    # one temporary file per process: two runs started together may build the same cache
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    meta = json.dumps([[s.path, s.writer, s.kind, s.person] for s in data.samples])
    np.savez_compressed(tmp, images=data.images, samples=np.array(meta))
    tmp.replace(path)
    return data
