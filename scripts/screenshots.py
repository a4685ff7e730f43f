#!/usr/bin/env python
"""Screenshots of every page of the real app, with real signatures, for the README.

Starts the actual MainWindow (offscreen unless QT_QPA_PLATFORM says otherwise) on a fresh
temporary database, registers CEDAR writers as customers, builds cheques carrying other
genuine signatures and skilled forgeries of those writers, runs the Verify, Customers, Batch,
Settings and Users flows, and saves each page at 1280x800 and 1920x1080 in assets/screenshots/.

    .venv/bin/python scripts/screenshots.py [--model models/sigverify.onnx] [--datasets ../shared/datasets]

Without models/sigverify.onnx it uses the test model from tests/model_factory.py (scores are
then meaningless, the layout is not). Without CEDAR it uses the project's synthetic writers.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SIZES = ((1280, 800), (1920, 1080))
NAMES = ["Mary Smith", "Rahul Mehta", "Claire Dubois", "John Okafor", "Aiko Tanaka", "Peter Novak",
         "Sofia Rossi", "Omar Haddad"]


def _shown(path: Path) -> Path:
    """The path as printed: relative to the repository when inside it (``--out`` may be anywhere)."""
    return path.relative_to(REPO) if path.is_relative_to(REPO) else path


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "models" / "sigverify.onnx")
    parser.add_argument("--datasets", type=Path, default=REPO.parent / "shared" / "datasets")
    parser.add_argument("--out", type=Path, default=REPO / "assets" / "screenshots")
    return parser.parse_args()


def isolate(home: Path) -> None:
    """The app's data, settings, key and log go to a temporary folder, never the user's own."""
    for name, sub in (("HOME", "home"), ("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"),
                      ("SIGVERIFY_HOME", "sigverify")):
        os.environ[name] = str(home / sub)
        (home / sub).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


# --- data ---------------------------------------------------------------------------------
def signature_files(datasets: Path, work: Path, writers: int) -> dict[int, dict[str, list[Path]]]:
    """writer -> {'genuine': [...], 'forged': [...]} from CEDAR, or synthetic writers without it."""
    cedar = datasets / "cedar"
    found: dict[int, dict[str, list[Path]]] = {}
    for writer in range(1, writers + 1):
        genuine = [cedar / "full_org" / f"original_{writer}_{n}.png" for n in range(1, 25)]
        forged = [cedar / "full_forg" / f"forgeries_{writer}_{n}.png" for n in range(1, 25)]
        if all(p.is_file() for p in genuine[:12] + forged[:4]):
            found[writer] = {"genuine": genuine, "forged": forged}
    if found:
        return found
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import write_signature  # the tests' synthetic writers

    print("CEDAR not found: using synthetic signatures", file=sys.stderr)
    for writer in range(1, writers + 1):
        found[writer] = {
            "genuine": [write_signature(work / f"w{writer}_g{n}.png", writer, 1000 * writer + n) for n in range(12)],
            "forged": [write_signature(work / f"w{writer}_f{n}.png", writer, 5000 * writer + n, forged=True)
                       for n in range(4)],
        }
    return found


def cheque_with(signature: Path, seed: int, work: Path, name: str) -> Path:
    """A generated cheque signed with exactly ``signature`` (the generator draws its ink from a
    one-file dataset folder; a seed is kept only if that file was used, not a synthetic writer)."""
    from sigverify.synth.cheques import generate_cheque

    def folder(path: Path, tag: str) -> Path:
        # one folder per file: the generator caches each folder's file list
        root = work / f"one-{tag}-{path.stem}" / "cedar" / "full_org"
        root.mkdir(parents=True, exist_ok=True)
        (root / path.name).write_bytes(path.read_bytes())
        return root.parents[1]

    blank = np.full((60, 200), 255, np.uint8)
    cv2.line(blank, (20, 30), (180, 32), 0, 3)
    other = work / "other-signature.png"
    cv2.imwrite(str(other), blank)
    for attempt in range(seed, seed + 60):
        kwargs = {"signed": True, "layout": "us", "bitonal": False, "photo": False, "dpi": 200.0}
        mine = generate_cheque(attempt, datasets=folder(signature, "a"), **kwargs)
        control = generate_cheque(attempt, datasets=folder(other, "b"), **kwargs)
        if mine.box is not None and not np.array_equal(mine.ink_mask, control.ink_mask) \
                and abs(mine.effects.get("skew_deg", 0)) < 2.5:
            path = work / name
            cv2.imwrite(str(path), mine.image)
            return path
    raise RuntimeError(f"no cheque seed used {signature}")


def blank_cheque(work: Path) -> Path:
    from sigverify.synth.cheques import generate_cheque

    cheque = generate_cheque(11, signed=False, layout="us", bitonal=False, photo=False, dpi=200.0)
    path = work / "unsigned.png"
    cv2.imwrite(str(path), cheque.image)
    return path


# --- the app ------------------------------------------------------------------------------
def wait(app, condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not finish in time")
        app.processEvents()
        time.sleep(0.01)
    for _ in range(5):  # let layouts and repaints settle
        app.processEvents()


def save(window, out: Path, name: str, size: tuple[int, int]) -> Path:
    from PIL import Image
    from PySide6.QtGui import QImage

    path = out / f"{name}-{size[0]}x{size[1]}.png"
    image = window.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    rgb = Image.frombytes("RGB", (image.width(), image.height()), bytes(image.constBits()), "raw", "RGB",
                          image.bytesPerLine())
    # a 256-colour palette chosen from the picture (no dithering) keeps the UI crisp and the file small
    rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    print(f"{_shown(path)}  {path.stat().st_size // 1024} KB")
    return path


def save_with_dialog(window, dialog, out: Path, name: str) -> Path:
    """The window at 1280x800 with ``dialog`` painted centred over it, as the user sees it."""
    from PIL import Image
    from PySide6.QtGui import QColor, QImage, QPainter

    window.resize(*SIZES[0])
    canvas = window.grab()
    shot = dialog.grab()
    painter = QPainter(canvas)
    painter.fillRect(canvas.rect(), QColor(0, 0, 0, 70))  # the dimming a modal dialog gives
    painter.drawPixmap((canvas.width() - shot.width()) // 2, (canvas.height() - shot.height()) // 2, shot)
    painter.end()
    path = out / f"{name}-1280x800.png"
    image = canvas.toImage().convertToFormat(QImage.Format.Format_RGB888)
    rgb = Image.frombytes("RGB", (image.width(), image.height()), bytes(image.constBits()), "raw", "RGB",
                          image.bytesPerLine())
    rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    print(f"{_shown(path)}  {path.stat().st_size // 1024} KB")
    return path


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="sigverify-shots-") as tmp:
        work = Path(tmp)
        isolate(work / "home")
        from PySide6.QtWidgets import QApplication

        from sigverify.core.engine import Engine
        from sigverify.core.security import UserService, open_store
        from sigverify.core.session import open_session
        from sigverify.gui.app import create_context, create_window, open_settings
        from sigverify.gui.context import LaunchOptions
        from sigverify.gui.theme import STYLE_SHEET

        model = args.model
        if not model.is_file():
            sys.path.insert(0, str(REPO / "tests"))
            from model_factory import build_test_model

            print(f"{model} not found: using the test model", file=sys.stderr)
            model = build_test_model(work / "test-model.onnx")
        db_url = f"sqlite:///{work / 'sigverify.db'}"
        store = open_store(db_url, create=True)
        users = UserService(store)
        admin = users.create_first_administrator("admin", "screenshot-admin")
        for name, role in (("maria.lopez", "clerk"), ("tom.baker", "clerk"), ("priya.shah", "administrator"),
                           ("old.counter", "clerk")):
            users.add_user(admin, name, "screenshot-password", role)
        users.set_disabled(admin, "old.counter", True)
        verifier = open_session(Engine(model, device="cpu"), store, admin)
        writers = signature_files(args.datasets, work, len(NAMES))
        customers = {}
        for writer, files in writers.items():
            customer_id = f"C{1000 + writer}"
            customers[writer] = customer_id
            verifier.register(customer_id, [str(p) for p in files["genuine"][:3]], name=NAMES[writer - 1])
            verifier.update_customer(customer_id, account=f"{4400000 + writer * 1117}")
        genuine = cheque_with(writers[1]["genuine"][9], 100, work, "cheque-genuine.png")
        forged = cheque_with(writers[1]["forged"][2], 300, work, "cheque-forged.png")
        batch = work / "batch"
        batch.mkdir()
        for writer in list(writers)[:5]:
            cid = customers[writer]
            for n in (5, 6):
                (batch / f"{cid}_genuine{n}.png").write_bytes(writers[writer]["genuine"][n].read_bytes())
            (batch / f"{cid}_forged1.png").write_bytes(writers[writer]["forged"][0].read_bytes())
        (batch / f"{customers[1]}_cheque.png").write_bytes(genuine.read_bytes())
        (batch / f"{customers[2]}_unsigned.png").write_bytes(blank_cheque(work).read_bytes())
        (batch / "C9999_unknown.png").write_bytes(writers[1]["genuine"][7].read_bytes())

        app = QApplication.instance() or QApplication(sys.argv[:1])
        app.setStyleSheet(STYLE_SHEET)
        settings = open_settings(work / "home" / "config" / "gui.ini")
        context = create_context(LaunchOptions(db=db_url, model=str(model)), settings)
        window = create_window(context, admin)
        window.resize(*SIZES[0])
        window.show()
        wait(app, lambda: context.engine is not None or context.engine_error is not None)
        if context.engine_error is not None:
            raise SystemExit(f"model failed to load: {context.engine_error}")
        runner = context.runner
        idle = lambda: not runner.is_busy()  # noqa: E731
        args.out.mkdir(parents=True, exist_ok=True)
        verify = window.pages["verify"]
        customers_page = window.pages["customers"]
        batch_page = window.pages["batch"]

        batch_page.set_source(str(batch))
        batch_page.workers.setValue(0)
        batch_page.start()
        wait(app, idle, timeout=300)

        for size in SIZES:
            window.resize(*size)
            window.show_page("verify")
            verify.customer.setText(customers[1])
            verify.load_file(str(genuine))
            wait(app, idle)
            save(window, args.out, "verify-genuine", size)
            verify.load_file(str(forged))
            wait(app, idle)
            save(window, args.out, "verify-forgery", size)
            window.show_page("customers")
            wait(app, idle)
            customers_page.select_customer(customers[1])
            wait(app, idle)
            save(window, args.out, "customers", size)
            window.show_page("batch")
            wait(app, idle)
            save(window, args.out, "batch", size)
            window.show_page("settings")
            wait(app, idle)
            save(window, args.out, "settings", size)
            window.show_page("users")
            wait(app, idle)
            window.pages["users"].select_user("maria.lopez")
            wait(app, lambda: True)
            save(window, args.out, "users", size)
        dialogs(app, window, context, customers, writers, genuine, args.out, idle, work)
        window.close()
    return 0


def dialogs(app, window, context, customers, writers, genuine, out: Path, idle, work: Path) -> None:
    """First start, confirming a new customer's reference crops, and an error, over the window."""
    from sigverify.core.security import UserService, open_store
    from sigverify.gui.dialogs.login import LoginDialog

    fresh = LoginDialog(UserService(open_store(f"sqlite:///{work / 'fresh.db'}", create=True)), "")
    fresh.username.setText("anna.admin")
    fresh.password.setText("x" * 12)
    fresh.confirm.setText("x" * 12)
    fresh.adjustSize()
    save_with_dialog(window, fresh, out, "dialog-first-start")
    accept_model_dialog(window, out, work)
    page = window.pages["customers"]
    window.show_page("customers")
    cheque = work / "new-customer-cheque.png"
    cheque.write_bytes(cheque_with(writers[8]["genuine"][12], 500, work, "cheque-new.png").read_bytes())
    page.start_registration("C2001", [str(writers[8]["genuine"][13]), str(cheque)], name="New Customer")
    wait(app, idle)
    confirm = page.dialog
    confirm.resize(1000, 560)
    wait(app, lambda: True)
    save_with_dialog(window, confirm, out, "dialog-confirm-references")
    confirm.reject()
    window.show_page("verify")
    verify = window.pages["verify"]
    verify.customer.setText("C7777")
    verify.load_file(str(genuine))
    wait(app, idle)
    box = window.errors.dialog
    box.adjustSize()
    save_with_dialog(window, box, out, "dialog-error")
    box.close()


def accept_model_dialog(window, out: Path, work: Path) -> None:
    """Settings' confirmation for a model file that does not match its card (a copy with a card for another file)."""
    import hashlib
    import json
    import shutil

    from sigverify.gui.dialogs.accept_model import AcceptModelDialog, inspect_model_file

    window.show_page("settings")
    swapped = work / "swapped" / "sigverify.onnx"
    swapped.parent.mkdir(exist_ok=True)
    shutil.copyfile(window.context.engine.path, swapped)
    card = {"sha256": hashlib.sha256(b"the file this card was written for").hexdigest(), "version": "2026.11.22-1"}
    swapped.with_name(swapped.name + ".card.json").write_text(json.dumps(card))
    dialog = AcceptModelDialog(inspect_model_file(swapped), window)
    dialog.reason.setText("re-exported by IT after the ONNX upgrade")
    dialog.checked.setChecked(True)
    save_with_dialog(window, dialog, out, "dialog-accept-model")
    dialog.deleteLater()


if __name__ == "__main__":
    sys.exit(main())
