import warnings

import cv2
import numpy as np
import pytest

from plate_ocr.data.augment import STRENGTHS, build_augmentation
from plate_ocr.errors import UserError


def _plate(height=53, width=194, seed=0):
    """A yellow plate with dark 'digits' and a red mark in each corner."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), (235, 200, 40), np.uint8)
    for x in range(12, width - 12, width // 12):
        image[height // 4 : 3 * height // 4, x : x + 3] = rng.integers(0, 40)
    mark_h, mark_w = height // 6, width // 12
    for top in (0, height - mark_h):
        for left in (0, width - mark_w):
            image[top : top + mark_h, left : left + mark_w] = (230, 0, 0)
    return image


def _augment(strength, image, n, seed=0, image_size=(64, 200)):
    pipeline = build_augmentation(strength, image_size)
    pipeline.set_random_seed(seed)
    return [pipeline(image=image)["image"] for _ in range(n)]


def test_no_albumentations_warnings_when_building_or_applying():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for strength in STRENGTHS:
            _augment(strength, _plate(), 20)
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("strength", STRENGTHS)
@pytest.mark.parametrize("shape", [(12, 40), (53, 194), (300, 700)])
def test_any_input_size_gives_image_size(strength, shape):
    for out in _augment(strength, _plate(*shape), 5, image_size=(32, 100)):
        assert out.shape == (32, 100, 3) and out.dtype == np.uint8


def test_none_is_resize_only():
    up, down = _plate(53, 194), _plate(300, 700)
    assert np.array_equal(
        _augment("none", up, 1)[0], cv2.resize(up, (200, 64), interpolation=cv2.INTER_LINEAR)
    )
    assert np.array_equal(
        _augment("none", down, 1)[0], cv2.resize(down, (200, 64), interpolation=cv2.INTER_AREA)
    )


def test_unknown_strength_lists_the_valid_ones():
    with pytest.raises(UserError, match="'strong'.*none.*light.*medium.*heavy"):
        build_augmentation("strong")


def test_strengths_grow_in_how_far_they_move_the_image():
    image = _plate()
    reference = _augment("none", image, 1)[0].astype(np.float32)

    def mean_change(strength):
        outs = _augment(strength, image, 60, seed=1)
        return np.mean([np.abs(out.astype(np.float32) - reference).mean() for out in outs])

    light, medium, heavy = (mean_change(s) for s in ("light", "medium", "heavy"))
    assert 0 < light < medium < heavy
    assert heavy > 1.5 * medium


def test_heavy_keeps_the_whole_plate():
    # a red mark in every corner of the crop must survive in its quadrant: nothing cut off
    for out in _augment("heavy", _plate(), 40, seed=2):
        r, g, b = (out[..., i].astype(int) for i in range(3))
        red = (r > g + 60) & (r > b + 60)
        for rows in (slice(0, 32), slice(32, 64)):
            for cols in (slice(0, 100), slice(100, 200)):
                assert red[rows, cols].sum() >= 5


@pytest.mark.parametrize("image_size", [(32, 128), (64, 200)])
def test_presets_stay_legible_and_relative_to_the_plate(image_size):
    """The stated bounds, the same at both input sizes because the limits are plate-relative:
    the blurriest tenth of a preset's output keeps 75 % of the sharpness, and the flattest
    tenth 60 % of the contrast, of the crops it starts from (the old pixel-sized heavy blur
    fell far below at 32x128)."""
    from plate_ocr.data.image_stats import summarise
    from plate_ocr.synth import SyntheticPlates

    plates = SyntheticPlates(200, 3, (64, 200))  # p10 of 100 moved by 0.02 between seeds
    crops = [plates[i][0] for i in range(len(plates))]

    def medians(strength, size):
        stats = summarise(_augment_all(strength, crops, size))
        return stats["sharpness"]["p10"], stats["contrast"]["p10"]

    sharp0, contrast0 = medians("none", image_size)
    for strength in ("light", "medium", "heavy"):
        sharp, contrast = medians(strength, image_size)
        assert sharp >= 0.75 * sharp0, (strength, sharp, sharp0)
        assert contrast >= 0.6 * contrast0, (strength, contrast, contrast0)


def _augment_all(strength, crops, image_size, seed=0):
    pipeline = build_augmentation(strength, image_size)
    pipeline.set_random_seed(seed)
    return [pipeline(image=crop)["image"] for crop in crops]
