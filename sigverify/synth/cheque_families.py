"""More cheque layout families and what banks print around a signature, for the learned finder.

Each family is a form drawn on a ``_Canvas`` (see ``cheques``): it returns where the signature
(or signatures) go. Families are whole designs, so some can be held out of training entirely:
a finder is judged on forms it never saw. Decorations are drawn around any family's signature
zone: printed account-holder names and designations above or below the line, "Please sign
above", "For COMPANY" over two signatory lines, rubber stamps and seals over the signature,
bank logos and watermarks.
"""

from __future__ import annotations

import cv2
import numpy as np

_COMPANIES = ["ACME TRADERS PVT LTD", "SUNRISE EXPORTS", "GLOBAL LOGISTICS LLC", "NOVA FOODS GMBH",
              "RIVERSIDE CLINIC", "BLUE OCEAN SARL", "KRISHNA ENTERPRISES", "METRO BUILDERS INC"]
_DESIGNATIONS = ["Authorised Signatory", "AUTHORISED SIGNATORIES", "Director", "Partner", "Proprietor",
                 "AUTHORIZED SIGNATURE", "Please sign above", "Signature", "Unterschrift", "Treasurer"]
_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
          cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_PLAIN)


def _font(rng) -> int:
    return _FONTS[int(rng.integers(len(_FONTS)))]


def _c():
    from sigverify.synth import cheques  # late: cheques imports this module
    return cheques


# ---------------------------------------------------------------- families

def layout_us_business(rng, cv, j):
    """US business/voucher cheque: company block, 'VOID AFTER 90 DAYS', one or two signature lines."""
    c = _c()
    w, h, d = cv.w, cv.h, cv.dpi
    small = 0.05 * d
    company = str(rng.choice(_COMPANIES))
    c._text(cv.printed, company, j(0.04) * w, j(0.1) * h, 0.08 * d, _font(rng), 2)
    c._printed_block(rng, cv, 0.04 * w, 0.17 * h, ["500 Commerce Blvd", "Dallas TX 75201"], small)
    c._text(cv.printed, str(rng.integers(1000, 99999)), j(0.86) * w, 0.1 * h, 0.07 * d, cv2.FONT_HERSHEY_DUPLEX, 2)
    dy = j(0.3) * h
    c._text(cv.printed, "DATE", 0.55 * w, dy, small, cv2.FONT_HERSHEY_PLAIN)
    c._line(cv.printed, 0.6 * w, dy + 3, 0.75 * w, dy + 3)
    c._hand_field(rng, cv, f"{rng.integers(1, 12)}/{rng.integers(1, 28)}/26", 0.61 * w, dy, 0.08 * d)
    c._text(cv.printed, "AMOUNT", 0.78 * w, dy - 0.12 * d, small * 0.8, cv2.FONT_HERSHEY_PLAIN)
    c._rect(cv.printed, 0.78 * w, dy - 0.09 * d, 0.97 * w, dy + 0.04 * d, 2)
    c._hand_field(rng, cv, f"${rng.integers(10, 99999)}.00", 0.8 * w, dy, 0.09 * d)
    py = j(0.48) * h
    c._text(cv.printed, "PAY TO THE ORDER OF", 0.03 * w, py, small * 0.8, cv2.FONT_HERSHEY_PLAIN)
    c._line(cv.printed, 0.2 * w, py + 3, 0.7 * w, py + 3)
    c._hand_field(rng, cv, c._name(rng).title(), 0.22 * w, py, 0.1 * d, scribble=rng.random() < 0.4)
    c._printed_block(rng, cv, 0.03 * w, j(0.62) * h, [str(rng.choice(c._BANKS)), "Member FDIC"], small)
    c._text(cv.printed, "VOID AFTER 90 DAYS", 0.6 * w, 0.56 * h, small * 0.8, cv2.FONT_HERSHEY_SIMPLEX)
    sy = j(0.84) * h
    two = rng.random() < 0.4
    specs = []
    lines = [(j(0.55), j(0.95))] if not two else [(j(0.28), 0.52), (0.58, j(0.95))]
    for x1f, x2f in lines:
        x1, x2 = x1f * w, x2f * w
        c._line(cv.printed, x1, sy, x2, sy)
        c._text(cv.printed, "AUTHORIZED SIGNATURE", x1 + 0.02 * w, sy + 0.07 * d, small * 0.75,
                cv2.FONT_HERSHEY_PLAIN)
        specs.append(c._Spec((x1 + x2) / 2, sy - 0.12 * d, sy, x1, x2))
    c._micr(rng, cv, 0.96 * h, 0.12 * w)
    return specs


