"""Digit glyphs: drawn once per style as alpha masks, then only sliced and pasted.

Real Algerian plates use the condensed French plate lettering (tall, tightly set, rounded),
Impact-like heavy faces and assorted condensed sans-serifs, never a monospace face. The
plate styles here are digit skeletons stroked with a pen: one skeleton, many faces, by
varying the pen width, the condensation and how square the curves are. Pillow's embedded
Aileron (a sans-serif that ships inside Pillow, so nothing is downloaded) adds shapes the
skeletons do not have. OpenCV's Hershey faces were left out: their zero is slashed.

Glyphs are rendered at ``GLYPH_HEIGHT`` pixels, close to the digit height a 64-pixel-high
crop shows, so rendering a plate never resamples a font: the one camera warp does that.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

import cv2
import numpy as np

GLYPH_HEIGHT = 36
_SUPERSAMPLE = 4
CUTS = 8  # cuts of each style: 0 is the style as named, 1.. jitter its proportions
MAX_PEN_PER_WIDTH = 0.34  # the heaviest named styles' pen / glyph width
# degrees: a deformed cut ends its 6's hook up to this far either way (more closes it)
HOOK_SWING = 20.0


@dataclass(frozen=True)
class GlyphStyle:
    """One face: how a digit is drawn. ``aspect`` is cell width / height, pen included."""

    name: str
    kind: str = "stroke"  # stroke (our skeletons) | aileron (Pillow's embedded face)
    aspect: float = 0.48
    pen: float = 0.14  # pen width / glyph height
    squareness: float = 2.0  # 2 = elliptic curves, larger = squarer (Impact-like)
    one: str = "flag"  # the 1: flag | base (flag and foot) | bar (flag and foot) | serif (an I)
    flat_three: bool = False  # the 3 with a flat top stroke, as on older plates
    narrow_one: bool = True  # proportional sets give the 1 a narrower cell
    open_four: bool = False  # heavy pens close a closed 4's counter into a blob
    # French plate lettering: the 6 and 9 join their bowl by a straight diagonal, not a hook
    straight_six: bool = False
    bent_seven: bool = False  # the 7's stem bends to upright at the foot, as on many plates
    # a smooth warp of the skeleton inside its box (edges fixed), seeded: bowls, waists and
    # stems sit a little higher or lower, wider or narrower, as one maker's cut differs
    deform: float = 0.0  # largest shift of a point, as a fraction of the box
    deform_seed: int = 0
    # where the hooked 6's (and 9's) hook ends, in degrees of its arc (270 = top, 360 = right):
    # real plates curl it further round, close to the bowl, and low-resolution models then
    # read the 6 as an 8
    six_hook: float = 305.0


STYLES: tuple[GlyphStyle, ...] = (
    GlyphStyle("plate", aspect=0.47, pen=0.13, squareness=2.2, one="flag"),
    GlyphStyle("plate_bold", aspect=0.50, pen=0.17, squareness=2.4, one="base"),
    GlyphStyle("plate_narrow", aspect=0.40, pen=0.12, squareness=2.6, one="bar"),
    GlyphStyle("plate_old", aspect=0.46, pen=0.14, squareness=2.0, one="flag", flat_three=True),
    GlyphStyle("plate_wide", aspect=0.54, pen=0.12, squareness=2.3, one="base"),
    GlyphStyle(
        "impact",
        aspect=0.50,
        pen=0.165,
        squareness=4.5,
        one="flag",
        narrow_one=False,
        open_four=True,
    ),
    GlyphStyle("impact_light", aspect=0.46, pen=0.15, squareness=3.5, one="base", open_four=True),
    GlyphStyle("aileron", kind="aileron", aspect=0.52, pen=0.0),
    GlyphStyle("aileron_bold", kind="aileron", aspect=0.5, pen=0.022),
    # DIN-like tabular lettering, the commonest face on LPA crops: round, even strokes and
    # every digit in the same cell, so a 1 stands alone in a full-width space.
    GlyphStyle("din", aspect=0.5, pen=0.135, squareness=2.0, one="flag", narrow_one=False),
    GlyphStyle("din_bold", aspect=0.52, pen=0.165, squareness=2.1, one="flag", narrow_one=False),
    GlyphStyle("din_serif_one", aspect=0.5, pen=0.14, squareness=2.0, one="bar"),
)
STYLE_NAMES = tuple(s.name for s in STYLES)
# Plate lettering dominates real plates; the other faces add variety, not the bulk.
_WEIGHTS = (0.2, 0.16, 0.1, 0.1, 0.08, 0.12, 0.08, 0.08, 0.08, 0.0, 0.0, 0.0)
STYLE_WEIGHTS = dict(zip(STYLE_NAMES, _WEIGHTS, strict=True))


def _arc(cx, cy, rx, ry, a0, a1, n, steps=24):
    """Points on a superellipse arc from angle a0 to a1 (degrees, y down, 270 = top)."""
    t = np.radians(np.linspace(a0, a1, steps))
    c, s = np.cos(t), np.sin(t)
    e = 2.0 / n
    return np.stack(
        [cx + rx * np.sign(c) * np.abs(c) ** e, cy + ry * np.sign(s) * np.abs(s) ** e], 1
    )


def _line(*points):
    return np.array(points, dtype=np.float64)


def skeleton(digit: str, style: GlyphStyle) -> list[np.ndarray]:
    """Pen paths of a digit in the unit box (x right, y down), as polylines."""
    n = style.squareness
    if digit == "0":
        top, bottom = _arc(0.5, 0.3, 0.5, 0.3, 180, 360, n), _arc(0.5, 0.7, 0.5, 0.3, 0, 180, n)
        return [np.vstack([top, bottom, top[:1]])]
    if digit == "1":
        paths = [_line((0.12, 0.24), (0.62, 0.0), (0.62, 1.0))]
        if style.one in ("base", "bar"):
            paths.append(_line((0.2, 1.0), (1.0, 1.0)))
        if style.one == "bar":
            paths = [_line((0.15, 0.0), (0.62, 0.0), (0.62, 1.0)), paths[1]]
        if style.one == "serif":  # an I: many real plates print the 1 this way
            paths = [_line((0.5, 0.0), (0.5, 1.0)), _line((0.2, 0.0), (0.8, 0.0))]
            paths.append(_line((0.1, 1.0), (0.9, 1.0)))
        return paths
    if digit == "2":
        return [np.vstack([_arc(0.5, 0.27, 0.5, 0.27, 195, 380, n), _line((0.0, 1.0), (1.0, 1.0))])]
    if digit == "3":
        bottom = _arc(0.5, 0.73, 0.5, 0.27, 270, 515, n)
        if style.flat_three:
            return [np.vstack([_line((0.05, 0.0), (0.95, 0.0), (0.42, 0.44)), bottom])]
        return [np.vstack([_arc(0.5, 0.24, 0.45, 0.24, 200, 450, n), bottom])]
    if digit == "4" and style.open_four:
        return [_line((0.1, 0.0), (0.0, 0.7), (1.0, 0.7)), _line((0.8, 0.32), (0.8, 1.0))]
    if digit == "4":  # the diagonal first: it is drawn with a thinner pen
        return [_line((0.8, 0.0), (0.0, 0.72), (1.0, 0.72)), _line((0.8, 0.0), (0.8, 1.0))]
    if digit == "5":
        bowl = _arc(0.5, 0.66, 0.5, 0.34, 215, 520, n)
        return [np.vstack([_line((0.95, 0.0), (0.12, 0.0), (0.07, 0.47)), bowl])]
    if digit == "6" and style.straight_six:
        bowl = _arc(0.5, 0.68, 0.5, 0.32, 200, 560, n)
        return [np.vstack([_line((0.78, 0.0)), bowl])]
    if digit == "6":
        bowl = _arc(0.5, 0.68, 0.5, 0.32, 180, 540, n)
        hook = _arc(0.5, 0.32, 0.5, 0.32, style.six_hook, 180, n)
        return [np.vstack([hook, _line((0.0, 0.68)), bowl])]
    if digit == "7" and style.bent_seven:
        t = np.linspace(0.0, 1.0, 16)[:, None]  # a quadratic Bezier from the bar's end
        stem = (1 - t) ** 2 * [1.0, 0.0] + 2 * t * (1 - t) * [0.42, 0.5] + t**2 * [0.4, 1.0]
        return [np.vstack([_line((0.0, 0.0)), stem])]
    if digit == "7":
        return [_line((0.0, 0.0), (1.0, 0.0), (0.32, 1.0))]
    if digit == "8":
        return [_arc(0.5, 0.24, 0.43, 0.24, 0, 360, n), _arc(0.5, 0.73, 0.5, 0.27, 0, 360, n)]
    if digit == "9":
        return [1.0 - p for p in skeleton("6", style)]
    raise ValueError(f"no glyph for {digit!r}")


def _stroke_glyph(digit: str, style: GlyphStyle, height: int) -> np.ndarray:
    """Stroke the skeleton with a round pen at 4x, then area-downsample for smooth edges."""
    pen = style.pen * height
    width = style.aspect * height
    if digit == "1" and style.narrow_one and style.one == "flag":
        width *= 0.75
    big = _SUPERSAMPLE
    canvas = np.zeros((height * big, int(np.ceil(width)) * big), np.uint8)
    inner_w, inner_h = width - pen, height - pen
    paths = skeleton(digit, style)
    if style.deform:
        paths = _deformed(paths, style.deform, (style.deform_seed, ord(digit)))
    for k, path in enumerate(paths):
        pts = (path * [inner_w, inner_h] + pen / 2) * big
        # A condensed closed 4 keeps an open counter only if its diagonal is lighter,
        # as in real plate lettering.
        weight = 0.6 if digit == "4" and k == 0 and not style.open_four else 1.0
        cv2.polylines(
            canvas,
            [np.round(pts * 16).astype(np.int32)],
            False,
            255,
            thickness=max(1, round(pen * weight * big)),
            lineType=cv2.LINE_AA,
            shift=4,
        )
    return cv2.resize(canvas, (canvas.shape[1] // big, height), interpolation=cv2.INTER_AREA)


def _deformed(paths: list[np.ndarray], amount: float, seed) -> list[np.ndarray]:
    """The paths under a smooth random warp of the unit box that leaves its edges in place."""
    a = amount * (2 * np.random.default_rng(seed).random(4) - 1) / 2
    moved = []
    for path in paths:
        sx, sy = np.sin(np.pi * path[:, 0]), np.sin(np.pi * path[:, 1])
        dx = sx * (a[0] * sy + a[1] * np.sin(2 * np.pi * path[:, 1]))
        dy = sy * (a[2] * sx + a[3] * np.sin(2 * np.pi * path[:, 0]))
        moved.append(path + np.stack([dx, dy], 1))
    return moved


def _tight(mask: np.ndarray) -> np.ndarray:
    cols = np.flatnonzero(mask.max(0) > 8)
    rows = np.flatnonzero(mask.max(1) > 8)
    return mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _font_glyph(digit: str, style: GlyphStyle, height: int) -> np.ndarray:
    """A digit from Pillow's Aileron, cropped tight, then condensed to the style's aspect."""
    from PIL import Image, ImageDraw

    big = height * _SUPERSAMPLE
    image = Image.new("L", (big * 2, big * 2), 0)
    ImageDraw.Draw(image).text(
        (big // 2, big // 4),
        digit,
        fill=255,
        font=_aileron(big),
        stroke_width=round(style.pen * big),
        stroke_fill=255,
    )
    mask = _tight(np.asarray(image))
    width = style.aspect * height * (0.7 if digit == "1" else 1.0)
    # The shipped faces are wider than plate lettering; condensing them is what plates do.
    return cv2.resize(mask, (max(2, round(width)), height), interpolation=cv2.INTER_AREA)


def _aileron(size: int):
    """Pillow's embedded Aileron; it needs FreeType, and without it we refuse to guess."""
    from PIL import ImageFont

    font = ImageFont.load_default(size)
    if not isinstance(font, ImageFont.FreeTypeFont):
        raise RuntimeError(
            "Pillow was built without FreeType: the 'aileron' glyph style is unavailable"
        )
    return font


