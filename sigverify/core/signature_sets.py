"""Labelled signature sets on disk: which file is whose genuine signature or skilled forgery.

The ONE reader of labelled folders, used by ``sigverify evaluate`` and by training. Layouts:

- generic: ``ROOT/<writer>/genuine/*`` and ``ROOT/<writer>/forged/*`` (forgeries OF that writer)
- CEDAR: ``ROOT/full_org/original_<w>_<n>.*``, ``ROOT/full_forg/forgeries_<w>_<n>.*``
- SigComp2009 NISDCC: ``ROOT/data/WWWWWW_NNN.*`` genuine (writer = last 3 digits),
  ``ROOT/data/forged/FFFWWW_NNN.*`` forgeries of writer WWW by forger FFF
- cross-media Chinese: ``ROOT/<person>_<name>/g_<k>.*``; person ``eNNN`` (g_1 paper, g_2..g_4
  tablet/phone) or ``cNN`` (g_1, g_2 paper). Only paper samples are read. Every (person, name)
  folder is its own "writer" class, and ``Sample.person`` ties a person's folders together so
  splits keep one person on one side.

A forged sample's ``writer`` is the writer being *imitated*.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .paths import is_image_file

GENUINE_DIRS = ("genuine", "genuines", "real", "org", "original")
FORGED_DIRS = ("forged", "forgery", "forgeries", "forg", "fake", "skilled")
# the paper samples of the cross-media set: e-group g_1 only, control group g_1 and g_2
CHINESE_PAPER = {"e": ("g_1",), "c": ("g_1", "g_2")}
# the set name in the writer ids of a folder read by layout and path (generic: the folder's name)
LAYOUT_SET_NAMES = {"cedar": "cedar", "sigcomp2009": "nisdcc", "crossmedia": "chinese"}


class SignatureSetError(ValueError):
    """The folder is not a labelled signature set of the expected layout."""


@dataclass(frozen=True)
class Sample:
    path: str
    writer: str  # globally unique: "<dataset>:<writer id>"
    kind: str  # "genuine" | "forged"
    person: str = ""  # the human who wrote it, when one person has several writer classes

    @property
    def genuine(self) -> bool:
        return self.kind == "genuine"

    @property
    def owner(self) -> str:
        """The unit a writer-disjoint split must keep whole (the person, else the writer)."""
        return self.person or self.writer


def _images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if is_image_file(p) and p.is_file())


def _sorted(samples: list[Sample]) -> list[Sample]:
    return sorted(samples, key=lambda s: (s.writer, s.kind, s.path))


def read_generic(root: Path, name: str | None = None) -> list[Sample]:
    """root/<writer>/genuine/*, root/<writer>/forged/* (forgeries of that writer)."""
    root = Path(root)
    if not root.is_dir():
        raise SignatureSetError(f"not a folder: {root}")
    name = name or root.name
    samples = []
    for writer_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for sub in sorted(p for p in writer_dir.iterdir() if p.is_dir()):
            low = sub.name.lower()
            kind = "genuine" if low in GENUINE_DIRS else "forged" if low in FORGED_DIRS else None
            if kind:
                samples += [Sample(str(p), f"{name}:{writer_dir.name}", kind) for p in _images(sub)]
    return _sorted(samples)


def read_cedar(root: Path, name: str = LAYOUT_SET_NAMES["cedar"]) -> list[Sample]:
    samples = []
    for sub, prefix, kind in (("full_org", "original", "genuine"), ("full_forg", "forgeries", "forged")):
        pattern = re.compile(rf"{prefix}_(\d+)_(\d+)\.\w+$", re.IGNORECASE)
        for path in _images(Path(root) / sub):
            m = pattern.match(path.name)
            if m:
                samples.append(Sample(str(path), f"{name}:{int(m.group(1)):03d}", kind))
    return _sorted(samples)


def read_sigcomp2009(root: Path, name: str = LAYOUT_SET_NAMES["sigcomp2009"]) -> list[Sample]:
    root = Path(root)
    data = root / "data" if (root / "data").is_dir() else root
    samples = []
    for folder, kind in ((data, "genuine"), (data / "forged", "forged")):
        for path in _images(folder):
            m = re.match(r"(\d{3})(\d{3})_(\d+)\.\w+$", path.name)
            if m:
                samples.append(Sample(str(path), f"{name}:{m.group(2)}", kind))
    return _sorted(samples)


def read_crossmedia_chinese(root: Path, name: str = LAYOUT_SET_NAMES["crossmedia"]) -> list[Sample]:
    """Paper samples only; writer class = (person, name), person kept for splitting."""
    samples = []
    for folder in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        m = re.fullmatch(r"([ec])(\d+)_(n\d+)", folder.name)
        if not m:
            continue
        person = f"{name}:{m.group(1)}{m.group(2)}"
        for path in _images(folder):
            if path.stem in CHINESE_PAPER[m.group(1)]:
                samples.append(Sample(str(path), f"{name}:{folder.name}", "genuine", person))
    return _sorted(samples)


READERS = {"generic": read_generic, "cedar": read_cedar, "sigcomp2009": read_sigcomp2009,
           "crossmedia": read_crossmedia_chinese}
# the datasets under ../shared/datasets and their layouts
KNOWN_LAYOUTS = {"cedar": "cedar", "nisdcc-preview": "sigcomp2009", "crossmedia-chinese": "crossmedia",
                 "arabic-kaggle": "generic"}


def read_signature_set(spec: str, datasets_root: Path | None = None) -> list[Sample]:
    """``cedar``, ``nisdcc-preview``, ``arabic-kaggle``, ``crossmedia-chinese`` (folders under
    ``datasets_root``), or ``<layout>:/path`` with layout generic | cedar | sigcomp2009 | crossmedia."""
    layout, sep, path = spec.partition(":")
    if sep and layout in READERS:
        root, name = Path(path), None
    else:
        if datasets_root is None:
            raise SignatureSetError(f"{spec!r}: give a layout and a path, e.g. generic:/data/signatures")
        root, layout, name = datasets_root / spec, KNOWN_LAYOUTS.get(spec, "generic"), spec
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {root}")
    reader = READERS[layout]
    samples = reader(root, name) if name else reader(root)
    if not samples:
        raise SignatureSetError(f"{root}: no labelled signatures found in the {layout} layout")
    return samples


def set_name(spec: str) -> str:
    """The dataset part of the writer ids ``read_signature_set(spec)`` gives (``<set>:<writer>``)."""
    layout, sep, path = spec.partition(":")
    if not (sep and layout in READERS):
        return spec
    return LAYOUT_SET_NAMES.get(layout) or Path(path).name


def writers_of(samples: Sequence[Sample]) -> list[str]:
    return sorted({s.writer for s in samples})
