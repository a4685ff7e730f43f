"""Training sees exactly what the app sees: the same files, in every format a bank's scanner
writes, through the training loader (cache included) and through the app's prepare give
identical model inputs, for both normalisation versions."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("torch")

from sigverify.core.normalize import NormalizationParams  # noqa: E402
from sigverify.core.pipeline import prepare  # noqa: E402
from sigverify.synth.signatures import SyntheticWriter  # noqa: E402
from training import data  # noqa: E402


def _signature(seed: int) -> np.ndarray:
    return SyntheticWriter(seed).genuine(np.random.default_rng(seed), height=120)  # uint8, dark ink


def _exif_rotated_jpeg(gray: np.ndarray) -> bytes:
    # stored turned a quarter, with EXIF orientation 6 saying how to show it upright
    image = Image.fromarray(np.ascontiguousarray(np.rot90(gray, 1)))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def write_formats(folder: Path) -> dict[str, Path]:
    """One signature per format a scan arrives in, each saved the way that format stores it."""
    folder.mkdir(parents=True)
    files: dict[str, Path] = {}

    def save(name: str, image: Image.Image, **kw) -> None:
        files[name] = folder / name
        image.save(files[name], **kw)

    gray = [_signature(i) for i in range(7)]
    save("gray8.png", Image.fromarray(gray[0]))
    save("gray16.png", Image.fromarray(gray[1].astype("<u2") * 257))
    save("palette.png", Image.fromarray(gray[2]).convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE))
    rgba = np.zeros((*gray[3].shape, 4), np.uint8)  # ink opaque, paper fully transparent
    rgba[..., 3] = 255 - gray[3]
    save("alpha.png", Image.fromarray(rgba, "RGBA"))
    save("cmyk.jpg", Image.fromarray(gray[4]).convert("RGB").convert("CMYK"), quality=95)
    files["exif_rotated.jpg"] = folder / "exif_rotated.jpg"
    files["exif_rotated.jpg"].write_bytes(_exif_rotated_jpeg(gray[5]))
    save("bitonal_g4.tif", Image.fromarray(gray[6]).point(lambda v: 255 if v > 128 else 0).convert("1"),
         compression="group4", dpi=(200, 200))
    return files


@pytest.mark.parametrize("version", ["1", "2"])
def test_training_loader_gives_the_apps_arrays(tmp_path, monkeypatch, version):
    files = write_formats(tmp_path / "w1" / "genuine")
    monkeypatch.setenv("SIGVERIFY_CACHE", str(tmp_path / "cache"))
    params = NormalizationParams(version=version)
    for _ in range(2):  # the first pass fills the cache, the second reads it back
        loaded = data.cached_dataset(f"generic:{tmp_path}", params, progress=False)
        by_name = {Path(s.path).name: img for s, img in zip(loaded.samples, loaded.images, strict=True)}
        assert set(by_name) == set(files), "the training loader lost or refused a format the app reads"
        for name, path in files.items():
            app = prepare(path, params).normalized  # the app's own path, as `sigverify verify` runs it
            assert app.shape == (params.height, params.width)
            assert np.array_equal(by_name[name], data.to_uint8(app)), f"{name}: training and app differ"
            assert by_name[name].max() > 0, f"{name}: no ink reached the model"


def test_exif_rotation_is_applied_before_normalising(tmp_path):
    """The EXIF-rotated file must normalise like the upright original, not like its stored side."""
    from sigverify.core.normalize import normalize_signature

    upright = _signature(5)
    Image.fromarray(upright).save(tmp_path / "upright.png")
    (tmp_path / "rotated.jpg").write_bytes(_exif_rotated_jpeg(upright))
    params = NormalizationParams()
    a = data.load_normalized(str(tmp_path / "upright.png"), params)
    b = data.load_normalized(str(tmp_path / "rotated.jpg"), params)
    stored_side = normalize_signature(np.ascontiguousarray(np.rot90(upright, 1)), params)
    assert np.abs(a - b).mean() < 0.5 * np.abs(a - stored_side).mean()
