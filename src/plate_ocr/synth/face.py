"""The plate face: colours, digit layout and the furniture around the digits.

The face is drawn flat and upright in uint8 RGB at the glyph cache's scale, with a float
corner radius for its alpha; the camera (``camera.py``) then places it in a scene.
Everything that is not a label digit (red date box, flag band, screws, dealer text) is a
distractor the reader must learn to ignore, so it is drawn in the inks and sizes that make
it confusable on real crops.

Speed: the digits, border and separators are pasted into one coverage mask and coloured in
a single ``cv2.transform``; numpy broadcasting over a trailing RGB axis is ~10x slower than
OpenCV's per-pixel kernels, so pixel work here goes through OpenCV.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

import cv2
import numpy as np

from plate_ocr.plates import pick, split_groups
from plate_ocr.synth.factors import Factors, ramp, uniform
from plate_ocr.synth.glyphs import CUTS, GLYPH_HEIGHT, STYLE_NAMES, glyph_set

_DEALERS = (
    "WWW.MASSILAS.COM",
    "AUTO ECOLE",
    "SOVAC",
    "RENAULT ALGERIE",
    "HOFFMANN",
    "ELSECOM",
    "GARAGE DU CENTRE",
    "TEL 0550 12 34",
    "AUTO PLAQUES",
    "MASTER",
    "CIMA MOTORS",
    "WWW.PLAQUES-DZ.COM",
)
_FONT, _PLAIN = cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_PLAIN


def _plate_colour(rng: np.random.Generator, yellow: bool, fade: float) -> np.ndarray:
    if yellow:  # from pale lemon to deep orange-yellow
        colour = np.array(
            [0.92 + 0.08 * rng.random(), 0.55 + 0.33 * rng.random(), 0.25 * rng.random() ** 2]
        )
    else:
        colour = 0.86 + 0.12 * rng.random() + rng.normal(0, 0.012, 3)
    return np.minimum(np.maximum(colour + (0.92 - colour) * fade, 0), 1) * 255


def _ink_colour(rng: np.random.Generator, fade: float) -> np.ndarray:
    ink = np.full(3, 0.02 + 0.1 * rng.random())
    if rng.random() < 0.15:  # some plates use a dark blue-grey ink
        ink += (0.0, 0.03, 0.1)
    return (ink + (0.4 - ink) * fade * 0.6) * 255


_SEPARATORS = ("dash", "dot", "colon", "ring", " ")


@dataclass(frozen=True)
class FaceLayout:
    """The plate's geometry, each number named. Lengths are fractions of the glyph height
    (``GLYPH_HEIGHT``) unless they say plate height; ranges are sampled uniformly per plate.
    Set by eye against the LPA crops (the Algerian standard fixes the format, not these)."""

    glyph_gap: tuple[float, float] = (0.02, 0.12)  # between digits of a group
    group_gap: tuple[float, float] = (0.3, 0.75)  # between groups
    group_gap_with_separator: float = 0.55  # at least, where a mark sits in the gap
    text_drift: float = 0.03  # sd of the digits' vertical offset, plate heights
    spread: float = 0.7  # at most this share of spare width widens the group gaps
    text_position: tuple[float, float] = (0.3, 0.7)  # where the rest of it goes, left to right
    band_width: tuple[float, float] = (0.3, 0.42)  # flag band / red box, plate heights
    border_inset_px: tuple[int, int] = (1, 4)
    border_width_px: tuple[int, int] = (1, 3)
    corner_radius: tuple[float, float] = (0.05, 0.15)  # plate heights
    screw_room: float = 0.2  # plate heights of margin needed for screws at the ends
    dash_half_length: float = 0.14
    dot_radius: float = 0.07
    colon_step: float = 0.2  # each dot's distance from the mid line
    colon_radius: float = 0.06
    ring_radius: float = 0.12
    ring_bar_half_length: float = 0.13


LAYOUT = FaceLayout()


def _separator(rng: np.random.Generator, factors: Factors) -> str:
    return _SEPARATORS[bisect_right(factors.separator_cuts, rng.random())]


def _layout(label, rng, factors, glyphs, overhang):
    """x offsets of each glyph and the separators (x, kind) between groups, left to right.

    An italic glyph leans past its cell by ``overhang``; cells still abut as upright ones do.
    """
    gap = uniform(rng, LAYOUT.glyph_gap) * GLYPH_HEIGHT
    group_gap = uniform(rng, LAYOUT.group_gap) * GLYPH_HEIGHT
    first = _separator(rng, factors)
    second = _separator(rng, factors) if rng.random() < factors.p_mixed_separators else first
    if (first, second) != (" ", " "):
        group_gap = max(group_gap, LAYOUT.group_gap_with_separator * GLYPH_HEIGHT)
    placed, seps, x = [], [], 0.0
    for g, group in enumerate(split_groups(label)):
        if g:
            seps.append((x - gap + group_gap / 2, (first, second)[g - 1]))
            x += group_gap - gap
        for ch in group:
            mask = glyphs[ord(ch) - 48]
            placed.append((g, x, mask))
            x += mask.shape[1] - overhang + gap
    return placed, seps, x - gap + overhang


def _draw_separator(cover: np.ndarray, kind: str, cx: int, mid: int) -> None:
    if kind == "dash":
        half = int(LAYOUT.dash_half_length * GLYPH_HEIGHT)
        cv2.rectangle(cover, (cx - half, mid - 2), (cx + half, mid + 1), 255, -1)
    elif kind == "dot":
        radius = max(2, int(LAYOUT.dot_radius * GLYPH_HEIGHT))
        cv2.circle(cover, (cx, mid), radius, 255, -1, cv2.LINE_AA)
    elif kind == "colon":
        step = int(LAYOUT.colon_step * GLYPH_HEIGHT)
        radius = max(2, int(LAYOUT.colon_radius * GLYPH_HEIGHT))
        for cy in (mid - step, mid + step):
            cv2.circle(cover, (cx, cy), radius, 255, -1, cv2.LINE_AA)
    elif kind == "ring":
        radius = int(LAYOUT.ring_radius * GLYPH_HEIGHT)
        half = int(LAYOUT.ring_bar_half_length * GLYPH_HEIGHT)
        cv2.circle(cover, (cx, mid - radius // 2), radius, 255, 2, cv2.LINE_AA)
        y = mid + radius + 2
        cv2.rectangle(cover, (cx - half, y), (cx + half, y + 2), 255, -1)


def draw_face(label: str, rng: np.random.Generator, factors: Factors):
    """The face as (H, W, 3) uint8 RGB, the radius of its rounded corners in pixels (its
    alpha is ``rounded_alpha``, made at whatever size the camera shrinks the face to), the
    plate's box within it (the face may include a holder frame) and the digits' box, both
    as (x0, y0, x1, y1)."""
    style = STYLE_NAMES[pick(rng, factors.style_cdf)]
    face_cut = {
        "cut": int(rng.integers(CUTS)),
        "jitter": factors.glyph_jitter,
        "deform": factors.glyph_deform,
    }
    glyphs = glyph_set(
        style,
        italic=bool(rng.random() < factors.p_italic),
        serif_one=bool(rng.random() < factors.p_serif_one),
        straight_six=bool(rng.random() < factors.p_straight_six),
        bent_seven=bool(rng.random() < factors.p_bent_seven),
        **face_cut,
    )
    overhang = glyphs[0].shape[1] - glyph_set(style, **face_cut)[0].shape[1]
    placed, seps, text_w = _layout(label, rng, factors, glyphs, overhang)

    yellow = rng.random() < factors.p_yellow
    fade = uniform(rng, factors.fade) * rng.random()
    plate_h = round(GLYPH_HEIGHT / uniform(rng, factors.text_height))
    left_band = "flag" if not yellow and rng.random() < factors.p_flag_band else None
    if left_band is None and rng.random() < factors.p_dz_band:
        left_band = "dz"
    right_box = "red" if rng.random() < factors.p_red_box else None
    if right_box is None and rng.random() < factors.p_eu_band:
        right_box = "eu"
    band_w = round(plate_h * uniform(rng, LAYOUT.band_width))
    margin = plate_h * uniform(rng, factors.text_margin)
    used = text_w + 2 * margin + band_w * ((left_band is not None) + (right_box is not None))
    plate_w = round(max(used, plate_h * uniform(rng, factors.plate_aspect)))

    # Digits, border and separators share the ink, so they share one coverage mask.
    cover = np.zeros((plate_h, plate_w), np.uint8)
    x0 = band_w if left_band else 0
    x1 = plate_w - (band_w if right_box else 0)
    spare = (x1 - x0) - text_w - 2 * margin  # plates of 9-11 digits spread it out
    stretch = spare * rng.random() * LAYOUT.spread / len(seps)
    tx = x0 + margin + (spare - stretch * len(seps)) * uniform(rng, LAYOUT.text_position)
    ty = (plate_h - GLYPH_HEIGHT) / 2 + rng.normal(0, LAYOUT.text_drift) * plate_h
    ty = int(round(min(max(ty, 1), plate_h - GLYPH_HEIGHT - 1)))
    for group, x, mask in placed:
        x = int(round(tx + x + stretch * group))
        region = cover[ty : ty + GLYPH_HEIGHT, x : x + mask.shape[1]]
        np.maximum(region, mask[:, : region.shape[1]], out=region)
    mid = ty + GLYPH_HEIGHT // 2
    for k, (sx, kind) in enumerate(seps):
        _draw_separator(cover, kind, int(round(tx + sx + stretch * (k + 0.5))), mid)
    if rng.random() < factors.p_border:
        inset = int(rng.integers(*LAYOUT.border_inset_px))
        cv2.rectangle(
            cover,
            (inset, inset),
            (plate_w - 1 - inset, plate_h - 1 - inset),
            255,
            int(rng.integers(*LAYOUT.border_width_px)),
            cv2.LINE_AA,
        )
    paper, ink = _plate_colour(rng, yellow, fade), _ink_colour(rng, fade)
    colouring = np.zeros((3, 4), np.float32)
    colouring[:, 0], colouring[:, 3] = (ink - paper) / 255, paper
    plate = cv2.transform(cv2.cvtColor(cover, cv2.COLOR_GRAY2RGB), colouring)
    text_box = (tx, ty, tx + text_w + stretch * len(seps), ty + GLYPH_HEIGHT)

    if left_band == "flag":
        _flag_band(plate[:, :band_w], rng)
    elif left_band == "dz":
        _dz_band(plate[:, :band_w], ink)
    if right_box:
        _right_box(plate[:, plate_w - band_w :], rng, right_box, ink)
    if rng.random() < factors.p_screws:
        gaps = [tx + x + stretch * (k + 0.5) for k, (x, kind) in enumerate(seps) if kind == " "]
        ends = (
            [(x0 + tx) / 2, (text_box[2] + x1) / 2]
            if min(tx - x0, x1 - text_box[2]) > LAYOUT.screw_room * plate_h
            else []
        )
        _screws(plate, rng, gaps, ends)
    face, (fx, fy) = _frame(plate, rng, factors)
    _wear(face, rng, factors)
    corner = max(2, int(plate_h * uniform(rng, LAYOUT.corner_radius)))
    plate_box = (fx, fy, fx + plate_w, fy + plate_h)
    return face, corner, plate_box, (text_box[0] + fx, ty + fy, text_box[2] + fx, text_box[3] + fy)


def _frame(plate: np.ndarray, rng: np.random.Generator, factors: Factors):
    """Maybe a plastic holder around the plate, often printed with the dealer's name."""
    if rng.random() >= factors.p_frame:
        return plate, (0, 0)
    plate_h = plate.shape[0]
    top, bottom, side = (
        round(plate_h * uniform(rng, b)) for b in ((0.05, 0.15), (0.1, 0.35), (0.04, 0.15))
    )
    grey = int(15 + 50 * rng.random()) if rng.random() < 0.8 else 190
    face = cv2.copyMakeBorder(
        plate, top, bottom, side, side, cv2.BORDER_CONSTANT, value=(grey,) * 3
    )
    if rng.random() < factors.p_frame_lip:
        shade = tuple(float(c) for c in plate[plate_h // 2, 0] * uniform(rng, (0.1, 0.5)))
        width = int(rng.integers(1, max(2, plate_h // 12) + 1))
        x1, y1 = side + plate.shape[1] - 1, top + plate_h - 1
        cv2.rectangle(face, (side, top), (x1, y1), shade, width)
    if rng.random() < factors.p_dealer_text and bottom >= 5:
        text = _DEALERS[rng.integers(len(_DEALERS))]
        scale = bottom / 38
        width = cv2.getTextSize(text, _FONT, scale, 1)[0][0]
        colour = (215, 215, 215) if grey < 128 else (30, 30, 30)
        org = ((face.shape[1] - width) // 2, face.shape[0] - max(1, bottom // 5))
        cv2.putText(face, text, org, _FONT, scale, colour, 1, cv2.LINE_AA)
    return face, (side, top)


def _flag_band(band: np.ndarray, rng: np.random.Generator) -> None:
    """The blue band with the Algerian flag (green | white, red crescent) on the left."""
    h, w = band.shape[:2]
    band[:] = (15, 50 + 40 * rng.random(), 150 + 80 * rng.random())
    fw, fh = int(w * 0.7), int(w * 0.5)
    x, y = (w - fw) // 2, int(h * 0.2)
    band[y : y + fh, x : x + fw // 2] = (0, 125, 60)
    band[y : y + fh, x + fw // 2 : x + fw] = (240, 240, 240)
    cv2.circle(band, (x + fw // 2, y + fh // 2), max(1, fh // 4), (215, 25, 25), -1, cv2.LINE_AA)
    if rng.random() < 0.5:
        cv2.putText(band, "DZ", (x, int(h * 0.88)), _FONT, w / 60, (255, 255, 255), 1, cv2.LINE_AA)


def _dz_band(band: np.ndarray, ink: np.ndarray) -> None:
    """DZ over a small emblem, printed in the plate's ink at the left end (no blue band)."""
    h, w = band.shape[:2]
    colour = tuple(float(c) for c in ink)
    cv2.putText(band, "DZ", (int(w * 0.12), int(h * 0.45)), _FONT, w / 48, colour, 2, cv2.LINE_AA)
    centre, axes = (w // 2, int(h * 0.7)), (max(2, int(w * 0.3)), max(2, int(h * 0.1)))
    cv2.ellipse(band, centre, axes, 0, 0, 360, colour, 2, cv2.LINE_AA)


def _right_box(box: np.ndarray, rng: np.random.Generator, kind: str, ink: np.ndarray) -> None:
    """A red box (or a blue band) with tiny date digits: to be read past, never read."""
    h, w = box.shape[:2]
    y0, y1, x0 = int(h * 0.1), int(h * 0.9), int(w * 0.2)
    colour = (205, 25 + 25 * rng.random(), 20) if kind == "red" else (15, 60, 190)
    box[y0:y1, x0 : w - 2] = colour
    text_rgb = (255, 255, 255) if kind == "eu" or rng.random() < 0.6 else tuple(ink)
    rows = (
        f"{rng.integers(1, 29):02d}",
        f"{rng.integers(1, 13):02d}",
        f"{rng.integers(0, 26):02d}",
    )
    step = (y1 - y0) / 3
    for i, text in enumerate(rows):
        y = int(y0 + step * (i + 0.85))
        cv2.putText(box, text, (x0 + 1, y), _PLAIN, step / 16, text_rgb, 1, cv2.LINE_AA)


def _screws(
    plate: np.ndarray, rng: np.random.Generator, gaps: list[float], ends: list[float]
) -> None:
    """Screw or rivet heads in the gaps between groups or in the margins, never on a digit."""
    h = plate.shape[0]
    r = max(2, int(h * uniform(rng, (0.05, 0.08))))
    spots = gaps if gaps and (not ends or rng.random() < 0.5) else ends
    metal = 120 + 110 * rng.random()
    for x in spots:
        centre = (int(x), int(h / 2 + rng.normal(0, 0.05) * h))
        cv2.circle(plate, centre, r, (metal, metal, metal * 0.95), -1, cv2.LINE_AA)
        cv2.circle(plate, centre, r, (50, 50, 50), 1, cv2.LINE_AA)


def _wear(face: np.ndarray, rng: np.random.Generator, factors: Factors) -> None:
    """Dirt (darkened smudges) and glare (a soft band washed towards white), in place."""
    h, w = face.shape[:2]
    dirt = _DIRT[rng.integers(len(_DIRT))]
    if rng.random() < factors.p_dirt and h <= dirt.shape[0] and w <= dirt.shape[1]:
        y, x = rng.integers(0, dirt.shape[0] - h + 1), rng.integers(0, dirt.shape[1] - w + 1)
        keep = cv2.convertScaleAbs(
            dirt[y : y + h, x : x + w], alpha=-uniform(rng, (0.2, 0.6)) * 255, beta=255
        )
        cv2.multiply(face, cv2.cvtColor(keep, cv2.COLOR_GRAY2RGB), dst=face, scale=1 / 255)
    if rng.random() < factors.p_glare:
        cx, sx = rng.random() * w, w * uniform(rng, (0.08, 0.35))
        gx = np.exp(-0.5 * ((np.arange(w, dtype=np.float32) - cx) / sx) ** 2)
        gy = ramp(1.0, rng.random(), h)
        keep = cv2.convertScaleAbs(
            np.outer(gy, gx), alpha=-uniform(rng, (0.3, 0.6)) * 255, beta=255
        )
        shade = cv2.multiply(
            cv2.bitwise_not(face), cv2.cvtColor(keep, cv2.COLOR_GRAY2RGB), scale=1 / 255
        )
        cv2.bitwise_not(shade, dst=face)


def rounded_alpha(shape: tuple[int, int], radius: int) -> np.ndarray:
    """Coverage of a rounded rectangle of ``shape``, anti-aliased at the corners."""
    h, w = shape
    radius = min(radius, h // 2, w // 2)
    if radius not in _CORNERS:
        yy, xx = np.mgrid[0:radius, 0:radius] + 0.5
        dist = np.hypot(radius - xx, radius - yy)
        _CORNERS[radius] = np.clip(radius - dist + 0.5, 0, 1).astype(np.float32)
    corner = _CORNERS[radius]
    alpha = np.ones((h, w), np.float32)
    alpha[:radius, :radius] = corner
    alpha[:radius, w - radius :] = corner[:, ::-1]
    alpha[h - radius :, :radius] = corner[::-1]
    alpha[h - radius :, w - radius :] = corner[::-1, ::-1]
    return alpha


_CORNERS: dict[int, np.ndarray] = {}


def _dirt_bank(seed: int = 7, n: int = 4, shape=(160, 640)) -> list[np.ndarray]:
    """Blotchy smudge maps in [0, 1]: thresholded multi-scale noise, made once per process."""
    rng = np.random.default_rng(seed)
    bank = []
    for _ in range(n):
        field = np.zeros(shape, np.float32)
        for cells, weight in ((6, 1.0), (20, 0.5), (80, 0.25)):
            small = rng.random((max(2, cells * shape[0] // shape[1]), cells)).astype(np.float32)
            field += weight * cv2.resize(small, shape[::-1], interpolation=cv2.INTER_CUBIC)
        field = (field - field.mean()) / field.std()
        bank.append(np.clip((field - 0.6) / 1.5, 0, 1))
    return bank


_DIRT = _dirt_bank()
