"""The learned finder's plumbing: its model file is checked, a missing or damaged one falls back to
the rule-based finder with one clear notice, and its training data keeps writers and layouts apart."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from sigverify.core import extraction, finder
from sigverify.core.model_trust import ModelError
from sigverify.synth.cheques import HELDOUT_FAMILIES, TRAIN_FAMILIES, _pool_files, default_datasets_dir, generate_cheque


@pytest.fixture
def finder_at(monkeypatch):
    """Point the app at a finder model file of the test's choosing; forget it afterwards."""
    def use(path):
        monkeypatch.setattr(finder, "default_finder_path", lambda: path)
        extraction.reset_learned_finder()
    yield use
    extraction.reset_learned_finder()


@pytest.mark.parametrize("content", [None, b"not an onnx model at all"])
def test_missing_or_damaged_finder_model_falls_back_to_rules_and_says_so_once(finder_at, tmp_path, caplog,
                                                                            content):
    path = tmp_path / "finder.onnx"
    if content is not None:
        path.write_bytes(content)
    finder_at(path)
    cheque = generate_cheque(3, signed=True, datasets=None)
    with caplog.at_level(logging.WARNING, logger="sigverify.core.extraction"):
        first = extraction.find_signature(cheque.image, method="hybrid")
        second = extraction.find_signature(cheque.image, method="hybrid")
    assert first.found and first.is_cheque and second.box == first.box      # the rules still find it
    notice = extraction.finder_notice()
    assert notice and "rule-based" in notice and "finder.onnx" in notice
    assert sum("rule-based" in r.getMessage() for r in caplog.records) == 1
    with pytest.raises(ModelError):
        extraction.find_signature(cheque.image, method="learned")


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="method"):
        extraction.find_signature(np.full((300, 700), 240, np.uint8), method="magic")


def test_finder_metadata_must_say_finder():
    good = json.loads(finder.FinderMetadata(version="x").to_json())
    assert finder.FinderMetadata.from_dict(good).kind == "finder"
    with pytest.raises(ModelError, match="not a signature-finder"):
        finder.FinderMetadata.from_dict({**good, "kind": "verifier"})
    with pytest.raises(ModelError, match="input version"):
        finder.FinderMetadata.from_dict({**good, "input_version": "0"})


def test_finder_input_letterboxes_the_cheque_and_maps_back():
    gray = np.full((700, 1600), 230, np.uint8)
    gray[500:560, 1200:1400] = 20                       # a dark block where a signature would be
    x, geo = finder.finder_input(gray)
    assert x.shape == (1, 1, 192, 384) and x.dtype == np.float32
    ys, xs = np.nonzero(x[0, 0] > 0.5)
    # the block comes back to its own place in original pixels (within a canvas pixel)
    assert abs((xs.min() - geo.offset_x) / geo.scale - 1200) <= 1 / geo.scale + 1
    assert abs((ys.min() - geo.offset_y) / geo.scale - 500) <= 1 / geo.scale + 1


@pytest.mark.parametrize("size", [(700, 1600), (1100, 2600), (620, 1300)])
def test_a_one_pixel_pen_stroke_stays_dark_on_the_networks_canvas(size):
    """At 200-300 dpi a ballpoint stroke can be 1 px wide; shrinking the page 3-7x must not fade it
    into the paper (the network would call the cheque unsigned)."""
    rng = np.random.default_rng(size[1])
    gray = rng.integers(215, 240, size=size, dtype=np.uint8)
    h, w = size
    y = int(h * 0.75)
    gray[y, int(w * 0.6):int(w * 0.85)] = 60
    x, geo = finder.finder_input(gray)
    row = int(y * geo.scale) + geo.offset_y
    col1, col2 = int(w * 0.62 * geo.scale) + geo.offset_x, int(w * 0.83 * geo.scale) + geo.offset_x
    # (full darkness would be 1 - 60/228 = 0.74; a stroke between two blocks of the shrink is shared)
    assert x[0, 0, row - 1:row + 2, col1:col2].max(axis=0).min() > 0.4
    assert x[0, 0, :row - 3].max() < 0.2                          # the paper stays paper


@pytest.mark.parametrize("family", TRAIN_FAMILIES + HELDOUT_FAMILIES)
def test_every_layout_family_draws_a_cheque_with_exact_truth(family):
    cheque = generate_cheque(11, layout=family, extras=True, signed=True, datasets=None)
    again = generate_cheque(11, layout=family, extras=True, signed=True, datasets=None)
    assert np.array_equal(cheque.image, again.image)
    assert cheque.layout == family and cheque.signed and cheque.ink_mask.any()
    x1, y1, x2, y2 = cheque.box
    assert cheque.ink_mask[y1:y2, x1:x2].sum() == cheque.ink_mask.sum()
    assert not set(TRAIN_FAMILIES) & set(HELDOUT_FAMILIES)


def test_training_and_test_writer_pools_share_no_writer():
    datasets = default_datasets_dir()
    if datasets is None:
        pytest.skip("shared datasets folder not found")
    train, test = _pool_files(datasets, "train"), _pool_files(datasets, "test")
    assert train and test

    def writer(path):
        dataset = path.relative_to(datasets).parts[0]
        if dataset == "cedar":
            return dataset, int(path.stem.split("_")[1])
        if dataset == "crossmedia-chinese":
            return dataset, path.parent.name.split("_")[0]     # the person, not the name written
        return dataset, path.parent.name

    train_writers, test_writers = {writer(p) for p in train}, {writer(p) for p in test}
    assert not train_writers & test_writers
    assert {d for d, _ in train_writers} == {"cedar", "crossmedia-chinese"}
    assert max(w for d, w in train_writers if d == "cedar") <= 35


