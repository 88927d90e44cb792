import itertools
import math

import numpy as np
import pytest
import torch

from plate_ocr.model import codec
from plate_ocr.model.codec import (
    BLANK,
    constrained_decode,
    encode,
    greedy_decode,
    text_probabilities,
)


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


def test_text_probabilities_sum_every_alignment():
    # Brute force over all 11**4 paths of four columns: those that collapse to "12".
    torch.manual_seed(0)
    log_probs = torch.randn(1, 4, 11).log_softmax(-1)
    total = 0.0
    for path in itertools.product(range(11), repeat=4):
        if greedy_decode(_one_hot(path))[0].text == "12":
            total += math.exp(sum(log_probs[0, t, k].item() for t, k in enumerate(path)))
    assert text_probabilities(log_probs, ["12"]).item() == pytest.approx(total, rel=1e-4)


def test_a_sure_valid_greedy_reading_skips_the_search(monkeypatch):
    def no_search(*args):
        raise AssertionError("searched a plate whose greedy reading is sure")

    monkeypatch.setattr(codec, "_prefix_beam_search", no_search)
    (reading,) = constrained_decode(_log_probs(_path("12345611616")))
    assert reading.text == "12345611616"
    assert reading.confidence == pytest.approx(0.98**22, rel=0.05)


def test_the_shortcut_reads_what_the_search_reads():
    # Noisy paths: some greedy readings are sure, some unsure, some invalid.
    generator = torch.Generator().manual_seed(3)
    labels = ["12345611616", "0730011107", "150311016", "1122334455"] * 8
    columns = [_path(label) + [{BLANK: 0.98}] * (22 - 2 * len(label)) for label in labels]
    clean = torch.cat([_log_probs(c) for c in columns])
    noise = torch.linspace(0.5, 4.0, len(labels))[:, None, None]  # from sure to lost
    log_probs = (clean + noise * torch.randn(clean.shape, generator=generator)).log_softmax(-1)
    greedy = greedy_decode(log_probs)
    sure = codec._sure_readings(log_probs, greedy)
    assert 0 < len(sure) < len(labels)  # both ways are exercised
    for i, reading in enumerate(constrained_decode(log_probs)):
        search = codec._prefix_beam_search(log_probs[i].numpy(), 16) or greedy[i]
        assert reading.text == search.text
        # the shortcut's probability is exact; the search's misses the alignments it pruned
        assert search.confidence * (1 - 1e-5) <= reading.confidence <= search.confidence * 1.05


def _one_hot(path: tuple[int, ...]) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor([path]), 11).float()


def test_text_log_probabilities_match_torchs_ctc_for_texts_of_any_length_and_repeats():
    """The numpy forward pass against torch's CTC loss: repeated digits, different lengths
    in one batch, an empty text and one too long for its columns (-inf)."""
    from plate_ocr.model.codec import numpy_text_log_probabilities, text_log_probabilities

    torch.manual_seed(1)
    texts = ["0730011107", "11", "", "12345611616", "7", "0" * 13]
    log_probs = torch.randn(len(texts), 24, 11).log_softmax(-1)
    ours = numpy_text_log_probabilities(log_probs, texts)
    np.testing.assert_allclose(text_log_probabilities(log_probs, texts), ours, rtol=1e-5)
    for b, text in enumerate(texts):
        targets = torch.tensor([[int(ch) + 1 for ch in text]], dtype=torch.long)
        expected = -torch.nn.functional.ctc_loss(
            log_probs[b : b + 1].transpose(0, 1), targets.reshape(-1), torch.tensor([24]),
            torch.tensor([len(text)]), reduction="none",
        ).item()  # fmt: skip
        if text == "0" * 13:  # 13 zeros need 25 columns with their blanks: no alignment
            assert ours[b] == -math.inf
        else:
            assert ours[b] == pytest.approx(expected, rel=1e-5, abs=1e-5)
