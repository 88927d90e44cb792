"""CTC codec: plate labels to targets and network outputs back to plates.

Class 0 is the CTC blank and class ``k + 1`` is ``ALPHABET[k]``. Labels keep their natural
length (9-11); CTC needs no padding to a fixed length, and padding would teach the model
digits that are not on the plate. Decoding takes (B, T, classes) log-probabilities as a numpy
array or a torch tensor and runs in numpy: an ONNX reader never imports torch.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

from plate_ocr.plates import ALPHABET, MAX_LENGTH, display_form, is_valid_plate

BLANK = 0
_RESCALE = 8  # CTC forward steps between rescalings: far from float64's underflow
_INDEX = {ch: i + 1 for i, ch in enumerate(ALPHABET)}


@dataclass(frozen=True)
class Reading:
    """One decoded plate: its digits and the network's probability of that reading;
    ``probability``: the calibrated chance that the text is right, where the network has a
    calibrator (``plate_ocr.confidence``), else None; ``accepted``: the reading is sure
    enough for the reader's ``max_error`` (None without one)."""

    text: str
    confidence: float
    probability: float | None = None
    accepted: bool | None = None

    @property
    def display(self) -> str:
        """As printed on the plate (``123456 116 16``) when it is one; else the digits read."""
        return display_form(self.text) if is_valid_plate(self.text) else self.text


def _array(log_probs) -> np.ndarray:
    """(B, T, classes) float32 numpy, from a tensor on any device and dtype or an array."""
    if hasattr(log_probs, "detach"):
        return log_probs.detach().float().cpu().numpy()
    return np.asarray(log_probs, dtype=np.float32)