def _cut(style: GlyphStyle, cut: int, jitter: float, deform: float = 0.0) -> GlyphStyle:
    """Cut ``cut`` of ``style``: the same scales every time, so its glyphs stay cacheable.

    A pen heavier than a third of the glyph width fills the counters (8 and 6 turn into
    blobs), so the pen is capped there; the fonts keep their own stroke."""
    if not cut:
        return style
    scales = np.random.default_rng([STYLE_NAMES.index(style.name), cut]).random(4)
    pen, aspect, square = (1 + jitter * (2 * scales[:3] - 1)).tolist()
    hook = style.six_hook + (HOOK_SWING * (2 * scales[3] - 1) if deform else 0.0)
    aspect *= style.aspect
    pen = min(style.pen * pen, MAX_PEN_PER_WIDTH * aspect) if style.kind == "stroke" else style.pen
    return replace(
        style,
        pen=pen,
        aspect=aspect,
        squareness=max(1.6, style.squareness * square),
        deform=deform,
        deform_seed=STYLE_NAMES.index(style.name) * CUTS + cut,
        six_hook=hook,
    )


def _italicise(mask: np.ndarray, slant: float) -> np.ndarray:
    """Shear right by ``slant`` (dx per dy), keeping the baseline where it was."""
    h, w = mask.shape
    extra = int(np.ceil(slant * h))
    matrix = np.array([[1.0, -slant, slant * (h - 1)], [0.0, 1.0, 0.0]])
    return cv2.warpAffine(mask, matrix, (w + extra, h), flags=cv2.INTER_LINEAR)


