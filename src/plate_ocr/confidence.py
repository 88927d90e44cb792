"""How far to trust a reading: the probability that the whole plate is right, and the
measures of how well a confidence sorts right readings from wrong ones.

A network's own path probability ranks readings but does not say how often they are right
(a fine-tuned CTC reader is surer than it should be on crops unlike its training). A
``Calibrator`` maps what a reading shows (its probability, and whether it is a valid plate)
to the chance it is right, by a logistic regression
fitted on readings of real plates the network never trained on: its run's validation fold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from plate_ocr.plates import is_valid_plate

# how many framings agreed added nothing measurable beside a vote's probability, which sums
# over them (docs/results.md, confidence)
FEATURES = ("log-odds", "valid")
# PlateReader's reading options, by the name a calibration is stored under: each reads with
# its own confidence, so each has its own calibrator
READING_OPTIONS = {
    "greedy": {"constrained": False, "vote": False},
    "constrained": {"constrained": True, "vote": False},
    "greedy, vote": {"constrained": False, "vote": True},
    "constrained, vote": {"constrained": True, "vote": True},
}
CALIBRATION_KEY = "calibration"  # in checkpoints and reader files: {option: Calibrator dict}
MIN_MISREADS = 1  # a fit with no misread says nothing about errors: it is not stored
_CLIP = 12.0  # log-odds past this say nothing more, and keep the fit finite
_RIDGE = 1e-2  # keeps the fit finite when the readings it sees are all right
_KEPT = 256  # fitted probabilities stored with a calibrator, to choose thresholds on


def features(readings: Sequence) -> np.ndarray:
    """(N, len(FEATURES)) floats for a list of Readings."""
    rows = []
    for reading in readings:
        p = min(max(reading.confidence, 1e-12), 1 - 1e-12)
        log_odds = max(-_CLIP, min(_CLIP, math.log(p) - math.log1p(-p)))
        rows.append((log_odds, float(is_valid_plate(reading.text))))
    return np.asarray(rows, dtype=np.float64).reshape(-1, len(FEATURES))


@dataclass(frozen=True)
class Calibrator:
    """P(reading right) = sigmoid(weights · features + bias)."""

    weights: tuple[float, ...]
    bias: float
    # the calibrated probabilities of the readings it was fitted on, surest first: what a
    # threshold for an error rate is chosen on
    fitted: tuple[float, ...] = ()

    def __call__(self, readings: Sequence) -> np.ndarray:
        x = features(readings)
        return 1.0 / (1.0 + np.exp(-(x @ np.asarray(self.weights) + self.bias)))

    def threshold(self, max_error: float) -> float:
        """The probability from which a reading is accepted at ``max_error``."""
        return threshold(self.fitted, max_error)

    @classmethod
    def fit(cls, readings: Sequence, right: Sequence[bool]) -> Calibrator:
        """Maximum likelihood with a small ridge, by Newton's method (three parameters)."""
        x = np.hstack([features(readings), np.ones((len(readings), 1))])
        y = np.asarray(right, dtype=np.float64)
        if not len(y):
            raise ValueError("no readings to calibrate on")
        w = np.zeros(x.shape[1])
        ridge = _RIDGE * np.eye(x.shape[1])
        ridge[-1, -1] = 0.0  # the bias is not shrunk
        for _ in range(50):
            p = 1.0 / (1.0 + np.exp(-(x @ w)))
            gradient = x.T @ (p - y) + ridge @ w
            hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge + 1e-9 * np.eye(x.shape[1])
            step = np.linalg.solve(hessian, gradient)
            w -= step
            if np.abs(step).max() < 1e-8:
                break
        fitted = cls(tuple(float(v) for v in w[:-1]), float(w[-1]))
        probabilities = np.sort(fitted(readings))[::-1]
        if len(probabilities) > _KEPT:  # evenly spaced ones stand for the rest, in less room
            probabilities = probabilities[
                np.linspace(0, len(probabilities) - 1, _KEPT).round().astype(int)
            ]
        return cls(fitted.weights, fitted.bias, tuple(round(float(v), 5) for v in probabilities))

    def to_dict(self) -> dict:
        return {
            "features": list(FEATURES),
            "weights": list(self.weights),
            "bias": self.bias,
            "fitted": list(self.fitted),
        }

    @classmethod
    def from_dict(cls, saved: dict) -> Calibrator:
        if list(saved.get("features", [])) != list(FEATURES):
            raise ValueError(f"a calibrator of features {saved.get('features')}, not {FEATURES}")
        return cls(tuple(float(v) for v in saved["weights"]), float(saved["bias"]),
                   tuple(float(v) for v in saved.get("fitted", ())))  # fmt: skip


