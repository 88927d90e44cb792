"""The distributions the renderer samples each plate from, in one place.

Every factor seen on real Algerian crops has a knob here, so a user can skew the generator
(all yellow, no red box, heavy blur, only their wilaya) without touching drawing code.
Probabilities are per plate; ranges are uniform unless named otherwise. ``plate-ocr synth
--fit REAL_DIR`` estimates several of them from a folder of real crops (``synth/fit.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from plate_ocr.errors import UserError
from plate_ocr.plates import WILAYAS, PlateSampler
from plate_ocr.synth.glyphs import STYLE_NAMES, STYLE_WEIGHTS

# Past these a glyph loses its shape: a pen or width scaled by 1 - 0.5 is half the style's,
# and a warp of 0.2 of the box moves a bowl across a counter.
MAX_GLYPH_JITTER, MAX_GLYPH_DEFORM = 0.5, 0.2


@dataclass(frozen=True)
class Factors:
    # plate face
    p_yellow: float = 0.5  # rear plates are yellow, front plates white
    p_italic: float = 0.15  # LPA crops: about one in six leans
    p_border: float = 0.7  # thin ink border inset from the plate edge
    p_red_box: float = 0.3  # a small red box with a date at the right end, any plate colour
    p_flag_band: float = 0.15  # on white plates: a blue band with a flag at the left end
    p_eu_band: float = 0.06  # a blue band with small digits at the right end (imported plates)
    p_dash: float = 0.06  # groups separated by dashes instead of spaces
    p_dot: float = 0.15  # groups separated by a dot or screw head
    p_colon: float = 0.06  # groups separated by two stacked dots
    p_ring: float = 0.04  # groups separated by a raised ring over a bar, as in º
    p_mixed_separators: float = 0.3  # the second gap drawn afresh (as in 00534º196-01)
    p_serif_one: float = 0.15  # every 1 on the plate printed as a serifed I
    # French plate lettering (zero-shot models read its 6 as 8 or 5, its 9 as 3 or 5, its 7
    # as 2 or 1): 6 and 9 joined to their bowl by a straight diagonal; a 7 bent upright
    # each plate's face: pen, width and squareness scaled by up to this much (relative), in
    # one of glyphs.CUTS fixed cuts per style: no two plate makers cut the same face
    glyph_jitter: float = 0.25
    glyph_deform: float = 0.1  # and each cut's strokes warped by up to this (box fraction)
    p_straight_six: float = 0.4
    p_bent_seven: float = 0.3
    p_dz_band: float = 0.1  # a plate-coloured band at the left end with DZ over an emblem
    # first/last digit to the plate end / plate height: real digits often nearly touch it
    text_margin: tuple[float, float] = (0.06, 0.35)
    p_screws: float = 0.3
    p_frame: float = 0.4  # a plastic holder around the plate, often with dealer text
    p_dealer_text: float = 0.6  # given a frame
    # given a frame: its lip shades a thin dark line along the plate's edge, which real crops
    # show right beside the first and last digits (zero-shot models read it as a 1)
    p_frame_lip: float = 0.6
    text_height: tuple[float, float] = (0.6, 0.8)  # digit height / plate height
    plate_aspect: tuple[float, float] = (4.0, 5.0)  # plate width / height
    fade: tuple[float, float] = (0.0, 0.45)  # how far sun and age wash colours out
    p_dirt: float = 0.35
    p_glare: float = 0.25
    # camera
    # The crop as the detector cut it, before any resize (LPA crops: height 40-113 px p5-p95,
    # median 62; width / height 1.6-4.4, median 3.2). Log-uniform height; resizing to the
    # model's aspect then stretches the plate as it stretches real crops.
    native_height: tuple[float, float] = (38.0, 120.0)  # px
    crop_aspect: tuple[float, float] = (2.2, 4.3)  # width / height
    plate_width: tuple[float, float] = (0.75, 1.0)  # plate width / crop width
    rotation_deg: float = 3.2  # standard deviation (real crops: p10-p90 about -4 to +5 degrees)
    perspective: float = 0.04  # corner jitter, fraction of plate height
    brightness: tuple[float, float] = (0.6, 1.35)
    contrast: tuple[float, float] = (0.75, 1.25)
    gamma: tuple[float, float] = (0.75, 1.35)
    p_uneven_light: float = 0.4
    p_shadow: float = 0.2
    blur_sigma: tuple[float, float] = (0.0, 1.4)  # at native resolution
    p_motion_blur: float = 0.1
    noise_sigma: tuple[float, float] = (0.0, 0.04)
    p_jpeg: float = 0.4
    jpeg_quality: tuple[int, int] = (25, 90)
    # glyph style name (synth/glyphs.py STYLE_NAMES) -> weight; None keeps STYLE_WEIGHTS
    style_weights: dict[str, float] | None = None
    # plate number: weight tables for PlateSampler (normalised there); None keeps its defaults
    form_weights: dict[str, float] | None = None  # "11", "10", "temporary", "9" -> weight
    wilaya_weights: dict[int, float] | None = None  # wilaya -> weight; a missing one never shows

    def __post_init__(self) -> None:
        # A bad setting fails where the factors are made, in one line, not in a loader worker.
        for name, most in (("glyph_jitter", MAX_GLYPH_JITTER), ("glyph_deform", MAX_GLYPH_DEFORM)):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 <= value <= most:
                raise UserError(f"Factors.{name}={value!r}: use a number from 0 to {most}")
        self.plate_sampler, self.style_cdf  # noqa: B018

    @cached_property
    def plate_sampler(self) -> PlateSampler:
        """The sampler of plate numbers these factors ask for (built once per instance)."""
        default = PlateSampler()
        forms = _weights("form_weights", self.form_weights, str, dict(default.forms))
        wilayas = _weights("wilaya_weights", self.wilaya_weights, int, WILAYAS)
        return PlateSampler(forms=forms or default.forms, wilayas=wilayas or default.wilayas)

    @cached_property
    def style_cdf(self) -> np.ndarray:
        """Cumulative weights over STYLE_NAMES, for ``pick`` (built once per instance)."""
        table = dict(_weights("style_weights", self.style_weights, str, STYLE_NAMES) or ())
        weights = np.array([table.get(n, 0.0) if table else STYLE_WEIGHTS[n] for n in STYLE_NAMES])
        return np.cumsum(weights) / weights.sum()

    @cached_property
    def separator_cuts(self) -> list[float]:
        """Cumulative chances of a dash, dot, colon and ring between two groups (past the
        last: a space), built once: a plate draws its separators two or three times."""
        return np.cumsum([self.p_dash, self.p_dot, self.p_colon, self.p_ring]).tolist()


def _weights(name: str, weights, key, known) -> tuple | None:
    """A weight table as PlateSampler takes it ((key, weight) pairs), checked; None stays None."""
    if weights is None:
        return None
    try:
        table = {key(k): float(v) for k, v in weights.items()}
        usable = all(k in known for k in table) and min(table.values()) >= 0
        usable = usable and sum(table.values()) > 0
    except (AttributeError, TypeError, ValueError):  # not a mapping, or keys or weights not numbers
        usable = False
    if not usable:
        keys = ", ".join(map(str, known)) if key is str else f"01-{known[-1]:02d}"
        raise UserError(
            f"Factors.{name}={weights!r}: give a mapping of {keys} to non-negative weights, "
            "not all zero"
        )
    return tuple(table.items())


DEFAULT_FACTORS = Factors()


def uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return bounds[0] + (bounds[1] - bounds[0]) * rng.random()


def ramp(start: float, stop: float, n: int) -> np.ndarray:
    """``np.linspace(start, stop, n, dtype=np.float32)``, the same values without its
    checks: a plate draws a few short ramps, and linspace's checks cost more than they."""
    y = np.arange(n, dtype=np.float64)
    if n > 1:
        y *= (stop - start) / (n - 1)
    y += start
    if n > 1:
        y[-1] = stop
    return y.astype(np.float32)