def encode(labels: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels -> (concatenated targets, lengths), the form ``nn.CTCLoss`` takes."""
    import torch  # training's: reading needs none

    targets = [_INDEX[ch] for label in labels for ch in label]
    lengths = [len(label) for label in labels]
    return torch.tensor(targets, dtype=torch.long), torch.tensor(lengths, dtype=torch.long)


def greedy_decode(log_probs) -> list[Reading]:
    """Best path per plate: argmax per column, merge repeats, drop blanks.

    ``log_probs``: (B, T, classes). Confidence is the probability of that best path.
    """
    array = _array(log_probs)
    indices = array.argmax(axis=-1)  # (B, T)
    confidences = np.exp(array.max(axis=-1).sum(axis=1)).tolist()  # the argmax's values
    readings = []
    for row, confidence in zip(indices.tolist(), confidences, strict=True):
        chars, previous = [], BLANK
        for k in row:
            if k != previous and k != BLANK:
                chars.append(ALPHABET[k - 1])
            previous = k
        readings.append(Reading("".join(chars), confidence))
    return readings


def constrained_decode(log_probs, beam_width: int = 16) -> list[Reading]:
    """The most probable *valid* Algerian plate per image, by CTC prefix beam search.

    Beams longer than a plate are pruned as they grow; at the end only valid plates
    (9-11 digits, known wilaya) compete. Falls back to greedy when no beam is valid,
    so the caller always gets a reading and can see it is invalid.

    Most plates skip the search, exactly: when the greedy text is a valid plate whose
    probability (summed over all its alignments) is above one half, no other text can be
    as probable, so it is the answer the search looks for.
    """
    array = _array(log_probs)
    greedy = greedy_decode(array)
    sure = _sure_readings(array, greedy)
    return [
        sure.get(i) or _prefix_beam_search(sample, beam_width) or fallback
        for i, (sample, fallback) in enumerate(zip(array, greedy, strict=True))
    ]


def text_log_probabilities(log_probs, texts: list[str]) -> np.ndarray:
    """log P(text | image) for one text per image, summed over every CTC alignment (-inf
    where no alignment fits the columns). Torch's CTC where torch is loaded already (its
    compiled loop is several times faster for one plate), else a numpy one."""
    if "torch" in sys.modules and texts:
        import torch

        targets, lengths = encode(texts)
        array = torch.from_numpy(_array(log_probs))
        nll = torch.nn.functional.ctc_loss(
            array.transpose(0, 1),
            targets,
            torch.full((len(texts),), array.shape[1], dtype=torch.long),
            lengths,
            blank=BLANK,
            reduction="none",
        )
        return -nll.double().numpy()
    return numpy_text_log_probabilities(log_probs, texts)


def numpy_text_log_probabilities(log_probs, texts: list[str]) -> np.ndarray:
    """``text_log_probabilities`` by a CTC forward pass in numpy, all images at once."""
    array = _array(log_probs).astype(np.float64)
    batch, columns, _ = array.shape
    if not batch:
        return np.zeros(0)
    # each text between blanks: blank, d1, blank, d2, ..., blank; shorter ones padded with
    # blanks, which only follow the text's own states, so they never feed back into them
    states = 2 * max(len(text) for text in texts) + 1
    extended = np.zeros((batch, states), dtype=np.int64)
    for b, text in enumerate(texts):
        extended[b, 1 : 2 * len(text) : 2] = [_INDEX[ch] for ch in text]
    # a state may skip the blank before it unless it repeats the digit two states back
    skip = np.zeros((batch, states), dtype=bool)
    skip[:, 2:] = (extended[:, 2:] != BLANK) & (extended[:, 2:] != extended[:, :-2])
    # in probabilities, rescaled to sum to one every few steps (their logs kept): far fewer
    # operations than sums in logs, which matters at batch 1; float64 cannot underflow between
    emit = np.take_along_axis(np.exp(array), extended[:, None, :].repeat(columns, 1), axis=2)
    alpha = np.zeros((batch, states))
    alpha[:, :2] = emit[:, 0, :2]
    log_scale = np.zeros(batch)
    skip = skip[:, 2:].astype(np.float64)
    for t in range(1, columns):
        new = alpha.copy()
        new[:, 1:] += alpha[:, :-1]
        new[:, 2:] += alpha[:, :-2] * skip
        new *= emit[:, t]
        alpha = new
        if t % _RESCALE == 0 or t == columns - 1:
            total = alpha.sum(axis=1)
            total[total == 0] = 1.0  # no alignment left: it stays zero, -inf below
            alpha /= total[:, None]
            log_scale += np.log(total)
    ends = np.array([2 * len(text) for text in texts])
    rows = np.arange(batch)
    end = alpha[rows, ends] + np.where(ends > 0, alpha[rows, np.maximum(ends - 1, 0)], 0.0)
    with np.errstate(divide="ignore"):
        return np.log(end) + log_scale


def text_probabilities(log_probs, texts: list[str]) -> np.ndarray:
    """P(text | image) for one non-empty text per image, summed over every CTC alignment."""
    return np.exp(text_log_probabilities(log_probs, texts))


def _sure_readings(log_probs: np.ndarray, greedy: list[Reading]) -> dict[int, Reading]:
    """The greedy readings that are valid plates with probability above one half, by index."""
    valid = [i for i, reading in enumerate(greedy) if is_valid_plate(reading.text)]
    if not valid:
        return {}
    probabilities = text_probabilities(log_probs[valid], [greedy[i].text for i in valid])
    return {
        i: Reading(greedy[i].text, p)
        for i, p in zip(valid, probabilities.tolist(), strict=True)
        if p > 0.5
    }


def _logsumexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    high = max(a, b)
    return high + math.log1p(math.exp(-abs(a - b)))


def _prefix_beam_search(log_probs: np.ndarray, beam_width: int) -> Reading | None:
    # Each beam: prefix -> (log P(prefix, ending in blank), log P(prefix, ending in a digit)).
    beams: dict[str, tuple[float, float]] = {"": (0.0, -math.inf)}
    # Only digits with a non-negligible probability somewhere are worth expanding.
    for column in log_probs:
        candidates = [k for k in range(1, len(column)) if column[k] > -12.0]
        next_beams: dict[str, list[float]] = {}

        def add(prefix: str, blank: float, digit: float, _beams=next_beams) -> None:
            entry = _beams.setdefault(prefix, [-math.inf, -math.inf])
            entry[0] = _logsumexp(entry[0], blank)
            entry[1] = _logsumexp(entry[1], digit)

        for prefix, (p_blank, p_digit) in beams.items():
            total = _logsumexp(p_blank, p_digit)
            add(prefix, total + column[BLANK], -math.inf)
            last = prefix[-1] if prefix else None
            for k in candidates:
                ch = ALPHABET[k - 1]
                if ch == last:
                    # a repeat merges unless a blank separated it
                    add(prefix, -math.inf, p_digit + column[k])
                    add(prefix + ch, -math.inf, p_blank + column[k])
                elif len(prefix) < MAX_LENGTH:
                    add(prefix + ch, -math.inf, total + column[k])
        ranked = sorted(next_beams.items(), key=lambda kv: -_logsumexp(*kv[1]))
        beams = {prefix: tuple(p) for prefix, p in ranked[:beam_width]}
    valid = [(prefix, _logsumexp(*p)) for prefix, p in beams.items() if is_valid_plate(prefix)]
    if not valid:
        return None
    text, log_p = max(valid, key=lambda kv: kv[1])
    return Reading(text, math.exp(log_p))


def decode(log_probs, constrained: bool = False) -> list[Reading]:
    return constrained_decode(log_probs) if constrained else greedy_decode(log_probs)
