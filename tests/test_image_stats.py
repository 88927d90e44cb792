"""Image statistics: blur lowers sharpness, tilt has the right sign, sizes compare."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from plate_ocr.data.image_stats import STATS, measure, summarise, table
from plate_ocr.synth import SyntheticPlates


def _drawn() -> np.ndarray:
    """A clean yellow plate (560x120) with black digits in a 600x160 crop."""
    image = np.full((160, 600, 3), (40, 40, 40), np.uint8)  # dark surroundings
    cv2.rectangle(image, (20, 20), (580, 140), (240, 200, 30), cv2.FILLED)
    cv2.putText(image, "12345 678 90", (45, 115), cv2.FONT_HERSHEY_SIMPLEX, 2.6, (0, 0, 0), 9)
    return image


def _plate(size: tuple[int, int] = (32, 128)) -> np.ndarray:
    return cv2.resize(_drawn(), (size[1], size[0]), interpolation=cv2.INTER_AREA)


def _rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)


@pytest.mark.parametrize("source", ["drawn", "synthetic"])
def test_sharpness_falls_with_blur(source):
    plate = (
        _plate() if source == "drawn" else SyntheticPlates(1, seed=0, image_size=(32, 128))[0][0]
    )
    values = [measure(plate)["sharpness"]]
    values += [measure(cv2.GaussianBlur(plate, (0, 0), s))["sharpness"] for s in (0.7, 1.2, 2, 3)]
    assert all(a > b for a, b in zip(values, values[1:], strict=False)), values


def test_sharpness_compares_across_input_sizes():
    small, large = measure(_plate((32, 128)))["sharpness"], measure(_plate((64, 200)))["sharpness"]
    assert 1 / 1.5 < small / large < 1.5, (small, large)


def test_sharpness_ignores_brightness_and_contrast():
    plate = _plate().astype(np.float32)
    dim = (plate * 0.4 + 30).astype(np.uint8)
    assert measure(dim)["sharpness"] == pytest.approx(measure(_plate())["sharpness"], rel=0.15)


def test_constant_image():
    stats = measure(np.full((32, 128, 3), 102, np.uint8))
    assert stats["contrast"] == 0
    assert stats["brightness"] == pytest.approx(102 / 255)
    assert all(math.isnan(stats[name]) for name in ("tilt", "text_height", "plate_fraction"))


def test_tilt_sign_and_text_measures():
    plate = _plate()
    level, turned = measure(plate), measure(_rotate(plate, 5))
    assert abs(level["tilt"]) < 1
    assert turned["tilt"] - level["tilt"] == pytest.approx(5, abs=2)
    assert measure(_rotate(plate, -5))["tilt"] - level["tilt"] == pytest.approx(-5, abs=2)
    ink_rows = np.flatnonzero((_drawn() == 0).all(axis=2).any(axis=1))
    assert level["text_height"] == pytest.approx((ink_rows[-1] - ink_rows[0] + 1) / 160, abs=0.05)
    assert level["plate_fraction"] == pytest.approx(560 * 120 / (600 * 160), abs=0.05)


def test_noise_has_no_text_line():
    rng = np.random.default_rng(0)
    noise = [rng.normal(128, 40, (32, 128)).clip(0, 255).astype(np.uint8) for _ in range(20)]
    assert sum(math.isfinite(measure(image)["tilt"]) for image in noise) <= 2


def test_summarise_and_table():
    images = [_plate(), cv2.GaussianBlur(_plate(), (0, 0), 1), np.full((32, 128), 200, np.uint8)]
    summary = summarise(images)
    assert set(summary) == set(STATS)
    assert all(set(row) == {"p10", "p50", "p90", "found"} for row in summary.values())
    assert summary["tilt"]["found"] == pytest.approx(2 / 3)
    assert summary["contrast"]["found"] == 1
    assert summary["sharpness"]["p10"] <= summary["sharpness"]["p50"] <= summary["sharpness"]["p90"]
    lines = table({"clean": summary, "again": summary}).splitlines()
    assert len(lines) == 4
    assert all(line.count("|") == len(STATS) + 3 for line in lines)
    assert "sharpness" in lines[0] and lines[2].startswith("| clean |")