def option_name(constrained: bool, vote: bool) -> str:
    return ("constrained" if constrained else "greedy") + (", vote" if vote else "")


def fit_calibrations(net, images: Sequence, labels: Sequence[str]) -> dict[str, dict]:
    """A calibrator per reading option, fitted on ``net``'s readings of labelled crops it
    never trained on; an option whose readings hold no misread gets none."""
    from plate_ocr.reader import PlateReader

    calibrations = {}
    for name, options in READING_OPTIONS.items():
        readings = PlateReader(net, device="cpu", **options)(list(images))
        right = [r.text == label for r, label in zip(readings, labels, strict=True)]
        if len(right) - sum(right) >= MIN_MISREADS:
            calibrations[name] = Calibrator.fit(readings, right).to_dict()
    return calibrations


def risk_coverage(confidence: Sequence[float], right: Sequence[bool]) -> tuple[np.ndarray, ...]:
    """Readings accepted surest first: (coverage, error among the accepted) after each one;
    equal confidences are accepted together, as a threshold would."""
    c = np.asarray(confidence, dtype=np.float64)
    wrong = 1.0 - np.asarray(right, dtype=np.float64)
    order = np.argsort(-c, kind="stable")
    c, wrong = c[order], wrong[order]
    n = np.arange(1, len(c) + 1)
    errors = np.cumsum(wrong) / n
    last_of_tie = np.append(c[1:] != c[:-1], True)
    return n[last_of_tie] / len(c), errors[last_of_tie]


def coverage_at(confidence: Sequence[float], right: Sequence[bool], max_error: float) -> float:
    """The largest share of readings a threshold accepts with at most ``max_error`` of them
    wrong (chosen in hindsight on these readings: what the confidence's order allows)."""
    coverage, error = risk_coverage(confidence, right)
    allowed = coverage[error <= max_error + 1e-12]
    return float(allowed.max()) if len(allowed) else 0.0


def area_under_risk_coverage(confidence: Sequence[float], right: Sequence[bool]) -> float:
    """Mean error among the accepted over every coverage: lower sorts better."""
    coverage, error = risk_coverage(confidence, right)
    widths = np.diff(np.concatenate([[0.0], coverage]))
    return float((widths * error).sum())


def calibration_error(probability: Sequence[float], right: Sequence[bool], bins: int = 10) -> float:
    """Expected calibration error: |mean probability - share right| per equal-width bin,
    weighted by the readings in it."""
    rows = reliability(probability, right, bins)
    return float(sum(n * abs(p - y) for p, y, n in rows) / max(len(probability), 1))


def threshold(probabilities: Sequence[float], max_error: float) -> float:
    """The lowest calibrated probability to accept so that, over readings like
    ``probabilities`` (a validation fold's), those accepted are wrong ``max_error`` of the
    time or less by their own probabilities; above 1 when none can be. Expected errors, not
    counted ones: a fold holds too few misreads to count a rate of one in two hundred."""
    p = np.sort(np.asarray(probabilities, dtype=np.float64))[::-1]
    expected = np.cumsum(1.0 - p) / np.arange(1, len(p) + 1)
    within = np.nonzero(expected <= max_error)[0]
    return float(p[within[-1]]) if len(within) else math.inf


def trust_summary(confidence: Sequence[float], right: Sequence[bool], calibrated: bool) -> dict:
    """What a report says about a source's confidences: coverage at 0.5 % and 1 % error,
    the area under the risk-coverage curve, the calibration error, and the curve itself at
    up to 50 points."""
    coverage, error = risk_coverage(confidence, right)
    keep = np.unique(np.linspace(0, len(coverage) - 1, min(50, len(coverage))).round().astype(int))
    return {
        "confidence": "calibrated" if calibrated else "raw",
        "coverage_at_0.5%_error": round(coverage_at(confidence, right, 0.005), 4),
        "coverage_at_1%_error": round(coverage_at(confidence, right, 0.01), 4),
        "aurc": round(area_under_risk_coverage(confidence, right), 5),
        "ece": round(calibration_error(confidence, right), 4),
        "risk_coverage": [[round(float(coverage[i]), 4), round(float(error[i]), 4)] for i in keep],
        "reliability": reliability(confidence, right),
    }


def reliability(probability: Sequence[float], right: Sequence[bool], bins: int = 10) -> list:
    """[mean probability, share right, readings] per non-empty equal-width bin."""
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(right, dtype=np.float64)
    index = np.minimum((p * bins).astype(int), bins - 1)
    return [
        [round(float(p[index == b].mean()), 4), round(float(y[index == b].mean()), 4),
         int((index == b).sum())]
        for b in range(bins) if (index == b).any()
    ]  # fmt: skip
