import pytest

from plate_ocr.model.metrics import PlateMetrics, edit_counts


@pytest.mark.parametrize(
    ("truth", "prediction", "edits", "matched"),
    [
        ("12345", "12345", 0, 5),
        ("12345", "123456", 1, 5),
        ("12345", "1245", 1, 4),
        ("12345", "12045", 1, 4),
        ("", "12", 2, 0),
        ("123", "", 3, 0),
    ],
)
def test_edit_counts(truth, prediction, edits, matched):
    assert edit_counts(truth, prediction) == (edits, matched)


def test_an_extra_digit_is_a_wrong_plate_not_truncated_away():
    metrics = PlateMetrics()
    metrics.update(["123456116161"], ["12345611616"])
    values = metrics.compute()
    assert values["seq_acc"] == 0
    assert values["char_acc"] == pytest.approx(11 / 12)
    assert values["cer"] == pytest.approx(1 / 11)


def test_metrics_accumulate_and_reset():
    metrics = PlateMetrics()
    metrics.update(["0730011107", "0730011108"], ["0730011107", "0730011107"])
    metrics.update(["150311016"], ["150311016"])
    values = metrics.compute()
    assert values["seq_acc"] == pytest.approx(2 / 3)
    assert values["edit_distance"] == pytest.approx(1 / 3)
    assert values["cer"] == pytest.approx(1 / 29)
    metrics.reset()
    metrics.update(["1"], ["2"])
    assert metrics.compute()["seq_acc"] == 0
