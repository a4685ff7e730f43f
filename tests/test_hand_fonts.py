"""Handwritten fill-in for the finder's training cheques: real handwriting typefaces, split like writers."""

import numpy as np
import pytest

from sigverify.synth import hand_fonts
from sigverify.synth.cheques import TRAIN_FAMILIES, generate_cheque


def test_train_and_test_fonts_never_share_a_typeface():
    assert not set(hand_fonts.TRAIN_FONTS) & set(hand_fonts.TEST_FONTS)
    train, test = hand_fonts.font_files("train"), hand_fonts.font_files("test")
    assert not {p.stem.lower() for p in train} & {p.stem.lower() for p in test}
    with pytest.raises(ValueError, match="font pool"):
        hand_fonts.font_files("validation")


@pytest.mark.skipif(not hand_fonts.font_files("train"), reason="no handwriting fonts installed "
                    "(Debian: fonts-breip fonts-dkg-handwriting fonts-bwht fonts-sjfonts ...)")
def test_rendered_field_has_ink_of_the_asked_height():
    rng = np.random.default_rng(3)
    for path in hand_fonts.font_files("train")[:5]:
        alpha = hand_fonts.render(rng, "5000/-", 40, path)
        rows = np.nonzero((alpha > 0.5).any(axis=1))[0]
        height = rows.max() - rows.min() + 1
        assert 20 <= height <= 120, (path.name, height)
        assert (alpha > 0.5).sum() > 100


@pytest.mark.skipif(not hand_fonts.font_files("train"), reason="no handwriting fonts installed")
def test_finder_cheques_use_fonts_and_classic_cheques_do_not_change():
    plain = generate_cheque(7, dpi=150)
    with_fonts = generate_cheque(11, extras=True, families=TRAIN_FAMILIES, writers="train", dpi=150)
    hand_fonts.font_files.cache_clear()
    try:
        hand_fonts.FONT_DIRS, saved = (), hand_fonts.FONT_DIRS
        without = generate_cheque(11, extras=True, families=TRAIN_FAMILIES, writers="train", dpi=150)
        plain_without = generate_cheque(7, dpi=150)
    finally:
        hand_fonts.FONT_DIRS = saved
        hand_fonts.font_files.cache_clear()
    # the finder's cheques take their fill-in from the fonts; the classic cheques (tests, the rules'
    # benchmark) are drawn exactly as before whether or not fonts are installed
    assert not np.array_equal(with_fonts.image, without.image)
    assert np.array_equal(plain.image, plain_without.image)
