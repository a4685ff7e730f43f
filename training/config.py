"""YAML configs: defaults merged with a file and ``key.sub=value`` overrides."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "device": "auto",  # auto | cpu | cuda
    "threads": 2,
    "normalization": {},  # overrides of sigverify.core.normalize.NormalizationParams
    "data": {
        "train": ["cedar"],  # datasets whose writers are split into train/val(/test)
        "extra_train": [],  # datasets whose writers all go to training
        "external_test": ["nisdcc-preview", "arabic-kaggle"],  # never trained on
        "val_writers": 8,
        "test_writers": 0,
        "split_seed": 0,
    },
    "model": {"embedding_size": 128, "width": 32, "dropout": 0.2},
    "loss": {"name": "batch_hard", "margin": 0.25, "skilled_fraction": 1.0, "use_forgeries": True},
    "optim": {"lr": 1e-3, "weight_decay": 1e-4, "epochs": 12, "steps_per_epoch": 30, "batch_writers": 32},
    "augment": {"enabled": True, "rotation_deg": 3.0, "scale": 0.06, "shear": 0.05, "shift": 0.03,
                "gamma": 0.25, "noise": 0.03},
    "eval": {"references": [1, 5], "threshold_references": [1, 2, 3, 4, 5], "seed": 0, "far_target": 0.01,
             "frr_target": 0.01},
    "crossval": {"folds": 5, "seed": 0, "val_writers": 6},
}


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> dict:
    cfg = copy.deepcopy(DEFAULTS)
    if path:
        with open(path, encoding="utf-8") as f:
            cfg = _merge(cfg, yaml.safe_load(f) or {})
    for item in overrides or []:
        key, _, raw = item.partition("=")
        node = cfg
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = yaml.safe_load(raw)
    return cfg


def save_config(cfg: dict, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)
