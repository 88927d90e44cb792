import cv2
import numpy as np
import pytest

from plate_ocr.error_classes import crop_properties, error_class


@pytest.mark.parametrize(
    ("label", "reading", "kind"),
    [
        ("0488711522", "0488711522", None),
        ("0488711522", "048871522", "merged repeat"),  # 04887 115 22: the two 1s merged
        ("0465211101", "046521101", "merged repeat"),
        ("0026149916", "40026149916", "extra edge digit"),  # a bolt read as a leading 4
        ("0026149916", "026149916", "merged repeat"),  # the leading 00 is a run too
        ("1234511616", "234511616", "dropped edge digit"),
        ("1234511616", "123451161", "dropped edge digit"),
        ("1234511616", "124511616", "dropped digit"),
        ("1234511616", "12345116163", "extra edge digit"),
        ("1234511616", "12394511616", "extra digit"),
        ("1234511616", "1234511656", "one substitution"),
        ("1234511616", "5234511656", "substitutions"),
        ("1234511616", "12345", "garbled"),
        ("0757210845", "077210846", "digit lost or added, and one wrong"),
        ("071711043", "07170411043", "garbled"),  # two digits added
    ],
)
def test_misreads_are_classed_from_the_strings(label, reading, kind):
    assert error_class(label, reading) == kind


def test_a_crop_tilted_by_an_angle_measures_near_it():
    image = np.full((60, 200), 230, np.uint8)
    cv2.putText(image, "12345 116 16", (8, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 20, 2)
    level = crop_properties(image)
    rotation = cv2.getRotationMatrix2D((100, 30), 8, 1.0)  # counter-clockwise on screen
    tilted = cv2.warpAffine(image, rotation, (200, 60), borderValue=230)
    measured = crop_properties(cv2.cvtColor(tilted, cv2.COLOR_GRAY2RGB))
    assert abs(level["tilt"]) < 2 and measured["tilt"] == pytest.approx(-8, abs=2)
    assert level["height"] == 60 and 0 < level["contrast"] < 1
