"""Calibrated confidence: the fit, the measures, and the calibration travelling with a model
through its checkpoint, ONNX export, the reader, predict and training."""

import math

import numpy as np
import pytest
import torch

from plate_ocr.cli import main
from plate_ocr.confidence import (
    Calibrator,
    area_under_risk_coverage,
    calibration_error,
    coverage_at,
    fit_calibrations,
    risk_coverage,
    threshold,
)
from plate_ocr.model.checkpoint import add_calibration, load_network
from plate_ocr.model.codec import Reading
from plate_ocr.reader import PlateReader

VALID, INVALID = "0730011107", "07300"


def test_risk_coverage_accepts_surest_first_and_ties_together():
    coverage, error = risk_coverage([0.9, 0.8, 0.8, 0.1], [True, True, False, False])
    np.testing.assert_allclose(coverage, [0.25, 0.75, 1.0])
    np.testing.assert_allclose(error, [0.0, 1 / 3, 0.5])
    assert coverage_at([0.9, 0.8, 0.8, 0.1], [True, True, False, False], 0.005) == 0.25
    assert coverage_at([0.9, 0.8, 0.7], [False, True, True], 0.005) == 0.0
    # AURC: each step's width times its error
    assert area_under_risk_coverage([0.9, 0.8, 0.8, 0.1], [1, 1, 0, 0]) == pytest.approx(
        0.5 * 1 / 3 + 0.25 * 0.5
    )


def test_calibration_error_is_the_weighted_gap_per_bin():
    assert calibration_error([0.95, 0.95, 0.15, 0.15], [1, 0, 0, 0]) == pytest.approx(
        0.5 * abs(0.95 - 0.5) + 0.5 * 0.15
    )


def test_threshold_keeps_the_expected_error_of_the_accepted_within_the_bound():
    p = [0.999, 0.995, 0.99, 0.9, 0.5]
    # expected errors of the surest 1..5: 0.001, 0.003, 0.0053, 0.029, 0.123
    assert threshold(p, 0.005) == 0.995
    assert threshold(p, 0.01) == 0.99
    assert threshold(p, 0.0005) == math.inf  # none can be accepted


def _overconfident(n=400, seed=0):
    """Readings whose own confidence is too high: wrong ones as sure as right ones, and the
    invalid plates always wrong."""
    rng = np.random.default_rng(seed)
    readings, right = [], []
    for _ in range(n):
        ok = rng.random() < 0.85
        valid = ok or rng.random() < 0.5
        confidence = rng.uniform(0.9, 1.0) if ok else rng.uniform(0.6, 0.99)
        readings.append(Reading(VALID if valid else INVALID, confidence))
        right.append(ok)
    return readings, right


def test_a_calibrator_fitted_on_overconfident_readings_corrects_them_on_new_ones():
    fit_on, fit_right = _overconfident(seed=0)
    readings, right = _overconfident(seed=1)
    calibrator = Calibrator.fit(fit_on, fit_right)
    probability = calibrator(readings)
    raw = [r.confidence for r in readings]
    assert calibration_error(probability, right) < calibration_error(raw, right) / 2
    invalid = [p for p, r in zip(probability, readings, strict=True) if r.text == INVALID]
    assert max(invalid) < 0.2  # an invalid plate was never right
    again = Calibrator.from_dict(calibrator.to_dict())
    np.testing.assert_allclose(again(readings), probability)
    assert len(again.fitted) == 256  # the thresholds' sample, kept short


def test_a_calibrator_stays_finite_when_every_reading_was_right():
    calibrator = Calibrator.fit([Reading(VALID, 0.9)] * 20, [True] * 20)
    assert np.isfinite(calibrator([Reading(VALID, 0.5)])).all()


@pytest.fixture
def calibrated(tiny_checkpoint, real_folder, tmp_path):
    """The tiny checkpoint calibrated on real_folder's crops, labels made half right."""
    from plate_ocr.data.folder import PlateFolder, find_splits

    crops = PlateFolder(find_splits(real_folder)["test"])
    texts = [r.text for r in PlateReader(tiny_checkpoint)(crops.images)]
    labels = [t if i % 2 else t + "1" for i, t in enumerate(texts)]
    path = tmp_path / "calibrated.ckpt"
    path.write_bytes(tiny_checkpoint.read_bytes())
    add_calibration(path, fit_calibrations(load_network(path), crops.images, labels))
    return path, crops


