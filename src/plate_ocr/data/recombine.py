"""Recombined real plates: new plate numbers made of the real training crops' own pixels.

A reader aligns each crop with its label (CTC's best alignment of the label), which places
each digit; a crop is kept only when those places fit its label's groups (an even pitch
inside each group, no group closer than that). A recombined crop is one such crop with its
digits permuted inside their groups, each cell resized into its new place and feathered at
its edges: the plate's own background, furniture, blur and light stay, and the label is a
new valid plate number. Only the crops it is given feed it: give it training crops alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from torch.utils.data import Dataset
from tqdm import tqdm

from plate_ocr.data.model_input import prepare
from plate_ocr.model.codec import BLANK
from plate_ocr.model.metrics import edit_counts
from plate_ocr.plates import ALPHABET, is_valid_plate, split_groups

MAX_PITCH_SPREAD = 0.25  # coefficient of variation of the digit pitch inside a group
FEATHER = 0.15  # a pasted cell fades in over this share of its width at each edge
PERMUTATION_TRIES = 8  # draws of a permutation before a crop is shown as it is
VETTING_DRAWS = 2  # recombinations of a crop read to check its cells
MAX_OWN_ERRORS = 2  # digits the reader may miss on a crop whose alignment is trusted


def ctc_alignment(log_probs: np.ndarray, label: str) -> np.ndarray:
    """The column each character of ``label`` is read at, by CTC's most probable alignment:
    (L,) centres in columns (the probability-weighted mean of the columns it holds)."""
    targets = [ALPHABET.index(ch) + 1 for ch in label]
    states = [BLANK]
    for target in targets:
        states += [target, BLANK]
    states = np.array(states)
    columns, count = log_probs.shape[0], len(states)
    emit = log_probs[:, states]  # (T, S)
    # a non-blank state may be reached from two back unless it repeats the character there
    skip = np.zeros(count, bool)
    skip[2:] = (states[2:] != BLANK) & (states[2:] != states[:-2])
    score = np.full(count, -np.inf)
    score[:2] = emit[0, :2]
    back = np.zeros((columns, count), np.int64)
    for t in range(1, columns):
        stay, step = score, np.concatenate([[-np.inf], score[:-1]])
        jump = np.where(skip, np.concatenate([[-np.inf, -np.inf], score[:-2]]), -np.inf)
        choices = np.stack([stay, step, jump])
        best = choices.argmax(axis=0)
        score = choices[best, np.arange(count)] + emit[t]
        back[t] = np.arange(count) - best
    state = count - 1 if score[-1] >= score[-2] else count - 2
    path = np.empty(columns, np.int64)
    for t in range(columns - 1, -1, -1):
        path[t] = state
        state = back[t, state]
    probability = np.exp(emit[np.arange(columns), path])
    centres = np.empty(len(targets))
    for k in range(len(targets)):
        held = np.flatnonzero(path == 2 * k + 1)
        centres[k] = np.average(held, weights=probability[held]) if held.size else np.nan
    return centres


def digit_cells(centres: np.ndarray, label: str, width: int) -> np.ndarray | None:
    """(L, 2) pixel columns (left, right) of each digit of a crop ``width`` wide, from their
    centres in pixels; None when the places do not fit the label's groups."""
    if np.isnan(centres).any() or (np.diff(centres) <= 0).any():
        return None
    groups = np.repeat(np.arange(3), [len(g) for g in split_groups(label)])
    same = groups[1:] == groups[:-1]
    pitches = np.diff(centres)
    inside = pitches[same]
    pitch = float(np.median(inside))
    if inside.std() > MAX_PITCH_SPREAD * pitch or (pitches[~same] < 0.9 * pitch).any():
        return None
    cells = np.empty((len(label), 2))
    cells[:, 0] = centres - pitch / 2
    cells[:, 1] = centres + pitch / 2
    middles = (centres[1:] + centres[:-1]) / 2  # inside a group, cells meet half way
    cells[1:, 0] = np.where(same, middles, cells[1:, 0])
    cells[:-1, 1] = np.where(same, middles, cells[:-1, 1])
    cells = np.clip(np.round(cells), 0, width).astype(np.int64)
    return cells if (cells[:, 1] - cells[:, 0] >= 2).all() else None


