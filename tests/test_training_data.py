"""Readers, writer-disjoint splits, samplers and the cache."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("torch")

from sigverify.core import signature_sets  # noqa: E402
from sigverify.core.normalize import NormalizationParams  # noqa: E402
from sigverify.synth.signatures import make_signature_set  # noqa: E402
from training import data  # noqa: E402
from training.samplers import WriterIndex, writer_batch  # noqa: E402

DATASETS = data.datasets_root()


def _write_generic(root: Path, writers: int = 4, per_writer: int = 4, forgeries: int = 2) -> None:
    sets = make_signature_set(writers, per_writer, forgeries, seed=3)
    for w, d in sets.items():
        for kind in ("genuine", "forged"):
            (root / w / kind).mkdir(parents=True, exist_ok=True)
            for i, img in enumerate(d[kind]):
                cv2.imwrite(str(root / w / kind / f"{i:02d}.png"), img)


def test_generic_reader_and_cache(tmp_path, monkeypatch):
    _write_generic(tmp_path / "gen")
    samples = data.read_dataset(f"generic:{tmp_path / 'gen'}")
    assert len(samples) == 4 * 6
    assert sum(s.kind == "forged" for s in samples) == 8
    assert len(data.writers_of(samples)) == 4
    monkeypatch.setenv("SIGVERIFY_CACHE", str(tmp_path / "cache"))
    params = NormalizationParams()
    first = data.cached_dataset(f"generic:{tmp_path / 'gen'}", params, progress=False)
    assert first.images.shape == (24, params.height, params.width) and first.images.dtype == np.uint8
    assert list((tmp_path / "cache").glob("*.npz"))
    again = data.cached_dataset(f"generic:{tmp_path / 'gen'}", params, progress=False)
    assert np.array_equal(first.images, again.images) and first.samples == again.samples


def test_set_name_is_the_prefix_of_the_writer_ids_a_spec_gives(tmp_path):
    """The model card counts a set's training writers by it (a synthetic set read from a path)."""
    _write_generic(tmp_path / "synth-fonts")
    spec = f"generic:{tmp_path / 'synth-fonts'}"
    assert {s.writer.rsplit(":", 1)[0] for s in data.read_dataset(spec)} == {signature_sets.set_name(spec)}
    assert signature_sets.set_name(spec) == "synth-fonts"
    assert signature_sets.set_name(f"cedar:{tmp_path}") == "cedar"
    assert signature_sets.set_name("crossmedia-chinese") == "crossmedia-chinese"


def test_cedar_reader_layout(tmp_path):
    for sub, prefix in (("full_org", "original"), ("full_forg", "forgeries")):
        (tmp_path / sub).mkdir()
        for w in (1, 12):
            for n in (1, 2):
                (tmp_path / sub / f"{prefix}_{w}_{n}.png").write_bytes(b"")
    samples = signature_sets.read_cedar(tmp_path)
    assert len(samples) == 8
    assert {s.writer for s in samples} == {"cedar:001", "cedar:012"}
    assert sum(s.kind == "genuine" for s in samples) == 4


def test_sigcomp_reader_layout(tmp_path):
    (tmp_path / "data" / "forged").mkdir(parents=True)
    for name in ("001001_000.png", "001001_001.png", "002002_000.png"):
        (tmp_path / "data" / name).write_bytes(b"")
    (tmp_path / "data" / "forged" / "021001_000.png").write_bytes(b"")
    samples = signature_sets.read_sigcomp2009(tmp_path)
    forged = [s for s in samples if s.kind == "forged"]
    assert len(samples) == 4 and forged[0].writer == "nisdcc:001"


def test_splits_are_writer_disjoint():
    writers = [f"w{i}" for i in range(55)]
    a, b, c = data.split_writers(writers, [11, 6, 38], seed=1)
    assert len(a) == 11 and len(b) == 6 and len(c) == 38
    assert not (set(a) & set(b) or set(a) & set(c) or set(b) & set(c))
    folds = data.kfold_writers(writers, 5, seed=0)
    assert sorted(w for f in folds for w in f) == sorted(writers)
    assert all(len(f) == 11 for f in folds)


def test_writer_batch_distinct_writers_and_skilled_negatives():
    samples, imgs = [], []
    for w in range(6):
        for k in range(4):
            samples.append(data.Sample(f"p{w}{k}", f"s:{w}", "genuine"))
        for k in range(2):
            samples.append(data.Sample(f"f{w}{k}", f"s:{w}", "forged"))
    imgs = np.zeros((len(samples), 2, 2), np.uint8)
    ds = data.ImageSet(imgs, samples)
    idx = WriterIndex.build(ds)
    b = writer_batch(idx, 5, np.random.default_rng(0))
    wa = [samples[i].writer for i in b.anchor]
    assert len(set(wa)) == 5
    assert all(samples[i].writer == w for i, w in zip(b.positive, wa, strict=True))
    assert all(i != j for i, j in zip(b.anchor, b.positive, strict=True))
    assert all(samples[i].kind == "forged" and samples[i].writer == w
               for i, w in zip(b.negative, wa, strict=True))
    b2 = writer_batch(idx, 5, np.random.default_rng(0), skilled_fraction=0.0)
    assert all(samples[i].kind == "genuine" and samples[i].writer != samples[a].writer
               for i, a in zip(b2.negative, b2.anchor, strict=True))