def layout_in_cts_b(rng, cv, j):
    """Indian CTS-2010 variant: 'A/c No.' box, holder name and 'Please sign above' under a boxed area."""
    c = _c()
    w, h, d = cv.w, cv.h, cv.dpi
    small = 0.05 * d
    c._text(cv.printed, str(rng.choice(c._BANKS)), 0.03 * w, 0.08 * h, 0.07 * d, _font(rng), 2)
    c._text(cv.printed, "IFSC: SBIN0001234  BRANCH: MG ROAD", 0.03 * w, 0.15 * h, small * 0.8,
            cv2.FONT_HERSHEY_PLAIN)
    c._text(cv.printed, "VALID FOR THREE MONTHS ONLY", 0.55 * w, 0.06 * h, small * 0.7, cv2.FONT_HERSHEY_PLAIN)
    for i in range(8):
        c._rect(cv.printed, (0.72 + i * 0.03) * w, 0.1 * h, (0.747 + i * 0.03) * w, 0.17 * h)
    c._hand_field(rng, cv, f"{rng.integers(10, 28)}0{rng.integers(1, 9)}2026", 0.725 * w, 0.16 * h, 0.06 * d)
    py = j(0.3) * h
    c._text(cv.printed, "PAY", 0.03 * w, py, small, cv2.FONT_HERSHEY_DUPLEX, 2)
    c._line(cv.printed, 0.08 * w, py + 3, 0.82 * w, py + 3, dashed=rng.random() < 0.5)
    c._text(cv.printed, "OR BEARER", 0.84 * w, py, small, cv2.FONT_HERSHEY_DUPLEX)
    c._hand_field(rng, cv, c._name(rng).title(), 0.12 * w, py, 0.1 * d, scribble=rng.random() < 0.4)
    ry = j(0.42) * h
    c._text(cv.printed, "RUPEES", 0.03 * w, ry, small, cv2.FONT_HERSHEY_DUPLEX)
    c._line(cv.printed, 0.11 * w, ry + 3, 0.7 * w, ry + 3)
    c._line(cv.printed, 0.03 * w, ry + 0.2 * d, 0.7 * w, ry + 0.2 * d)
    c._hand_field(rng, cv, c._amount_words(rng), 0.13 * w, ry, 0.09 * d)
    c._rect(cv.printed, 0.73 * w, ry - 0.05 * d, 0.97 * w, ry + 0.15 * d, 2)
    c._text(cv.printed, "Rs", 0.74 * w, ry + 0.1 * d, small, cv2.FONT_HERSHEY_DUPLEX)
    c._hand_field(rng, cv, f"{rng.integers(100, 99999)}/-", 0.79 * w, ry + 0.1 * d, 0.1 * d)
    c._text(cv.printed, "A/c No.", 0.03 * w, 0.62 * h, small, cv2.FONT_HERSHEY_SIMPLEX)
    c._rect(cv.printed, 0.12 * w, 0.56 * h, 0.4 * w, 0.65 * h, 1)
    c._text(cv.printed, str(rng.integers(10 ** 11, 10 ** 12)), 0.13 * w, 0.63 * h, 0.06 * d,
            cv2.FONT_HERSHEY_SIMPLEX, 2)
    sy = j(0.8) * h
    x1, x2 = j(0.6) * w, j(0.97) * w
    if rng.random() < 0.5:
        c._rect(cv.printed, x1, sy - 0.35 * d, x2, sy, 1)
    else:
        c._line(cv.printed, x1, sy, x2, sy, dashed=rng.random() < 0.4)
    c._text(cv.printed, c._name(rng), x1 + 0.05 * w, sy + 0.07 * d, small, cv2.FONT_HERSHEY_SIMPLEX, 2)
    c._text(cv.printed, "Please sign above", x1 + 0.08 * w, sy + 0.15 * d, small * 0.8, cv2.FONT_HERSHEY_PLAIN)
    c._micr(rng, cv, 0.95 * h, 0.2 * w)
    return [c._Spec((x1 + x2) / 2, sy - 0.14 * d, sy, x1, x2)]


