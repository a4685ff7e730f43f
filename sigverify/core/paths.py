"""Where things are: the image types sigverify reads, the data folders, the bundled models.

One home for every path the app, batch, training and the benches compute, so a packaged install
(a wheel, no source tree) and a checkout find the same things the same way.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import platformdirs

APP_NAME = "sigverify"

# every file type imaging.load_image decodes (Pillow), in lower case; folders, dialogs and
# dataset readers all take their list from here
IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".jp2", ".pbm", ".pgm", ".ppm"}
)

VERIFIER_MODEL_FILE = "sigverify.onnx"
CARD_SUFFIX = ".card.json"

# the source checkout (sigverify/core/paths.py -> the repository root); absent in a wheel install
_CHECKOUT_ROOT = Path(__file__).resolve().parents[2]


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def image_file_filter() -> str:
    """A Qt/tk style file-dialog filter built from IMAGE_SUFFIXES."""
    patterns = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
    return f"Images ({patterns});;All files (*)"


def user_data_folder() -> Path:
    """The user's sigverify data folder (database, logs, exports)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_config_folder() -> Path:
    """The user's sigverify settings folder (GUI settings, the database key when not in a keyring)."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_database_file() -> Path:
    return user_data_folder() / "sigverify.db"


def datasets_folder() -> Path:
    """``$SIGVERIFY_DATASETS``, else ``../shared/datasets`` beside the checkout (may not exist)."""
    env = os.environ.get("SIGVERIFY_DATASETS")
    return Path(env) if env else _CHECKOUT_ROOT.parent / "shared" / "datasets"


def checkout_models_folder() -> Path:
    """``models/`` of the source checkout: where training writes a model and its card. A wheel
    carries a copy of the shipped ones inside the package (see bundled_model_path)."""
    return _CHECKOUT_ROOT / "models"


def bundled_model_path(file_name: str = VERIFIER_MODEL_FILE) -> Path:
    """A model shipped with sigverify: inside the installed package (a wheel, ``pip install .``),
    else in the checkout's ``models/`` (a source tree, an editable install)."""
    packaged = Path(str(resources.files("sigverify").joinpath("models", file_name)))
    if packaged.is_file():
        return packaged
    return checkout_models_folder() / file_name


def app_icon_path() -> Path:
    """The application icon: inside the installed package, else the checkout's ``assets/icons``."""
    packaged = Path(str(resources.files("sigverify").joinpath("assets", "icons", "sigverify.svg")))
    return packaged if packaged.is_file() else _CHECKOUT_ROOT / "assets" / "icons" / "sigverify.svg"


def card_path_for(model_path: Path) -> Path:
    """The model card beside a model file: ``<model>.card.json``."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.name + CARD_SUFFIX)