@pytest.mark.skipif(not (DATASETS / "cedar").is_dir(), reason=f"CEDAR not found under {DATASETS}")
def test_real_cedar_counts():
    samples = data.read_dataset("cedar")
    assert len(samples) == 2640 and len(data.writers_of(samples)) == 55


@pytest.mark.skipif(not (DATASETS / "nisdcc-preview").is_dir(), reason=f"nisdcc-preview not found under {DATASETS}")
def test_real_nisdcc_counts():
    samples = data.read_dataset("nisdcc-preview")
    assert len(data.writers_of(samples)) == 12 and sum(s.kind == "forged" for s in samples) == 60


def _write_chinese(root: Path) -> None:
    """Two e-group people (g_1 paper, g_2..g_4 tablet/phone) and one control (g_1, g_2 paper)."""
    image = make_signature_set(1, 1, 0, seed=5)
    img = next(iter(image.values()))["genuine"][0]
    for folder, names in (("e001_n01", 4), ("e001_n02", 4), ("e002_n01", 4), ("c01_n01", 2)):
        (root / folder).mkdir(parents=True)
        for k in range(1, names + 1):
            cv2.imwrite(str(root / folder / f"g_{k}.png"), img)


def test_crossmedia_reader_reads_paper_only_and_keeps_people_together(tmp_path):
    _write_chinese(tmp_path / "zh")
    samples = signature_sets.read_signature_set(f"crossmedia:{tmp_path / 'zh'}")
    # e-group: g_1 only (paper); control group: g_1 and g_2 (both paper)
    assert sorted(Path(s.path).name for s in samples if s.person == "chinese:e001") == ["g_1.png", "g_1.png"]
    assert len([s for s in samples if s.person == "chinese:c01"]) == 2
    assert {s.writer for s in samples if s.person == "chinese:e001"} == {"chinese:e001_n01", "chinese:e001_n02"}
    # a split by owner never puts one person's two names on both sides
    assert {s.owner for s in samples} == {"chinese:e001", "chinese:e002", "chinese:c01"}


def test_unknown_layout_and_empty_folder_are_clear_errors(tmp_path):
    with pytest.raises(signature_sets.SignatureSetError, match="give a layout"):
        signature_sets.read_signature_set("somewhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(signature_sets.SignatureSetError, match="no labelled signatures"):
        signature_sets.read_signature_set(f"generic:{tmp_path / 'empty'}")


def test_dataset_share_fills_batches_by_dataset():
    samples = [data.Sample(f"a{w}{k}", f"big:{w}", "genuine") for w in range(40) for k in range(2)]
    samples += [data.Sample(f"b{w}{k}", f"small:{w}", "genuine") for w in range(4) for k in range(2)]
    idx = WriterIndex.build(data.ImageSet(np.zeros((len(samples), 2, 2), np.uint8), samples))
    weights = idx.writer_weights({"small": 0.5})
    rng = np.random.default_rng(0)
    drawn = [idx.writers[i] for _ in range(200) for i in writer_batch(idx, 2, rng, weights=weights).writer]
    share = np.mean([w.startswith("small:") for w in drawn])
    assert 0.4 < share < 0.6  # uniform drawing would give 4/44 = 9 %
    assert idx.writer_weights(None) is None


def test_pretrain_stage_draws_by_its_own_share_then_by_the_main_one():
    from training.train import writer_weights_for_epoch

    samples = [data.Sample(f"a{w}{k}", f"synth:{w}", "genuine") for w in range(40) for k in range(2)]
    samples += [data.Sample(f"b{w}{k}", f"real:{w}", "genuine") for w in range(10) for k in range(2)]
    idx = WriterIndex.build(data.ImageSet(np.zeros((len(samples), 2, 2), np.uint8), samples))
    cfg = {"dataset_share": {"real": 1.0}, "pretrain": {"epochs": 2, "dataset_share": {"synth": 0.9}}}
    real = np.array([w.startswith("real:") for w in idx.writers])
    for epoch in (0, 1):
        assert writer_weights_for_epoch(cfg, idx, epoch)[real].sum() == pytest.approx(0.1)
    for epoch in (2, 9):
        assert writer_weights_for_epoch(cfg, idx, epoch)[real].sum() == pytest.approx(1.0)
    assert writer_weights_for_epoch({"dataset_share": {"real": 1.0}}, idx, 0)[real].sum() == pytest.approx(1.0)
