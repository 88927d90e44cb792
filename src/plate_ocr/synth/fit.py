"""Fit the generator to a user's own crops: ``plate-ocr synth --fit REAL_DIR``.

``fit_factors(folder)`` reads every crop of a real folder (all splits pooled) and estimates
the ``Factors`` that crops measure honestly:

- ``native_height``, ``crop_aspect``: p5-p95 of the crops' pixel heights and of width / height.
  The renderer draws between the bounds (height log-uniform, aspect uniform), so the ends
  come up more often than in the peaked real spread.
- ``p_yellow``: the share of crops whose plate is yellow. A plate is yellow when a quarter or
  more of the bright pixels (above Otsu) in the crop's middle band are saturated yellow-orange:
  counting those pixels, rather than taking their median colour, keeps an over-exposed yellow
  plate (white centre, yellow rim) yellow and a white plate in warm light white.
- ``rotation_deg``: the standard deviation of the normal with the same p10-p90 as the tilt of
  the text line (``image_stats.measure`` on the crop at height 64, its own aspect, so degrees
  are true degrees); robust to the odd mis-measured crop. The renderer clips tilt at 8 degrees.
- ``form_weights``, ``wilaya_weights``: per distinct plate (a plate cropped five times counts
  once), the share of 11-, 10-, 9-digit and temporary numbers, and of each wilaya. 5 % of the
  wilaya weight is spread over every wilaya, so that one absent from the folder still appears.

Not estimated: ``brightness``, ``contrast`` and ``gamma`` are gains on the rendered scene,
whose own level depends on the plate colour, the car, fading and lighting, so no crop
statistic maps onto them (``benchmarks/aug_stats.py`` compares the resulting images
instead); nor blur, noise and JPEG, the plate furniture (border, red box, bands, screws,
frame) or the vehicle class and year digits.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from plate_ocr.data.folder import find_splits
from plate_ocr.data.image_stats import measure
from plate_ocr.data.images import read_rgb
from plate_ocr.data.real_split import plate_key
from plate_ocr.errors import UserError
from plate_ocr.plates import WILAYAS, is_temporary
from plate_ocr.synth.factors import DEFAULT_FACTORS, Factors

log = logging.getLogger(__name__)

MEASURE_HEIGHT = 64  # colour and tilt are measured on the crop resized to this height
YELLOW_SHARE = 0.25  # of the bright pixels, saturated yellow-orange: a yellow plate
WILAYA_SPREAD = 0.05  # of the wilaya weight, spread evenly over every wilaya
MIN_TILTS = 20  # fewer crops with a measurable text line leave rotation_deg as it is
FORMS = tuple(form for form, _ in DEFAULT_FACTORS.plate_sampler.forms)
_NORMAL_P10_P90 = 2.563  # p90 - p10 of a standard normal


@dataclass(frozen=True)
class FittedFactors:
    """What ``fit_factors`` estimated: some ``Factors`` fields, and how each was measured."""

    folder: Path
    crops: int
    plates: int  # distinct plate numbers
    values: dict[str, object]  # Factors field -> fitted value, only the fields estimated
    sources: dict[str, str]  # Factors field -> what it was measured from

    @property
    def factors(self) -> Factors:
        return replace(DEFAULT_FACTORS, **self.values)

    def to_yaml(self, usage: str) -> str:
        """The fitted fields as a Hydra config of ``Factors``, each under a comment saying
        what it was measured from; ``usage`` (see ``usage``) ends the header."""
        lines = [
            f"# Fitted by `plate-ocr synth --fit {self.folder}`: {self.crops:,} crops of "
            f"{self.plates:,} plates.",
            "# Keys not here keep the defaults of plate_ocr.synth.Factors.",
            f"# {usage}",
            "_target_: plate_ocr.synth.Factors",
            "_convert_: all",
        ]
        for name, value in self.values.items():
            lines += [f"# {self.sources[name]}", f"{name}: {_yaml(value)}"]
        return "\n".join(lines) + "\n"

    def table(self) -> str:
        """Fitted against default values, one row per fitted field."""
        rows = [("factor", "fitted", "default")]
        for name, value in self.values.items():
            rows.append((name, _show(value), _show(_default(name))))
        width = [max(len(row[i]) for row in rows) for i in range(2)]
        return "\n".join(f"{a:<{width[0]}}  {b:<{width[1]}}  {c}".rstrip() for a, b, c in rows)


def usage(path: Path) -> str:
    """How to train with a fitted file written to ``path``."""
    if path.parent.name == "synthetic_factors" and path.parent.parent.name == "data":
        return f"Use it: python train.py data/synthetic_factors={path.stem}"
    return (
        "Use it: copy it to conf/data/synthetic_factors/NAME.yaml, then "
        "python train.py data/synthetic_factors=NAME"
    )


def is_yellow(image: np.ndarray) -> bool:
    """Whether the plate of an RGB crop is yellow (see the module docstring)."""
    h, w = image.shape[:2]
    band = np.ascontiguousarray(image[h // 4 : h - h // 4, w // 10 : w - w // 10])
    gray = cv2.cvtColor(band, cv2.COLOR_RGB2GRAY)
    level = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[0]
    hue, saturation, _ = cv2.cvtColor(band, cv2.COLOR_RGB2HSV)[gray > level].T
    if not len(hue):
        return False
    # OpenCV hue is degrees / 2: 20-80 degrees is orange to yellow; saturation >= 0.35
    yellow = (hue >= 10) & (hue <= 40) & (saturation >= 90)
    return bool(yellow.mean() >= YELLOW_SHARE)


def plate_form(label: str) -> str:
    """The PlateSampler form of a plate number: "11", "10", "9" or "temporary"."""
    return "temporary" if is_temporary(label) else str(len(label))


def fit_factors(folder: str | Path, skip_bad: bool = False) -> FittedFactors:
    """Estimate the generator's distributions from the crops in ``folder`` (any layout
    ``find_splits`` reads, all splits pooled). Bad input raises a UserError, unless
    ``skip_bad`` drops bad files with a counted warning."""
    folder = Path(folder)
    samples = [s for split in find_splits(folder, skip_bad=skip_bad).values() for s in split]
    crops = _measure(samples, skip_bad)
    if not crops:
        raise UserError(f"data folder {folder} has no readable crops to fit to")
    plates, numbers = _plate_numbers([crop["label"] for crop in crops])
    fitted = _look(crops) | numbers
    values = {name: value for name, (value, _) in fitted.items()}
    sources = {name: source for name, (_, source) in fitted.items()}
    return FittedFactors(folder, len(crops), plates, values, sources)


def _measure(samples: list[tuple[Path, str]], skip_bad: bool) -> list[dict]:
    """Per readable crop: its label, native height and aspect, plate colour and text tilt."""
    from tqdm.auto import tqdm

    crops, unreadable = [], []
    for path, label in tqdm(samples, desc="measuring crops", unit="crop", leave=False):
        try:
            image = read_rgb(path)
        except UserError as error:
            if not skip_bad:
                raise
            unreadable.append(str(error))
            continue
        h, w = image.shape[:2]
        small = cv2.resize(
            image,
            (max(1, round(w * MEASURE_HEIGHT / h)), MEASURE_HEIGHT),
            interpolation=cv2.INTER_AREA if h > MEASURE_HEIGHT else cv2.INTER_LINEAR,
        )
        yellow, tilt = is_yellow(small), measure(small)["tilt"]
        crops.append({"label": label, "height": h, "aspect": w / h, "yellow": yellow, "tilt": tilt})
    if unreadable:
        log.warning("skipping %d unreadable image(s): %s", len(unreadable), unreadable[0])
    return crops


def _look(crops: list[dict]) -> dict[str, tuple[object, str]]:
    """Factors field -> (fitted value, what it was measured from), for the look of a crop."""
    n = len(crops)
    heights = np.percentile([crop["height"] for crop in crops], (5, 95))
    aspects = np.percentile([crop["aspect"] for crop in crops], (5, 95))
    fitted = {
        "native_height": (
            [round(float(v), 1) for v in heights],
            f"p5-p95 of {n:,} crop heights, px",
        ),
        "crop_aspect": (
            [round(float(v), 2) for v in aspects],
            f"p5-p95 of {n:,} crops' width / height",
        ),
        "p_yellow": (
            round(float(np.mean([crop["yellow"] for crop in crops])), 3),
            f"share of {n:,} crops whose plate is yellow (saturated yellow bright pixels)",
        ),
    }
    tilts = np.array([crop["tilt"] for crop in crops if np.isfinite(crop["tilt"])])
    if len(tilts) < MIN_TILTS:
        log.warning(
            "rotation_deg not fitted: a text line was measured in %d crops, fewer than %d",
            len(tilts),
            MIN_TILTS,
        )
        return fitted
    p10, p90 = np.percentile(tilts, (10, 90))
    fitted["rotation_deg"] = (
        round(float((p90 - p10) / _NORMAL_P10_P90), 2),
        f"normal with the text tilt's p10-p90 ({p10:+.1f} to {p90:+.1f} degrees) in "
        f"{len(tilts):,} of {n:,} crops",
    )
    return fitted


def _plate_numbers(labels: list[str]) -> tuple[int, dict[str, tuple[object, str]]]:
    """The number of distinct plates, and the form and wilaya weights over them (percent)."""
    plates: dict[str, str] = {}  # plate -> its longest label (one may have lost a leading 0)
    for label in labels:
        plates[plate_key(label)] = max(plates.get(plate_key(label), ""), label, key=len)
    n = len(plates)
    forms = Counter(plate_form(label) for label in plates.values())
    wilayas = Counter(int(label[-2:]) for label in plates.values())
    spread = WILAYA_SPREAD / len(WILAYAS)
    return n, {
        "form_weights": (
            {form: round(100 * forms[form] / n, 2) for form in FORMS},
            f"% of {n:,} distinct plates per form (11 = 6+3+2 digits, 10 = 5+3+2, "
            "temporary = 6+00+2, 9 = 4+3+2)",
        ),
        "wilaya_weights": (
            {w: round(100 * ((1 - WILAYA_SPREAD) * wilayas[w] / n + spread), 3) for w in WILAYAS},
            f"% of {n:,} distinct plates per wilaya, {WILAYA_SPREAD:.0%} of the weight spread "
            "evenly so that every wilaya appears",
        ),
    }


def _default(name: str):
    sampler = DEFAULT_FACTORS.plate_sampler
    tables = {"form_weights": sampler.forms, "wilaya_weights": sampler.wilayas}
    if name not in tables:
        return getattr(DEFAULT_FACTORS, name)
    total = sum(weight for _, weight in tables[name])
    return {key: 100 * weight / total for key, weight in tables[name]}


def _show(value) -> str:
    """A value as the table shows it: a range, a number, or the top of a weight table."""
    if isinstance(value, dict):
        top = sorted(value.items(), key=lambda item: -item[1])[:5]
        name = "{:02d}".format if isinstance(top[0][0], int) else str  # wilayas as printed
        return ", ".join(f"{name(key)} {weight:.0f}%" for key, weight in top if weight >= 0.5)
    if isinstance(value, list | tuple):
        return " - ".join(f"{v:g}" for v in value)
    return f"{value:g}"


def _yaml(value) -> str:
    """A value in YAML flow style; a long mapping wrapped, its lines indented."""
    if not isinstance(value, dict):
        return json.dumps(list(value) if isinstance(value, tuple) else value)
    items = [f"{json.dumps(key)}: {weight:g}" for key, weight in value.items()]
    lines, line = [], ""
    for item in items:
        if line and len(line) + len(item) > 90:
            lines.append(line)
            line = ""
        line += ("" if not line else " ") + item + ","
    lines.append(line.rstrip(","))
    return "{" + lines[0] + "}" if len(lines) == 1 else "{\n  " + "\n  ".join(lines) + "\n}"