def test_a_calibrated_model_reads_with_probabilities_and_marks_what_to_accept(calibrated):
    path, crops = calibrated
    readings = PlateReader(path, max_error=0.4)(crops.images)
    assert all(0 <= r.probability <= 1 and r.accepted in (True, False) for r in readings)
    # accepted exactly from the stored threshold on
    bound = PlateReader(path).calibrator.threshold(0.4)
    assert all(r.accepted == (r.probability >= bound) for r in readings)
    assert all(r.accepted is None for r in PlateReader(path)(crops.images))


def test_an_uncalibrated_model_or_an_ensemble_refuses_max_error(tiny_checkpoint, calibrated):
    from plate_ocr.errors import UserError

    assert PlateReader(tiny_checkpoint).calibrator is None
    with pytest.raises(UserError, match="plate-ocr calibrate"):
        PlateReader(tiny_checkpoint, max_error=0.01)
    with pytest.raises(UserError, match="an ensemble has none"):
        PlateReader([calibrated[0], tiny_checkpoint], max_error=0.01)
    with pytest.raises(UserError, match="max_error=2"):
        PlateReader(calibrated[0], max_error=2)


def test_the_onnx_export_carries_the_calibration(calibrated, tmp_path):
    from plate_ocr.export import export_onnx

    path, crops = calibrated
    onnx = export_onnx(load_network(path), tmp_path / "m.onnx")
    exported = PlateReader(onnx, max_error=0.4)(crops.images)
    original = PlateReader(path, max_error=0.4)(crops.images)
    for a, b in zip(exported, original, strict=True):
        assert a.text == b.text and a.probability == pytest.approx(b.probability, abs=1e-3)


def test_predict_adds_the_probability_and_a_review_column(capsys, calibrated):
    path, crops = calibrated
    image = str(crops.paths[0])
    assert main(["predict", str(path), image, "--max-error", "0.4"]) == 0
    file, plate, confidence, probability, verdict = capsys.readouterr().out.strip().split("\t")
    reading = PlateReader(path, max_error=0.4)(image)
    assert float(probability) == pytest.approx(reading.probability, abs=1e-4)
    assert verdict == ("accept" if reading.accepted else "review")
    assert main(["predict", str(path), image, "--format", "json"]) == 0
    assert '"probability"' in capsys.readouterr().out


def test_predict_max_error_without_a_calibration_is_one_line(capsys, tiny_checkpoint, real_folder):
    image = str(sorted((real_folder / "test").glob("*.jpg"))[0])
    assert main(["predict", str(tiny_checkpoint), image, "--max-error", "0.01"]) == 2
    err = capsys.readouterr().err
    assert "no calibrated confidence" in err and "Traceback" not in err
    assert main(["predict", image, "--max-error", "5"]) == 2


def test_calibrate_writes_a_calibrated_copy_and_leaves_the_model_as_it_was(
    capsys, tiny_checkpoint, real_folder, tmp_path
):
    before = tiny_checkpoint.read_bytes()
    out = tmp_path / "cal.ckpt"
    assert main(["calibrate", str(tiny_checkpoint), str(real_folder), "--out", str(out)]) == 0
    assert tiny_checkpoint.read_bytes() == before
    assert PlateReader(out).calibrator is not None
    assert main(["calibrate", str(tiny_checkpoint), str(real_folder), "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err


def test_training_with_real_validation_crops_stores_a_calibration(tmp_path, real_folder):
    from test_train import _compose, _short_run

    from plate_ocr.training import train

    train(_compose(tmp_path / "run", *_short_run(real_folder), "trainer.max_epochs=1"))
    for path in (tmp_path / "run" / "checkpoints").glob("*.ckpt"):
        saved = torch.load(path, weights_only=True)["calibration"]
        assert set(saved) <= {"greedy", "constrained", "greedy, vote", "constrained, vote"}
        assert saved  # the untrained tiny model misreads: every option has errors to fit on
