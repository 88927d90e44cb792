"""CTC codec: plate labels to targets and network outputs back to plates.

Class 0 is the CTC blank and class ``k + 1`` is ``ALPHABET[k]``. Labels keep their natural
length (9-11); CTC needs no padding to a fixed length, and padding would teach the model
digits that are not on the plate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from plate_ocr.plates import ALPHABET, MAX_LENGTH, display_form, is_valid_plate

BLANK = 0
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


def encode(labels: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels -> (concatenated targets, lengths), the form ``nn.CTCLoss`` takes."""
    targets = [_INDEX[ch] for label in labels for ch in label]
    lengths = [len(label) for label in labels]
    return torch.tensor(targets, dtype=torch.long), torch.tensor(lengths, dtype=torch.long)


def greedy_decode(log_probs: torch.Tensor) -> list[Reading]:
    """Best path per plate: argmax per column, merge repeats, drop blanks.

    ``log_probs``: (B, T, classes). Confidence is the probability of that best path.
    """
    # in numpy: torch's per-call cost was most of a served plate's decoding
    array = log_probs.detach().float().cpu().numpy()
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


def constrained_decode(log_probs: torch.Tensor, beam_width: int = 16) -> list[Reading]:
    """The most probable *valid* Algerian plate per image, by CTC prefix beam search.

    Beams longer than a plate are pruned as they grow; at the end only valid plates
    (9-11 digits, known wilaya) compete. Falls back to greedy when no beam is valid,
    so the caller always gets a reading and can see it is invalid.

    Most plates skip the search, exactly: when the greedy text is a valid plate whose
    probability (summed over all its alignments) is above one half, no other text can be
    as probable, so it is the answer the search looks for.
    """
    log_probs = log_probs.detach().float().cpu()  # once: the steps below take it as it is
    greedy = greedy_decode(log_probs)
    sure = _sure_readings(log_probs, greedy)
    array = log_probs.numpy()
    return [
        sure.get(i) or _prefix_beam_search(sample, beam_width) or fallback
        for i, (sample, fallback) in enumerate(zip(array, greedy, strict=True))
    ]


def text_log_probabilities(log_probs: torch.Tensor, texts: list[str]) -> torch.Tensor:
    """log P(text | image) for one text per image, summed over every CTC alignment (-inf
    where no alignment fits the columns)."""
    targets, lengths = encode(texts)
    batch, columns, _ = log_probs.shape
    nll = torch.nn.functional.ctc_loss(
        log_probs.detach().float().cpu().transpose(0, 1),
        targets,
        torch.full((batch,), columns, dtype=torch.long),
        lengths,
        blank=BLANK,
        reduction="none",
    )
    return -nll


def text_probabilities(log_probs: torch.Tensor, texts: list[str]) -> torch.Tensor:
    """P(text | image) for one non-empty text per image, summed over every CTC alignment."""
    return torch.exp(text_log_probabilities(log_probs, texts))


def _sure_readings(log_probs: torch.Tensor, greedy: list[Reading]) -> dict[int, Reading]:
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


def decode(log_probs: torch.Tensor, constrained: bool = False) -> list[Reading]:
    return constrained_decode(log_probs) if constrained else greedy_decode(log_probs)