def layout_eu_de(rng, cv, j):
    """German/euro-area transfer-style cheque: labelled boxes, IBAN, signature box lower right."""
    c = _c()
    w, h, d = cv.w, cv.h, cv.dpi
    small = 0.045 * d
    c._text(cv.printed, str(rng.choice(c._BANKS)), 0.03 * w, 0.1 * h, 0.07 * d, _font(rng), 2)
    c._text(cv.printed, "Zahlen Sie gegen diesen Scheck", 0.03 * w, 0.22 * h, small, cv2.FONT_HERSHEY_PLAIN)
    c._rect(cv.printed, 0.45 * w, 0.14 * h, 0.97 * w, 0.26 * h, 1)
    c._text(cv.printed, "Betrag in Buchstaben", 0.46 * w, 0.17 * h, small * 0.6, cv2.FONT_HERSHEY_PLAIN)
    c._hand_field(rng, cv, c._amount_words(rng), 0.47 * w, 0.245 * h, 0.08 * d)
    c._rect(cv.printed, 0.03 * w, 0.32 * h, 0.7 * w, 0.45 * h, 1)
    c._text(cv.printed, "an", 0.04 * w, 0.35 * h, small * 0.6, cv2.FONT_HERSHEY_PLAIN)
    c._hand_field(rng, cv, c._name(rng).title(), 0.07 * w, 0.43 * h, 0.09 * d, scribble=rng.random() < 0.4)
    c._rect(cv.printed, 0.74 * w, 0.32 * h, 0.97 * w, 0.45 * h, 2)
    c._text(cv.printed, "EUR", 0.75 * w, 0.35 * h, small * 0.6, cv2.FONT_HERSHEY_PLAIN)
    c._hand_field(rng, cv, f"{rng.integers(10, 9999)},--", 0.78 * w, 0.43 * h, 0.09 * d)
    c._text(cv.printed, "Ausstellungsort, Datum", 0.03 * w, 0.62 * h, small * 0.6, cv2.FONT_HERSHEY_PLAIN)
    c._line(cv.printed, 0.03 * w, 0.58 * h, 0.45 * w, 0.58 * h)
    c._hand_field(rng, cv, f"Berlin {rng.integers(1, 28)}.{rng.integers(1, 12)}.26", 0.05 * w, 0.56 * h, 0.08 * d)
    c._text(cv.printed, f"IBAN DE{rng.integers(10, 99)} {rng.integers(1000, 9999)} {rng.integers(1000, 9999)}",
            0.03 * w, 0.75 * h, small, cv2.FONT_HERSHEY_SIMPLEX)
    sy = j(0.8) * h
    x1, x2 = j(0.52) * w, j(0.97) * w
    c._line(cv.printed, x1, sy, x2, sy)
    c._text(cv.printed, "Unterschrift des Ausstellers", x1 + 0.05 * w, sy + 0.06 * d, small * 0.7,
            cv2.FONT_HERSHEY_PLAIN)
    c._micr(rng, cv, 0.95 * h, 0.1 * w)
    return [c._Spec((x1 + x2) / 2, sy - 0.13 * d, sy, x1, x2)]


def layout_in_business(rng, cv, j):
    """Indian current-account cheque: 'For COMPANY' above two signatory lines, designation below."""
    c = _c()
    specs = [c._layout_in(rng, cv, j)]
    w, d = cv.w, cv.dpi
    # cover the personal layout's signature area with the company block (erase, then redraw)
    sy = specs[0].line_y
    cv.printed[int(sy - 0.45 * d): int(min(cv.h, sy + 0.15 * d)), int(0.5 * w):] = 0
    small = 0.05 * d
    c._text(cv.printed, "For " + str(rng.choice(_COMPANIES)), 0.56 * w, sy - 0.38 * d, small, _font(rng), 2)
    out = []
    bounds = [(0.52, 0.73), (0.76, 0.97)] if rng.random() < 0.6 else [(0.6, 0.97)]
    for x1f, x2f in bounds:
        x1, x2 = j(x1f) * w, j(x2f) * w
        c._line(cv.printed, x1, sy, x2, sy)
        c._text(cv.printed, str(rng.choice(_DESIGNATIONS[:5])), x1 + 0.01 * w, sy + 0.08 * d, small * 0.75,
                cv2.FONT_HERSHEY_SIMPLEX)
        out.append(c._Spec((x1 + x2) / 2, sy - 0.13 * d, sy, x1, x2))
    return out