def _edge_energy(image: np.ndarray) -> np.ndarray:
    """How much each column of a crop changes, over the middle rows where the digits are:
    low in the gaps between digits, whatever the colours."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    height = grey.shape[0]
    band = grey[height // 5 : height - height // 5]
    energy = np.abs(np.diff(band, axis=0)).sum(axis=0)
    return np.convolve(energy, np.ones(3) / 3, mode="same")


def refine_cells(image: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Move each cell edge to the quietest column within a quarter pitch of it: an alignment
    places digits to a column of the network's input, a gap is where the ink is not."""
    energy = _edge_energy(image)
    refined = cells.copy()
    reach = max(1, int(np.median(cells[:, 1] - cells[:, 0])) // 4)
    edges = sorted({int(v) for v in cells.flatten()})
    moved = {}
    for edge in edges:
        low, high = max(0, edge - reach), min(len(energy), edge + reach + 1)
        moved[edge] = low + int(np.argmin(energy[low:high])) if high > low else edge
    for k in range(len(cells)):
        refined[k] = moved[int(cells[k, 0])], moved[int(cells[k, 1])]
    widths = refined[:, 1] - refined[:, 0]
    return refined if (widths >= 2).all() else cells


def locate_digits(network, images: Sequence[np.ndarray], labels: Sequence[str]) -> list:
    """Each crop's digit cells (see ``digit_cells``), or None where the reader's alignment
    does not fit the label, where the reader misreads the crop by more than
    ``MAX_OWN_ERRORS`` digits (its alignment is a guess), or where each of ``VETTING_DRAWS``
    recombinations reads worse against its new label than the crop does against its own
    (cells that cut through a digit); ``network``: a PlateReader."""
    # a bar per step: on two cores this takes a minute or more for a thousand crops
    progress = tqdm(total=len(images) * (2 + VETTING_DRAWS), desc="placing digits", unit="crop")
    located = _aligned_cells(network, images, labels, progress)
    bases = [i for i, cells in enumerate(located) if cells is not None]
    readings = network([images[i] for i in bases])
    progress.update(len(images))
    own = [_errors(r.text, labels[i]) for r, i in zip(readings, bases, strict=True)]
    trial = RecombinedPlates(
        [images[i] for i in bases], [labels[i] for i in bases], [located[i] for i in bases]
    )
    best = np.full(len(bases), np.iinfo(np.int64).max)
    for draw in range(VETTING_DRAWS):
        made = [trial.recombined(k, np.random.default_rng([draw, k])) for k in range(len(bases))]
        readings = network([image for image, _ in made])
        progress.update(len(images))
        errors = [_errors(r.text, label) for r, (_, label) in zip(readings, made, strict=True)]
        best = np.minimum(best, errors)
    own = np.array(own)
    for k in np.flatnonzero((best > own) | (own > MAX_OWN_ERRORS)):
        located[bases[k]] = None
    progress.close()
    return located


def _errors(reading: str, label: str) -> int:
    """Characters wrong, missing or extra: the edit distance."""
    return edit_counts(label, reading)[0]


def _aligned_cells(network, images: Sequence[np.ndarray], labels: Sequence[str], progress) -> list:
    located = []
    for start in range(0, len(images), 64):
        progress.update(len(images[start : start + 64]))
        batch = list(images[start : start + 64])
        pixels = prepare(batch, network.image_size, network.in_channels)
        log_probs = np.asarray(network.log_probs(pixels))
        for image, label, row in zip(batch, labels[start : start + 64], log_probs, strict=True):
            scale = image.shape[1] / row.shape[0]  # pixels per column
            centres = (ctc_alignment(row, label) + 0.5) * scale
            cells = digit_cells(centres, label, image.shape[1])
            located.append(None if cells is None else refine_cells(image, cells))
    return located


@dataclass(frozen=True)
class _Base:
    image: np.ndarray
    label: str
    cells: list[tuple[int, int]]
    offsets: np.ndarray  # (L, L): rows to move cell s down to sit in cell t's place


def _offsets(image: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """For each pair of cells, how far to move one down for its digit to sit where the
    other's does: on a tilted plate a digit moved sideways would step up or down. Each
    cell's rows' mean brightness, correlated over shifts of up to a sixth of the height."""
    profiles = np.stack([image[:, left:right].mean(axis=(1, 2)) for left, right in cells])
    profiles -= profiles.mean(axis=1, keepdims=True)  # (L, H)
    height = image.shape[0]
    reach = max(1, height // 6)
    kept = height - 2 * reach  # the middle rows, where a shift never runs off the crop
    # windows[s, k] is cell s's profile moved down by k - reach rows, over the middle rows
    windows = np.lib.stride_tricks.sliding_window_view(profiles, kept, axis=1)[:, ::-1]
    scores = np.einsum("skm,tm->skt", windows, profiles[:, reach : reach + kept])
    offsets = scores.argmax(axis=1) - reach  # (L, L): source s, target t
    np.fill_diagonal(offsets, 0)
    return offsets.astype(np.int64)


def _permuted(label: str, rng: np.random.Generator) -> list[int] | None:
    """A new order of ``label``'s positions, each group's digits shuffled among themselves,
    that spells another valid plate; None when the draws find none."""
    sizes = [len(group) for group in split_groups(label)]
    starts = np.cumsum([0, *sizes[:-1]])
    for _ in range(PERMUTATION_TRIES):
        order = np.concatenate(
            [start + rng.permutation(size) for start, size in zip(starts, sizes, strict=True)]
        )
        text = "".join(label[i] for i in order)
        if text != label and is_valid_plate(text):
            return order.tolist()
    return None


def _feather(width: int) -> np.ndarray:
    """A pasted cell's weight by column: 1 inside, fading to 0 over its edges."""
    ramp = min(max(1, round(FEATHER * width)), width // 2)
    alpha = np.ones(width, np.float32)
    rising = (np.arange(ramp, dtype=np.float32) + 1) / (ramp + 1)
    alpha[:ramp], alpha[width - ramp :] = rising, rising[::-1]
    return alpha


def _recombine(base: _Base, order: list[int]) -> np.ndarray:
    """The base crop with cell ``order[t]`` drawn into each cell ``t``: each moved cell
    resized (nearest column) into its new place, shifted up or down to line up with the
    digit it covers, and blended in at its edges, in one gather and one blend."""
    height, width = base.image.shape[:2]
    columns = np.arange(width)
    shifts = np.zeros(width, np.int64)
    alpha = np.zeros(width, np.float32)
    for target, source in enumerate(order):
        if source == target:
            continue
        left, right = base.cells[target]
        s_left, s_right = base.cells[source]
        span = right - left
        columns[left:right] = s_left + ((np.arange(span) + 0.5) * (s_right - s_left)) // span
        shifts[left:right] = base.offsets[source, target]
        alpha[left:right] = _feather(span)
    rows = np.clip(np.arange(height)[:, None] - shifts[None, :], 0, height - 1)
    moved = base.image[rows, np.minimum(columns, width - 1)[None, :]]
    weight = alpha[None, :, None]
    return (weight * moved + (1 - weight) * base.image + 0.5).astype(np.uint8)


class RecombinedPlates(Dataset):
    """Recombined crops, (H, W, 3) uint8 RGB with their new labels, ``length`` of them,
    each a function of (seed, index): which crop, which permutation."""

    def __init__(
        self,
        images: Sequence[np.ndarray],
        labels: Sequence[str],
        cells: Sequence[np.ndarray | None],
        seed: int = 0,
        length: int = 2**62,
    ):
        self.bases = [
            _Base(image, label, [(int(a), int(b)) for a, b in found], _offsets(image, found))
            for image, label, found in zip(images, labels, cells, strict=True)
            if found is not None
        ]
        self.seed, self.length = seed, length

    def __len__(self) -> int:
        return self.length if self.bases else 0

    def __getitem__(self, index: int) -> tuple[np.ndarray, str]:
        rng = np.random.default_rng([self.seed, index])
        return self.recombined(int(rng.integers(len(self.bases))), rng)

    def recombined(self, k: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        """Base crop ``k`` with its digits permuted by ``rng`` (as it is when no permutation
        spells a valid plate), and the new label."""
        base = self.bases[k]
        order = _permuted(base.label, rng)
        if order is None:
            return base.image, base.label
        return _recombine(base, order), "".join(base.label[i] for i in order)
