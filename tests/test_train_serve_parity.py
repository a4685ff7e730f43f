"""Training sees a file exactly as the app does: the same files through the training loader and
through the app's prepare give identical arrays, whatever the file's format or mode."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from sigverify.core.normalize import NormalizationParams
from sigverify.core.pipeline import prepare
from sigverify.synth.signatures import SyntheticWriter

pytest.importorskip("torch")  # the training package (the 'train' extra)
from training.data import load_signature  # noqa: E402

PARAMS = NormalizationParams()


def _signature() -> np.ndarray:
    return SyntheticWriter(5).genuine(np.random.default_rng(1))  # uint8, dark ink on light paper


def _variants(tmp_path) -> dict[str, object]:
    gray = _signature()
    base = Image.fromarray(gray)
    files: dict[str, object] = {}

    def save(name, image, **kwargs):
        files[name] = tmp_path / name
        image.save(files[name], **kwargs)

    save("8bit.png", base)
    save("16bit.png", Image.fromarray(gray.astype(np.uint16) * 257))
    save("palette.png", base.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=64))
    alpha = np.zeros((*gray.shape, 4), np.uint8)  # transparent paper, opaque ink: paper must stay white
    alpha[..., 3] = 255 - gray
    save("alpha.png", Image.fromarray(alpha, "RGBA"))
    save("cmyk.jpg", base.convert("CMYK"), quality=95)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned; shown upright after a 90-degree turn
    save("exif.jpg", base.rotate(90, expand=True).convert("RGB"), quality=95, exif=exif)
    save("g4.tif", base.point(lambda v: 255 if v > 128 else 0).convert("1"), compression="group4")
    return files


def test_training_loader_and_app_give_identical_arrays(tmp_path):
    files = _variants(tmp_path)
    for name, path in files.items():
        served = prepare(path, PARAMS).normalized
        trained = load_signature(str(path), PARAMS)
        np.testing.assert_array_equal(trained, served, err_msg=name)


def test_odd_modes_reach_the_model_as_the_plain_file_does(tmp_path):
    # what the old cv2 loader got wrong: alpha on black, EXIF turned, 16-bit and CMYK decoded otherwise
    files = _variants(tmp_path)
    plain = load_signature(str(files["8bit.png"]), PARAMS)
    for name in ("16bit.png", "palette.png", "alpha.png", "cmyk.jpg", "exif.jpg", "g4.tif"):
        other = load_signature(str(files[name]), PARAMS)
        ink, other_ink = plain > 0.2, other > 0.2
        overlap = (ink & other_ink).sum() / max(1, (ink | other_ink).sum())
        assert overlap > 0.6, f"{name}: only {overlap:.0%} of the ink where the plain file has it"