# --- the shipped finder model ----------------------------------------------------------------
def test_shipped_finder_is_a_checked_finder_model_the_verifier_refuses():
    from sigverify.core.engine import Engine
    from sigverify.core.model_trust import ModelCard
    from sigverify.core.paths import card_path_for

    path = finder.default_finder_path()
    model = finder.LearnedFinder(path)
    assert model.metadata.kind == "finder" and model.metadata.signed_mass > 0
    card = ModelCard.read(card_path_for(path))
    assert card.kind == "finder" and card.details["layout_families"]["held_out"] == list(HELDOUT_FAMILIES)
    assert path.stat().st_size < 2_000_000
    with pytest.raises(ModelError):
        Engine(path, warm_up=False)


@pytest.mark.parametrize("family", HELDOUT_FAMILIES)
def test_learned_finder_finds_signatures_on_layouts_it_never_saw(family, finder_at):
    """Held-out families, synthetic writers (no shared data needed): the network alone finds them."""
    finder_at(finder.bundled_model_path(finder.FINDER_MODEL_FILE))
    hits = 0
    for seed in range(3):
        cheque = generate_cheque(900 + seed, layout=family, extras=True, signed=True, datasets=None)
        result = extraction.find_signature(cheque.image, method="learned")
        assert result.is_cheque
        box, truth = result.box, cheque.box
        if box is not None:
            ix = max(0, min(box[2], truth[2]) - max(box[0], truth[0]))
            iy = max(0, min(box[3], truth[3]) - max(box[1], truth[1]))
            union = (box[2] - box[0]) * (box[3] - box[1]) + (truth[2] - truth[0]) * (truth[3] - truth[1]) - ix * iy
            hits += ix * iy / union >= 0.3
    assert hits >= 2


def test_a_damaged_shipped_model_is_refused_by_its_card(finder_at, tmp_path):
    """A bit flipped in the file: the card's SHA-256 no longer matches, the rules stand in."""
    from sigverify.core.paths import card_path_for

    source = finder.default_finder_path()
    copy = tmp_path / source.name
    data = bytearray(source.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    card_path_for(copy).write_bytes(card_path_for(source).read_bytes())
    finder_at(copy)
    with pytest.raises(ModelError, match="does not match its card"):
        extraction.learned_finder(required=True)
    assert "rule-based" in extraction.finder_notice()


def test_finder_cache_built_by_two_processes_holds_every_sample_once(tmp_path):
    from training.finder.data import build_cache, load_cache

    build_cache(tmp_path, "val", 5, shard=(1, 2), chunk=2)
    assert len(load_cache(tmp_path, "val")[0]) == 2          # only its own chunk (samples 2-3)
    (tmp_path / "val_000000.tmp.npz").write_bytes(b"half written by a killed process")
    build_cache(tmp_path, "val", 5, shard=(0, 2), chunk=2)
    x, y, signed, family = load_cache(tmp_path, "val")
    assert x.shape == (5, 192, 384) and y.shape == (5, 96, 192) and len(signed) == len(family) == 5
    again = build_cache(tmp_path, "val", 5, shard=(0, 1), chunk=2)   # resumes: nothing left to draw
    assert len(load_cache(again, "val")[0]) == 5


class _StubNetwork:
    """Stands in for the finder network in the fused decision: says signed (at ``box``) or not."""

    def __init__(self, box=None, override_box=None):
        self.box, self.override_box = box, override_box

    def probabilities(self, gray):
        return np.zeros((96, 192), np.float32), None

    def answer(self, prob, gray, geo, overrule=False):
        box = self.override_box if overrule else self.box
        if box is None:
            return finder.FinderAnswer(False, None, 0.9, None)
        mask = np.zeros(gray.shape, bool)
        mask[box[1]:box[3], box[0]:box[2]] = True
        return finder.FinderAnswer(True, box, 0.99, mask)


@pytest.mark.parametrize(("rules_box", "net_box", "override_box", "want"), [
    ((100, 100, 200, 150), (105, 98, 205, 152), None, "rules"),       # same place: the rules' tighter crop
    ((100, 100, 200, 150), (400, 300, 500, 350), None, "network"),    # disagree: the network judges
    ((100, 100, 200, 150), None, None, "rules"),                      # network sees nothing: rules stand
    (None, (400, 300, 500, 350), (400, 300, 500, 350), "network"),    # rules say unsigned, network sure
    (None, (400, 300, 500, 350), None, "unsigned"),                   # ... network not sure enough
])
def test_fused_finder_lets_the_network_judge_disagreements(rules_box, net_box, override_box, want):
    gray = np.full((400, 800), 255, np.uint8)
    if rules_box is None:
        rules = (extraction.Extraction(False, True, None, 0.0, None, "unsigned"), None)
    else:
        rules = (extraction.Extraction(True, True, rules_box, 0.8, np.zeros((5, 5), np.uint8), ""), None)
    result, _ = extraction._fused_result(rules, _StubNetwork(net_box, override_box), gray, want_mask=False)
    expected = {"rules": rules_box, "network": net_box, "unsigned": None}[want]
    assert result.box == expected and result.found == (expected is not None) and result.is_cheque


def test_the_app_runs_the_fused_finder_and_the_rules_without_its_model(finder_at, tmp_path):
    assert extraction.AUTO_METHOD == "fused"
    finder_at(tmp_path / "missing.onnx")
    cheque = generate_cheque(3, signed=True, datasets=None)
    assert extraction.find_signature(cheque.image).box == extraction.find_signature(cheque.image, method="rules").box
