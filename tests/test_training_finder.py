"""The finder's training package end to end: a few steps of training on generated cheques, exported
with its metadata and card, loaded by the app's finder; resuming refuses a different network."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from sigverify.core.finder import LearnedFinder  # noqa: E402
from sigverify.core.model_trust import ModelCard  # noqa: E402
from sigverify.core.paths import card_path_for  # noqa: E402
from sigverify.synth.cheques import generate_cheque  # noqa: E402
from training.finder.data import build_cache  # noqa: E402
from training.finder.export import export  # noqa: E402
from training.finder.model import ARCHITECTURES  # noqa: E402
from training.finder.train import FinderTrainConfig, train  # noqa: E402


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("finder-cache")
    build_cache(folder, "train", 4, chunk=4)
    build_cache(folder, "val", 6, chunk=6)
    return folder


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_a_trained_finder_exports_and_the_app_loads_it(cache, tmp_path, architecture):
    ckpt = train(FinderTrainConfig(cache=cache, out=tmp_path / "run", epochs=1, batch=2, threads=1,
                                   architecture=architecture))
    onnx_file = export(ckpt, tmp_path / "finder.onnx", "test-1")
    card = ModelCard.read(card_path_for(onnx_file))
    assert card.details["architecture"]["variant"] == architecture
    loaded = LearnedFinder(onnx_file)
    assert loaded.metadata.version == "test-1"
    prob, geo = loaded.probabilities(generate_cheque(3, signed=True, datasets=None).image)
    assert prob.shape == (96, 192) and np.all((prob >= 0) & (prob <= 1))


def test_resuming_with_another_architecture_is_refused_clearly(cache, tmp_path):
    out = tmp_path / "run"
    train(FinderTrainConfig(cache=cache, out=out, epochs=1, batch=2, threads=1, architecture="unet-12"))
    with pytest.raises(ValueError, match="holds a 'unet-12' finder"):
        train(FinderTrainConfig(cache=cache, out=out, epochs=2, batch=2, threads=1,
                                architecture="unet-8-squeeze"))