@cache
def glyph_set(
    style_name: str,
    italic: bool = False,
    height: int = GLYPH_HEIGHT,
    serif_one: bool = False,
    straight_six: bool = False,
    bent_seven: bool = False,
    cut: int = 0,
    jitter: float = 0.0,
    deform: float = 0.0,
) -> tuple[np.ndarray, ...]:
    """The ten digit masks (uint8 alpha, ``height`` tall) of one style, built once per process.

    ``serif_one`` draws the 1 as a serifed I, in the style's pen (any style: plates mix them).
    ``straight_six`` and ``bent_seven`` change a stroked style's 6, 9 and 7 (GlyphStyle).
    ``cut`` (0 to CUTS - 1) picks a fixed variation of the style whose pen, width and
    squareness are scaled by up to ``jitter`` (relative): real plates are cut by many
    makers, and no two set the same face. ``deform`` also warps a cut's stroked skeletons
    (GlyphStyle.deform). Cut 0, or no jitter and no deform, is the style as named.
    Each set is assembled from glyphs drawn once each: a variant redraws only its digits.
    """
    stroked = STYLES[STYLE_NAMES.index(style_name)].kind == "stroke"  # fonts keep their own
    six, seven = straight_six and stroked, bent_seven and stroked
    variant = {"1": serif_one, "6": six, "9": six, "7": seven}
    cut, jitter, deform = (cut, jitter, deform) if cut and (jitter or deform) else (0, 0.0, 0.0)
    return tuple(
        _glyph(style_name, d, height, italic, variant.get(d, False), cut, jitter, deform)
        for d in "0123456789"
    )


@cache
def _glyph(
    style_name: str,
    digit: str,
    height: int,
    italic: bool,
    variant: bool,
    cut: int,
    jitter: float,
    deform: float,
) -> np.ndarray:
    """One digit mask; ``variant`` is the digit's alternative shape (see ``glyph_set``)."""
    style = _cut(STYLES[STYLE_NAMES.index(style_name)], cut, jitter, deform)
    if variant and digit == "1":
        pen = style.pen if style.kind == "stroke" else 0.14
        style = replace(style, kind="stroke", one="serif", pen=pen, aspect=0.42)
    elif variant:
        style = replace(style, straight_six=True, bent_seven=True)
    draw = _stroke_glyph if style.kind == "stroke" else _font_glyph
    mask = draw(digit, style, height)
    if italic:
        mask = _italicise(mask, 0.2)
    mask.flags.writeable = False
    return mask