# ---------------------------------------------------------------- decorations

def decorate(rng, cv, specs) -> None:
    """Logos, watermarks, printed names/designations around the signature zone, stamps over it."""
    c = _c()
    w, h, d = cv.w, cv.h, cv.dpi
    if rng.random() < 0.4:  # bank logo: a filled shape with initials, in the header
        cx, cy, r = rng.uniform(0.03, 0.5) * w, rng.uniform(0.06, 0.2) * h, rng.uniform(0.06, 0.14) * d
        shape = rng.integers(3)
        if shape == 0:
            c._stamp(cv.printed, lambda im: cv2.circle(im, (int(cx), int(cy)), int(r), 0, -1))
        elif shape == 1:
            c._rect(cv.printed, cx - r, cy - r, cx + r, cy + r, -1)
        else:
            pts = np.int32([[cx, cy - r], [cx + r, cy + r], [cx - r, cy + r]])
            c._stamp(cv.printed, lambda im: cv2.fillPoly(im, [pts], 0))
    if rng.random() < 0.25:  # watermark: big faint words across the middle
        c._text(cv.pattern, str(rng.choice(["SECURE", "ORIGINAL", "CTS-2010", "BANK"])),
                rng.uniform(0.1, 0.4) * w, rng.uniform(0.5, 0.8) * h, rng.uniform(0.2, 0.4) * d,
                cv2.FONT_HERSHEY_TRIPLEX, int(0.03 * d), rng.uniform(0.08, 0.2))
    for spec in specs:
        _around_signature(rng, cv, spec)


def _around_signature(rng, cv, spec) -> None:
    c = _c()
    d = cv.dpi
    small = rng.uniform(0.04, 0.06) * d
    x1 = spec.line_x1 + rng.uniform(0, 0.15) * (spec.line_x2 - spec.line_x1)
    if rng.random() < 0.35:  # printed holder name just over the signature
        c._text(cv.printed, c._name(rng), x1, spec.line_y - rng.uniform(0.3, 0.45) * d, small, _font(rng),
                int(rng.integers(1, 3)))
    if rng.random() < 0.35:  # designation or "Please sign above" under the line
        c._text(cv.printed, str(rng.choice(_DESIGNATIONS)), x1, spec.line_y + rng.uniform(0.06, 0.12) * d,
                small * 0.85, _font(rng))
    if rng.random() < 0.2:
        stamp(rng, cv, spec.sig_cx + rng.normal(0, 0.2) * d, spec.sig_cy + rng.normal(0, 0.1) * d)


def stamp(rng, cv, cx: float, cy: float) -> None:
    """A rubber stamp or seal (ring text or a framed box), in the stamp layer: often over the signature."""
    c = _c()
    d = cv.dpi
    layer = cv.stamp
    strength = rng.uniform(0.35, 0.8)
    if rng.random() < 0.5:
        r = rng.uniform(0.25, 0.45) * d
        c._stamp(layer, lambda im: cv2.circle(im, (int(cx), int(cy)), int(r), 0, max(1, int(0.012 * d))), strength)
        c._stamp(layer, lambda im: cv2.circle(im, (int(cx), int(cy)), int(0.7 * r), 0, 1), strength)
        word = str(rng.choice(_COMPANIES))
        for k, ch in enumerate(word):
            a = np.pi * (1.0 + k / max(len(word) - 1, 1))
            c._text(layer, ch, cx + 0.82 * r * np.cos(a) - 4, cy + 0.82 * r * np.sin(a) + 4, 0.1 * r,
                    cv2.FONT_HERSHEY_SIMPLEX, 1, strength)
    else:
        bw, bh = rng.uniform(0.8, 1.4) * d, rng.uniform(0.25, 0.4) * d
        c._rect(layer, cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2, max(1, int(0.01 * d)), strength)
        c._text(layer, "For " + str(rng.choice(_COMPANIES)), cx - bw / 2 + 4, cy - bh / 6, bh * 0.2,
                cv2.FONT_HERSHEY_SIMPLEX, 1, strength)
        c._text(layer, str(rng.choice(_DESIGNATIONS[:5])), cx - bw / 2 + 4, cy + bh / 3, bh * 0.2,
                cv2.FONT_HERSHEY_SIMPLEX, 1, strength)
