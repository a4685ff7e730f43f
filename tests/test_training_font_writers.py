"""Synthetic writers from handwriting typefaces (training data for the verifier, issue 15)."""

import cv2
import numpy as np
import pytest

pytest.importorskip("torch")  # the training extra; the module itself is torch-free but lives in training/

from sigverify.core.normalize import NormalizationParams  # noqa: E402
from sigverify.core.signature_sets import read_signature_set  # noqa: E402
from sigverify.synth import hand_fonts  # noqa: E402
from training import font_writers  # noqa: E402
from training.data import normalize_samples  # noqa: E402

needs_fonts = pytest.mark.skipif(not hand_fonts.font_files("all"), reason="no handwriting fonts installed "
                                 "(Debian: fonts-breip fonts-dkg-handwriting fonts-kristi ...)")


@needs_fonts
def test_writers_are_a_signature_set_the_app_accepts_whole(tmp_path):
    font_writers.main(["--out", str(tmp_path / "synth"), "--writers", "6", "--genuine", "4", "--forged", "2"])
    samples = read_signature_set(f"generic:{tmp_path / 'synth'}")
    assert len({s.writer for s in samples}) == 6
    assert sum(s.genuine for s in samples) == 24 and sum(not s.genuine for s in samples) == 12
    data = normalize_samples(samples, NormalizationParams())
    assert len(data.samples) == len(samples)  # the app's prepare refused none of them


@needs_fonts
def test_same_seed_same_writer_and_forgeries_differ_more_than_genuine_signatures(tmp_path):
    font_writers.main(["--out", str(tmp_path / "a"), "--writers", "12", "--genuine", "4", "--forged", "4"])
    font_writers.main(["--out", str(tmp_path / "b"), "--writers", "2", "--genuine", "4", "--forged", "4"])
    a = (tmp_path / "a" / "w00001" / "genuine" / "00.png").read_bytes()
    assert a == (tmp_path / "b" / "w00001" / "genuine" / "00.png").read_bytes()  # reproducible data

    data = normalize_samples(read_signature_set(f"generic:{tmp_path / 'a'}"), NormalizationParams())
    within, against = [], []
    for writer in sorted({s.writer for s in data.samples}):
        idx = [i for i, s in enumerate(data.samples) if s.writer == writer]
        gen = [data.images[i].astype(np.float32) for i in idx if data.samples[i].genuine]
        forg = [data.images[i].astype(np.float32) for i in idx if not data.samples[i].genuine]
        within += [np.abs(gen[0] - g).mean() for g in gen[1:]]
        against += [np.abs(gen[0] - f).mean() for f in forg]
    # a forger writes the same name less like the writer than the writer's own signatures vary
    assert np.mean(against) > 1.1 * np.mean(within)


def test_signed_text_is_a_name_or_a_fragment_of_one():
    rng = np.random.default_rng(0)
    texts = {font_writers.signed_text(rng) for _ in range(200)}
    assert len(texts) > 100
    assert all(2 <= len(t) <= 20 and t.strip() == t for t in texts)


def _median_stroke_width(images: np.ndarray) -> float:
    widths = []
    for image in images:
        ink = (image > 64).astype(np.uint8)
        # a stroke W wide has a mean distance-to-paper of about W/4 over its pixels
        widths.append(4 * cv2.distanceTransform(ink, cv2.DIST_L2, 3)[ink > 0].mean())
    return float(np.median(widths))


@needs_fonts
def test_fine_style_writes_with_a_thinner_pen_than_the_typefaces(tmp_path):
    width = {}
    for style in ("bold", "fine"):
        font_writers.main(["--out", str(tmp_path / style), "--writers", "16", "--genuine", "2", "--forged", "1",
                           "--style", style])
        data = normalize_samples(read_signature_set(f"generic:{tmp_path / style}"), NormalizationParams())
        assert len(data.samples) == 48
        width[style] = _median_stroke_width(data.images)
    assert width["fine"] < 0.75 * width["bold"], width
