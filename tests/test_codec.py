import math

import pytest
import torch

from plate_ocr.model.codec import BLANK, constrained_decode, encode, greedy_decode


def _log_probs(columns: list[dict[int, float]], classes: int = 11) -> torch.Tensor:
    """(1, T, classes) log-probabilities from {class: probability} per column (rest shared)."""
    rows = []
    for column in columns:
        rest = (1.0 - sum(column.values())) / (classes - len(column))
        rows.append([column.get(k, rest) for k in range(classes)])
    return torch.tensor([rows]).clamp_min(1e-9).log()


def _path(text: str) -> list[dict[int, float]]:
    """A confident CTC path for ``text``: each digit then a blank."""
    columns = []
    for ch in text:
        columns += [{int(ch) + 1: 0.98}, {BLANK: 0.98}]
    return columns


def test_encode_keeps_natural_lengths():
    targets, lengths = encode(["150311016", "12345611616"])
    assert lengths.tolist() == [9, 11]
    assert targets[:3].tolist() == [2, 6, 1]  # "1" -> 2, "5" -> 6, "0" -> 1
    assert BLANK not in targets.tolist()


@pytest.mark.parametrize("label", ["12345611616", "0730011107", "150311016", "1122334455"])
def test_greedy_round_trip_with_repeats(label):
    (reading,) = greedy_decode(_log_probs(_path(label)))
    assert reading.text == label
    assert 0.5 < reading.confidence <= 1.0


def test_repeated_column_merges_unless_blank_separates():
    columns = [{2: 0.98}, {2: 0.98}, {BLANK: 0.98}, {2: 0.98}]
    assert greedy_decode(_log_probs(columns))[0].text == "11"


def test_constrained_decode_picks_a_valid_plate():
    # Greedy reads a 12th digit that is only slightly more likely than a blank.
    columns = _path("12345611616") + [{4: 0.5, BLANK: 0.45}]
    greedy = greedy_decode(_log_probs(columns))[0]
    constrained = constrained_decode(_log_probs(columns))[0]
    assert len(greedy.text) == 12
    assert constrained.text == "12345611616"
    assert math.isclose(constrained.confidence, 0.45 * 0.98**22, rel_tol=0.2)


def test_constrained_decode_falls_back_to_greedy_when_nothing_is_valid():
    columns = _path("123")
    assert constrained_decode(_log_probs(columns))[0].text == "123"
