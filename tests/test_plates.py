import collections

import numpy as np
import pytest

from plate_ocr.plates import (
    PlateSampler,
    display_form,
    is_temporary,
    is_valid_plate,
    normalize_label,
    plate_problem,
    sample_plate,
)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("123456 116 16", "12345611616"),
        ("07300-111-07", "0730011107"),
        (" 1503.110.16 ", "150311016"),
        ("12345611616", "12345611616"),
    ],
)
def test_normalize_strips_separators(text, label):
    assert normalize_label(text) == label


@pytest.mark.parametrize(
    "label", ["12345611616", "0730011107", "1437940016", "150311016", "00000211601", "1234561165"]
)
def test_valid_plates(label):
    assert is_valid_plate(label), plate_problem(label)


@pytest.mark.parametrize(
    ("label", "reason"),
    [
        ("12345611", "8 digits"),
        ("123456116161", "12 digits"),
        ("1234561160A", "other than digits"),
        ("12345611600", "wilaya 00"),
        ("12345611670", "wilaya 70"),
        ("", "empty"),
        ("１２３４５６１１６１６", "other than digits"),
    ],
)
def test_invalid_plates_say_why(label, reason):
    assert reason in plate_problem(label)


def test_display_form():
    assert display_form("12345611616") == "123456 116 16"
    assert display_form("0730011107") == "07300 111 07"
    assert display_form("1437900016") == "143790 00 16"  # class 0: no vehicle class, temporary
    assert display_form("0071430018") == "00714 300 18"  # a plate of 2000, as crops print it
    assert display_form("150311016") == "1503 110 16"
    assert is_temporary("1437940016") and not is_temporary("0730011107")


def test_sampler_is_deterministic_per_seed():
    first = [sample_plate(np.random.default_rng(7)) for _ in range(3)]
    again = [sample_plate(np.random.default_rng(7)) for _ in range(3)]
    other = PlateSampler().sample_many(np.random.default_rng(8), 3)
    assert first == again and first != other


def test_sampler_statistics():
    labels = PlateSampler().sample_many(np.random.default_rng(0), 5000)
    assert all(is_valid_plate(label) for label in labels)
    lengths = collections.Counter(len(label) for label in labels)
    assert set(lengths) == {9, 10, 11}
    assert lengths[10] > 0.4 * len(labels) and lengths[11] > 0.3 * len(labels)
    wilayas = collections.Counter(int(label[-2:]) for label in labels)
    assert min(wilayas) >= 1 and max(wilayas) <= 69
    assert wilayas[16] == max(wilayas.values()) and wilayas[16] > 0.2 * len(labels)
    assert len(wilayas) > 50
    assert sum(is_temporary(label) for label in labels) > 100
    years = collections.Counter(label[-4:-2] for label in labels if len(label) == 11)
    assert years.most_common(1)[0][0] in {f"{y:02d}" for y in range(5, 20)}


def test_sampler_weights_are_configurable():
    only_algiers = PlateSampler(wilayas=((16, 1.0),), forms=(("11", 1.0),))
    labels = only_algiers.sample_many(np.random.default_rng(0), 200)
    assert all(label.endswith("16") and len(label) == 11 for label in labels)


@pytest.mark.parametrize(
    ("label", "this_year", "problem"),
    [
        ("0658015609", 2026, "class + year group 156: year 56 is outside 1970-2026"),
        ("07847105135", 2026, "year 51"),
        ("1234512716", 2026, "year 27"),  # next year's plates are not out yet
        ("1234512716", 2027, None),
        ("1234516916", 2026, "year 69"),
        ("1234517016", 2026, None),  # 1970
        ("1234511916", 2026, None),
        ("1437940016", 2026, None),  # temporary: 00 is no year group
    ],
)
def test_a_year_group_outside_the_registration_years_is_named(label, this_year, problem):
    from plate_ocr.plates import year_problem

    found = year_problem(label, this_year)
    assert found == problem if problem is None else problem in found
