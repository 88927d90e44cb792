"""Per-image statistics of what the model receives, to compare synthetic, augmented and real crops.

Measured on the image at the model input size (already resized to (H, W)): if a preset makes
training images blurrier, darker or more tilted than real crops, these numbers show it. Unit-free
(tilt in degrees), numpy/OpenCV only, about 1 ms at 32x128. The text-line statistics (tilt,
text_height, plate_fraction) are NaN when no line of 4+ digit-like blobs is found.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from plate_ocr.data.model_input import resize
from plate_ocr.markdown import table as markdown_table

STATS = ("sharpness", "contrast", "brightness", "tilt", "text_height", "plate_fraction")
SHARPNESS_HEIGHT = 32  # sharpness is measured at this height, so 32x128 and 64x200 compare
INLIER = 0.15  # a blob is on the text line when its centre is this x median height off it...
SHARE = 0.5  # ...and a line needs 4+ blobs and this share of all the digit-like ones
_FORMATS = {"sharpness": "{:.3f}", "tilt": "{:+.1f}"}  # the rest: "{:.2f}"


def sharpness(gray: np.ndarray) -> float:
    """Edge steepness over edge height: about 1 / (edge width in px at height 32).

    The gray image is resized to height 32 (aspect kept). At the strongest 10% of Sobel gradient
    pixels whose 9x9 local range (max - min) is at least a quarter of the image's p95 - p5, the
    median of gradient / local range. A clean one-pixel step gives 0.5, a step blurred by a
    Gaussian of sigma s about 0.4 / s (floor 1/9, the window), at any brightness or contrast.
    NaN for a flat image.
    """
    height, width = gray.shape
    size = (SHARPNESS_HEIGHT, max(1, round(width * SHARPNESS_HEIGHT / height)))
    gray = resize(gray, size).astype(np.float32)
    magnitude = np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1)) / 8
    kernel = np.ones((9, 9), np.uint8)
    local_range = cv2.dilate(gray, kernel) - cv2.erode(gray, kernel)
    low, high = np.percentile(gray, (5, 95))
    edges = (local_range >= max(0.25 * (high - low), 1)) & (
        magnitude >= np.quantile(magnitude, 0.9)
    )
    return float(np.median(magnitude[edges] / local_range[edges])) if edges.any() else float("nan")


def _text_line(gray: np.ndarray, spread: float) -> tuple[np.ndarray, float]:
    """The digit blobs (x, y, w, h, area rows) on the text line, and its angle; NaN if none.

    Dark blobs from a local mean threshold (block H/3, offset 15% of p95 - p5) rather than Otsu,
    which merges digits with shadows, dark frames and each other: a line is found in 85% of
    synthetic and 97% of real crops at 32x128, against 50% and 86% with Otsu. Digit-like: height
    15-90% of H (rotation with fit_output, then the resize, shrinks text below 25%), width
    0.1-1.2 x height, ink 15-95% of the box, height 0.7-1.4 x the median. The line: of those
    through two centres (within 45 degrees of horizontal), the one with the most centres near it
    (RANSAC, exhaustively), refitted by least squares; scattered blobs (noise, texture) rarely
    line up, so they give NaN rather than a made-up angle.
    """
    height = gray.shape[0]
    mean, inverse = cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV
    block, offset = max(3, height // 3 | 1), max(2.0, 0.15 * spread)
    dark = cv2.adaptiveThreshold(gray, 255, mean, inverse, block, offset)
    boxes = cv2.connectedComponentsWithStats(dark, connectivity=4)[2][1:].astype(np.float64)
    w, h, area = boxes[:, 2], boxes[:, 3], boxes[:, 4]
    boxes = boxes[
        (h >= 0.15 * height) & (h <= 0.9 * height) & (w >= 0.1 * h) & (w <= 1.2 * h)
        & (area >= 0.15 * w * h) & (area <= 0.95 * w * h)
    ]  # fmt: skip
    median = np.median(boxes[:, 3]) if len(boxes) else 0.0
    blobs = boxes[(boxes[:, 3] > 0.7 * median) & (boxes[:, 3] < 1.4 * median)]
    if len(blobs) < 4:
        return blobs[:0], float("nan")
    centres = blobs[:, :2] + blobs[:, 2:4] / 2
    first, second = np.triu_indices(len(blobs), 1)
    step = centres[second] - centres[first]  # one candidate line per pair
    step /= np.hypot(*step.T)[:, None] + 1e-9
    apart = centres[None] - centres[first][:, None]  # (pairs, blobs, 2)
    off = np.abs(apart[..., 0] * step[:, None, 1] - apart[..., 1] * step[:, None, 0])
    inliers = (off <= INLIER * median) & (np.abs(step[:, :1]) > np.abs(step[:, 1:]))
    best = inliers[inliers.sum(1).argmax()]
    if best.sum() < max(4, SHARE * len(blobs)):
        return blobs[:0], float("nan")
    slope = np.polyfit(centres[best, 0], centres[best, 1], 1)[0]
    return blobs[best], float(-np.degrees(np.arctan(slope)))


def _plate_fraction(image: np.ndarray, gray: np.ndarray, blobs: np.ndarray) -> float:
    """Area inside the outer contour of the plate-coloured region around the digits / crop area.

    Plate and ink colours: the medians of the pixels above and below Otsu in the text band (the
    digit boxes' bounding box). Plate-coloured: nearer the plate colour than half the plate-ink
    distance; the digit boxes count as plate. Touching surroundings of the plate's colour (a
    white car behind a white plate) count too. NaN if the band has no two tones.
    """
    (x0, y0), (x1, y1) = blobs[:, :2].min(0), (blobs[:, :2] + blobs[:, 2:4]).max(0)
    pixels = image.reshape(*gray.shape, -1).astype(np.float32)
    inside = np.s_[int(y0) : int(y1), int(x0) : int(x1)]
    band, band_gray = pixels[inside], gray[inside]
    level = cv2.threshold(band_gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[0]
    light, dark = band[band_gray > level], band[band_gray <= level]
    if not len(light) or not len(dark):
        return float("nan")
    plate, ink = np.median(light, 0), np.median(dark, 0)
    near = np.linalg.norm(pixels - plate, axis=2) < 0.5 * np.linalg.norm(plate - ink)
    mask = near.astype(np.uint8)
    for x, y, w, h, _ in blobs.astype(int):
        mask[y : y + h, x : x + w] = 1
    labels = cv2.connectedComponents(mask, connectivity=8)[1]
    centres = (blobs[:, :2] + blobs[:, 2:4] / 2).astype(int)
    region = labels == np.bincount(labels[centres[:, 1], centres[:, 0]]).argmax()
    outline = cv2.findContours(region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return float(cv2.drawContours(np.zeros_like(mask), outline[0], -1, 1, cv2.FILLED).mean())


def measure(image: np.ndarray) -> dict[str, float]:
    """The STATS of one RGB or gray uint8 image, as the model sees it.

    contrast: (p95 - p5) of the gray levels / 255; brightness: mean gray / 255; tilt: degrees of
    the line through the digit blobs' box centres, in this image's pixel grid, positive
    counter-clockwise (text rising to the right, as cv2.getRotationMatrix2D(+angle));
    text_height: median digit-blob height / H; plate_fraction: see _plate_fraction.
    """
    image = np.asarray(image)
    image = image if image.dtype == np.uint8 else np.clip(image, 0, 255).astype(np.uint8)
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    low, high = np.percentile(gray, (5, 95))
    stats = dict.fromkeys(STATS, float("nan")) | {"sharpness": sharpness(gray)}
    stats.update(contrast=(high - low) / 255, brightness=gray.mean() / 255)
    blobs, stats["tilt"] = _text_line(gray, float(high - low))
    if len(blobs):
        stats["text_height"] = np.median(blobs[:, 3]) / gray.shape[0]
        stats["plate_fraction"] = _plate_fraction(image, gray, blobs)
    return {name: float(value) for name, value in stats.items()}


def summarise(images: Iterable[np.ndarray]) -> dict[str, dict[str, float]]:
    """Per statistic: p10, p50, p90 over the images where it was found, and the fraction found."""
    measured = [measure(image) for image in images]
    summary = {}
    for name in STATS:
        values = np.array([m[name] for m in measured], dtype=np.float64)
        found = values[np.isfinite(values)]
        p10, p50, p90 = np.percentile(found, (10, 50, 90)) if len(found) else (np.nan,) * 3
        share = len(found) / len(values) if len(values) else float("nan")
        summary[name] = {"p10": float(p10), "p50": float(p50), "p90": float(p90), "found": share}
    return summary


def table(rows: dict[str, dict[str, dict[str, float]]]) -> str:
    """A markdown table, one row per name (a summarise() result): cells "p10 / p50 / p90"."""
    formats = [_FORMATS.get(stat, "{:.2f}") for stat in STATS]
    lines = [
        [name]
        + [
            " / ".join(f.format(summary[s][p]) for p in ("p10", "p50", "p90"))
            for s, f in zip(STATS, formats, strict=True)
        ]
        + [f"{summary['tilt']['found']:.0%}"]
        for name, summary in rows.items()
    ]
    return "\n".join(markdown_table(["p10 / p50 / p90", *STATS, "text found"], lines))
