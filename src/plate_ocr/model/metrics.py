"""Plate-reading metrics: exact plates, characters, edit distance.

Sequence accuracy compares whole strings: an extra or missing digit makes the plate wrong
(no truncation to the label's length). Character accuracy counts the digits an edit
alignment matches, over the longer of the two strings, so insertions cost too.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric

GAP = "-"  # in an alignment: a digit missing from the reading, or one the reading added


def align(truth: str, reading: str) -> list[tuple[str, str]]:
    """An optimal edit alignment as (truth char, reading char) pairs, ``GAP`` for none.

    Ties prefer the alignment with more matched characters.
    """
    n, m = len(truth), len(reading)
    # cost[i][j] = (edits, -matches) aligning truth[:i] with reading[:j]
    cost = [[(0, 0)] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        for j in range(m + 1):
            if i == 0 or j == 0:
                cost[i][j] = (i + j, 0)
                continue
            same = truth[i - 1] == reading[j - 1]
            diagonal = cost[i - 1][j - 1]
            cost[i][j] = min(
                (diagonal[0] + (not same), diagonal[1] - same),
                (cost[i - 1][j][0] + 1, cost[i - 1][j][1]),
                (cost[i][j - 1][0] + 1, cost[i][j - 1][1]),
            )
    pairs, i, j = [], n, m
    while i or j:
        if i and j:
            same = truth[i - 1] == reading[j - 1]
            diagonal = cost[i - 1][j - 1]
            if cost[i][j] == (diagonal[0] + (not same), diagonal[1] - same):
                pairs.append((truth[i - 1], reading[j - 1]))
                i, j = i - 1, j - 1
                continue
        if i and cost[i][j] == (cost[i - 1][j][0] + 1, cost[i - 1][j][1]):
            pairs.append((truth[i - 1], GAP))
            i -= 1
        else:
            pairs.append((GAP, reading[j - 1]))
            j -= 1
    return pairs[::-1]


def edit_counts(truth: str, prediction: str) -> tuple[int, int]:
    """(Levenshtein distance, matched characters on one optimal alignment)."""
    pairs = align(truth, prediction)
    return sum(t != r for t, r in pairs), sum(t == r for t, r in pairs)


class PlateMetrics(Metric):
    """Accumulates one source's readings; ``compute`` gives the per-source report row."""

    full_state_update = False

    def __init__(self):
        super().__init__()
        for name in ("plates", "exact", "matched", "aligned", "edits", "truth_chars"):
            self.add_state(name, default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, predictions: list[str], truths: list[str]) -> None:
        for prediction, truth in zip(predictions, truths, strict=True):
            edits, matched = edit_counts(truth, prediction)
            self.plates += 1
            self.exact += int(prediction == truth)
            self.matched += matched
            self.aligned += max(len(truth), len(prediction))
            self.edits += edits
            self.truth_chars += len(truth)

    def compute(self) -> dict[str, torch.Tensor]:
        plates = self.plates.clamp(min=1).float()
        return {
            "seq_acc": self.exact / plates,
            "char_acc": self.matched / self.aligned.clamp(min=1).float(),
            "cer": self.edits / self.truth_chars.clamp(min=1).float(),
            "edit_distance": self.edits / plates,
        }
