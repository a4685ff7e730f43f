"""Export the trained finder to ONNX with its metadata (kind "finder"), and write its card.

The signed/unsigned thresholds are set here on the validation cheques (training families, seeds
of their own), on the signature's mass (summed probability of its cells): ``signed_mass`` keeps
about 1 % of signed cheques below it; ``override_mass`` (the hybrid's, where the rules found
nothing) lets at most 5 % of unsigned ones through. The card records the data, the layout families (trained and held
out), the writer pools and the figures; ``bench/bench_extraction.py`` adds the benchmark's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import torch

from sigverify.core.finder import FinderMetadata, signature_cells
from sigverify.core.model_trust import FINDER, ModelCard
from sigverify.core.paths import card_path_for
from sigverify.synth.cheques import HELDOUT_FAMILIES, TRAIN_FAMILIES
from training.export import export_onnx
from training.finder.data import HEIGHT, STRIDE, WIDTH, load_cache
from training.finder.model import build_finder, checkpoint_architecture
from training.finder.train import cell_metrics, predict

TRAINING_DATA = (f"generated cheques (sigverify.synth.cheques, extras) of the layout families "
                 f"{', '.join(TRAIN_FAMILIES)}; held out for testing: {', '.join(HELDOUT_FAMILIES)}. "
                 "Signatures: CEDAR writers 1-35 (genuine) and crossmedia-chinese persons e001-e060 only. "
                 "Handwritten fill-in (payee, amount, date): the training pool of handwriting typefaces "
                 "(sigverify.synth.hand_fonts.TRAIN_FONTS, where installed); the test pool is held out.")


def export(ckpt: Path, out: Path, version: str) -> Path:
    state = torch.load(ckpt, weights_only=False)
    model = build_finder(checkpoint_architecture(state))
    model.load_state_dict(state["model"])
    model.eval()
    vx, vy, vsigned, _ = load_cache(Path(state["config"]["cache"]), "val")
    logits = predict(model, vx)
    base = FinderMetadata(version=version)
    masses = np.array([signature_cells(1 / (1 + np.exp(-lo)), base)[2] for lo in logits])
    signed_mass = float(np.quantile(masses[vsigned], 0.01))
    # the hybrid's override: at most 5 % of unsigned validation cheques reach it
    override = float(max(signed_mass, np.quantile(masses[~vsigned], 0.95)))
    val = cell_metrics(logits, vy, vsigned)
    val.update(signed_mass=round(signed_mass, 2), override_mass=round(override, 2), val_cheques=int(len(vx)),
               val_signed_called_unsigned=float(np.mean(masses[vsigned] < signed_mass)),
               val_unsigned_detected=float(np.mean(masses[~vsigned] < signed_mass)),
               val_signed_reaching_override=float(np.mean(masses[vsigned] >= override)),
               val_unsigned_reaching_override=float(np.mean(masses[~vsigned] >= override)))
    meta = FinderMetadata(version=version, input_width=WIDTH, input_height=HEIGHT, output_stride=STRIDE,
                          signed_mass=round(signed_mass, 2), override_mass=round(override, 2),
                          training_data=TRAINING_DATA,
                          metrics={k: round(v, 4) if isinstance(v, float) else v for k, v in val.items()},
                          created=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    # the verifier's exporter: same ONNX checks, metadata under the same key (FinderMetadata has the
    # attributes it reads: input size and names, to_json)
    export_onnx(model, meta, out)
    _parity(model, out)
    write_card(out, meta, state)
    return out


def _parity(model: torch.nn.Module, path: Path) -> None:
    """The ONNX file must compute what the trained network computes."""
    import onnxruntime as ort

    x = np.random.default_rng(0).random((1, 1, HEIGHT, WIDTH)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    if not np.allclose(got, want, atol=1e-3):
        raise RuntimeError(f"ONNX and torch disagree (max diff {np.abs(got - want).max():.4g})")


def write_card(path: Path, meta: FinderMetadata, state: dict, bench: dict | None = None) -> Path:
    """The finder's card (a ``ModelCard`` of kind finder): hash, data, layout families, figures. The
    benchmark's figures, once measured, are kept when the card is rewritten."""
    card_file = card_path_for(path)
    old = ModelCard.read(card_file).details if card_file.exists() else {}
    architecture = checkpoint_architecture(state)
    card = ModelCard.for_file(
        path, kind=FINDER, version=meta.version, created=meta.created, training_data=meta.training_data,
        metrics=dict(meta.metrics or {}),
        architecture={"name": "FinderNet (U-Net, coordinate channels, pooled page context)",
                      "variant": architecture,
                      "params": sum(p.numel() for p in build_finder(architecture).parameters())},
        input={"name": meta.input_name, "shape": [1, 1, meta.input_height, meta.input_width],
               "what": "darkness canvas of the whole cheque (sigverify.core.finder.finder_input)"},
        output={"name": meta.output_name, "stride": meta.output_stride, "what": "signature-ink logit per cell"},
        layout_families={"trained": list(TRAIN_FAMILIES), "held_out": list(HELDOUT_FAMILIES)},
        training={k: str(v) for k, v in state.get("config", {}).items()},
        epochs_done=int(state.get("epoch", -1)) + 1, signed_mass=meta.signed_mass, override_mass=meta.override_mass,
        benchmark=bench if bench is not None else old.get("benchmark"))
    card.write(card_file)
    return card_file
