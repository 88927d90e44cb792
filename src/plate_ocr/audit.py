"""Finding the wrong labels in a folder of real crops: where the evidence contradicts them.

Readers that never trained on a crop read it in each framing of the vote. Each view gives
the CTC log-probability of the crop's label and of the view's own reading (the most probable
valid plate): a label the readers find far less probable than what they read, in view after
view, is suspect. More evidence comes from the folder itself: a reading that other crops
carry as their label (the same plate labelled two ways), a near-duplicate image filed under
another label, and a label whose year group is outside the usual years. What a reading
alone suggests is never a correction: the audit ranks crops for a person to look at.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from plate_ocr.data.real_split import plate_key
from plate_ocr.model.codec import constrained_decode, text_log_probabilities
from plate_ocr.plates import year_problem
from plate_ocr.reader import VOTE_FRAMINGS, PlateReader, reframe

# A view's doubt in a label, in nats, is capped: past this a label is simply not believed,
# and one wild view must not outweigh the others.
MAX_DOUBT = 20.0
HASH_SIDE = 16  # a difference hash of 16 x 16 bits: crops of one photo agree to a few bits
NEAR_DUPLICATE_BITS = 24  # bits apart (of 256) at or below which two crops are one image


@dataclass
class CropEvidence:
    """What every view of one crop said about its label."""

    readings: list[str] = field(default_factory=list)
    doubts: list[float] = field(default_factory=list)  # log P(reading) - log P(label), >= 0

    @property
    def reading(self) -> str:
        return Counter(self.readings).most_common(1)[0][0]

    def agreement(self, label: str) -> float:
        """The share of views that read the commonest reading, when it is not the label."""
        reading = self.reading
        return 0.0 if reading == label else self.readings.count(reading) / len(self.readings)


@dataclass(frozen=True)
class Suspect:
    file: Path
    label: str
    reading: str
    score: float
    reason: str


def gather(
    reader_of: list[PlateReader], images: list[np.ndarray], labels: list[str], batch: int = 64
) -> list[CropEvidence]:
    """Evidence for each crop from the reader assigned to it (``reader_of[i]``: one that never
    trained on crop ``i``), in each framing. Crops sharing a reader are read in batches."""
    evidence = [CropEvidence() for _ in images]
    by_reader: dict[int, list[int]] = {}
    for i, reader in enumerate(reader_of):
        by_reader.setdefault(id(reader), []).append(i)
    for indexes in by_reader.values():
        reader = reader_of[indexes[0]]
        for start in range(0, len(indexes), batch):
            chosen = indexes[start : start + batch]
            for margin in VOTE_FRAMINGS:
                pixels = reader.preprocess([reframe(images[i], margin) for i in chosen])
                for network in range(len(reader.networks)):
                    _add_views(reader.log_probs(pixels, network), chosen, labels, evidence)
    return evidence


def _add_views(
    log_probs: torch.Tensor, chosen: list[int], labels: list[str], evidence: list[CropEvidence]
) -> None:
    readings = [r.text for r in constrained_decode(log_probs)]
    label_lp = text_log_probabilities(log_probs, [labels[i] for i in chosen])
    reading_lp = text_log_probabilities(log_probs, readings)
    for k, i in enumerate(chosen):
        doubt = float(reading_lp[k] - label_lp[k]) if readings[k] != labels[i] else 0.0
        evidence[i].readings.append(readings[k])
        evidence[i].doubts.append(min(max(doubt, 0.0), MAX_DOUBT))


def difference_hash(image: np.ndarray) -> np.ndarray:
    """How brightness changes left to right on a 16 x 17 thumbnail, as 256 bits: robust to
    resizing and compression, so one photo cropped twice hashes alike, and fine enough that
    two plates of one layout do not."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (HASH_SIDE + 1, HASH_SIDE), interpolation=cv2.INTER_AREA)
    return (small[:, 1:] > small[:, :-1]).flatten()


def near_duplicates(images: list[np.ndarray]) -> list[tuple[int, int, int]]:
    """(i, j, bits apart) for pairs of crops that are one image filed twice."""
    hashes = np.stack([difference_hash(image) for image in images])
    pairs = []
    for i in range(len(hashes) - 1):
        distances = (hashes[i + 1 :] != hashes[i]).sum(axis=1)
        close = np.flatnonzero(distances <= NEAR_DUPLICATE_BITS)
        pairs += [(i, i + 1 + int(j), int(distances[j])) for j in close]
    return pairs


def cannot_show_a_plate(image: np.ndarray) -> str | None:
    """Why a crop cannot show a legible plate (too dark, too flat, too small), if it cannot."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    low, high = np.percentile(grey, (5, 95))
    if high < 50:
        return f"too dark (95th percentile brightness {high:.0f} of 255)"
    if high - low < 25:
        return f"too flat (contrast {high - low:.0f} of 255 between the 5th and 95th percentile)"
    if image.shape[0] < 16:
        return f"too small ({image.shape[1]}x{image.shape[0]} px)"
    return None


def rank(
    files: list[Path],
    labels: list[str],
    images: list[np.ndarray],
    evidence: list[CropEvidence],
) -> tuple[list[Suspect], list[tuple[int, int, int]], list[tuple[int, str]]]:
    """Suspects, most suspect first; near-duplicate pairs; crops that cannot show a plate."""
    plates = Counter(plate_key(label) for label in labels)
    duplicates = near_duplicates(images)
    twin_labels: dict[int, list[str]] = {}
    for i, j, _ in duplicates:
        if plate_key(labels[i]) != plate_key(labels[j]):
            twin_labels.setdefault(i, []).append(labels[j])
            twin_labels.setdefault(j, []).append(labels[i])
    suspects = []
    for i, crop in enumerate(evidence):
        reading, agreement = crop.reading, crop.agreement(labels[i])
        doubt = float(np.mean(crop.doubts))
        score = doubt * agreement
        reasons = []
        if agreement:
            reasons.append(
                f"read {reading} in {crop.readings.count(reading)} of {len(crop.readings)} "
                f"views; the label is {doubt:.1f} nats less probable"
            )
        others = plates.get(plate_key(reading), 0) if reading != labels[i] else 0
        if others:  # the plate read is in the folder under its own label: one plate, two labels
            score += MAX_DOUBT / 2
            reasons.append(f"{others} other crop(s) are labelled {reading}")
        year = year_problem(labels[i])
        if year:  # often a slip, sometimes an old plate: the audit ranks, a person decides
            score += MAX_DOUBT / 2
            reasons.append(year)
        if i in twin_labels:
            score += MAX_DOUBT
            reasons.append(f"the same image as crop(s) labelled {', '.join(twin_labels[i])}")
        if score > 0:
            reason = "; ".join(reasons)
            suspects.append(Suspect(files[i], labels[i], reading, round(score, 3), reason))
    suspects.sort(key=lambda s: -s.score)
    blind = [(i, why) for i, image in enumerate(images) if (why := cannot_show_a_plate(image))]
    return suspects, duplicates, blind
