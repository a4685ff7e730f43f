"""sigverify extract IMAGE [IMAGE ...] [--out DIR]"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2

from ...core.extraction import finder_notice
from ...core.imaging import ImageLoadError, load_image
from ...core.pipeline import locate_signature
from ..exit_codes import ExitCode


def add_parser(subparsers, common) -> None:
    p = subparsers.add_parser("extract", parents=[common], help="find the signature on cheque images")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--out", type=Path, metavar="DIR", help="write each signature crop as PNG here")
    p.set_defaults(handler=run)


def run(args, ctx) -> int:
    failures = unsigned = 0
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    for name in args.images:
        try:
            image = load_image(name)
        except ImageLoadError as exc:
            ctx.emit({"file": name, "found": False, "box": None, "confidence": 0.0, "error": str(exc)},
                     f"{name}: error: {exc}")
            failures += 1
            continue
        found = locate_signature(image.gray, image.dpi)
        data = {"file": name, "found": found.found, "box": list(found.box) if found.box else None,
                "confidence": round(found.confidence, 3), "is_cheque": found.is_cheque,
                "reason": found.reason or None}
        if found.found and args.out and found.crop is not None:
            crop_path = args.out / f"{Path(name).stem}.signature.png"
            cv2.imwrite(str(crop_path), found.crop)
            data["crop"] = str(crop_path)
        text = (f"{name}: signature at {data['box']} (confidence {found.confidence:.2f})" if found.found
                else f"{name}: no signature found ({found.reason})")
        ctx.emit(data, text)
        unsigned += not found.found
    notice = finder_notice()
    if notice:  # the learned finder's model is missing or damaged: the rules stood in (said once)
        print(f"note: {notice}", file=sys.stderr)
    # the worst outcome decides: unreadable, then no signature (README, exit codes)
    if failures:
        return ExitCode.UNREADABLE_IMAGE
    return ExitCode.NO_SIGNATURE if unsigned else ExitCode.OK
