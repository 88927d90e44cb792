"""The Algerian plate format: the one place that knows what a plate number is.

Training, rendering, decoding and reporting all read these definitions, so a change to
the format (a new wilaya, a new length) is made here and nowhere else.

A plate number is a digit string of its natural length, read left to right:
- 11 digits: 6-digit serial, vehicle class + two-digit year, wilaya   (``123456 116 16``)
- 10 digits: 5-digit serial, vehicle class + year, wilaya              (``07300 111 07``)
             or a temporary plate: 6-digit serial, ``00``, wilaya      (``143794 00 16``)
-  9 digits: short 4-digit serials                                     (``1503 110 16``)
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from functools import cached_property

import numpy as np

ALPHABET = "0123456789"
PLATE_LENGTHS = (9, 10, 11)
MIN_LENGTH, MAX_LENGTH = min(PLATE_LENGTHS), max(PLATE_LENGTHS)
# 01-58 are the historical wilayas; 59-69 the ones created in 2019 and 2025.
WILAYAS = range(1, 70)

_SEPARATORS = re.compile(r"[\s\-.·]+")


def normalize_label(text: str) -> str:
    """Strip the separators people and models put between groups (spaces, dashes, dots)."""
    return _SEPARATORS.sub("", str(text))


def plate_problem(label: str) -> str | None:
    """Why ``label`` is not a valid plate number, or None when it is."""
    if not label:
        return f"label is empty, expected {MIN_LENGTH}-{MAX_LENGTH} digits"
    if not label.isdigit() or not label.isascii():
        return f"label {label!r} has characters other than digits"
    if len(label) not in PLATE_LENGTHS:
        return f"label {label!r} has {len(label)} digits, expected {MIN_LENGTH}-{MAX_LENGTH}"
    if int(label[-2:]) not in WILAYAS:
        return f"label {label!r} ends in wilaya {label[-2:]}, expected 01-{WILAYAS[-1]:02d}"
    return None


def is_valid_plate(label: str) -> bool:
    return plate_problem(label) is None


FIRST_REGISTRATION_YEAR = 1970  # the year groups most plates in use carry start here


def year_problem(label: str, this_year: int | None = None) -> str | None:
    """Why the class + year group of a valid ``label`` is unlikely (a two-digit year after
    ``this_year`` and before 1970: a slip, or a rare old plate), or None. Such a label is
    still valid: it is evidence for a person to look at, never a refusal."""
    if is_temporary(label):
        return None
    this_year = this_year or date.today().year
    group = split_groups(label)[1]
    if this_year % 100 < int(group[1:]) < FIRST_REGISTRATION_YEAR % 100:
        return (
            f"class + year group {group}: year {group[1:]} is outside "
            f"{FIRST_REGISTRATION_YEAR}-{this_year} (a slip, or a rare old plate)"
        )
    return None


def is_temporary(label: str) -> bool:
    """Whether a 10-digit number reads as temporary (6 + ``00`` + 2).

    A 5-digit serial registered in 2000 (``12345 100 16``) has the same digits; only the
    printed spacing differs, so this decides the display form and never the label.
    """
    return len(label) == 10 and label[6:8] == "00"


def split_groups(label: str) -> tuple[str, ...]:
    """The printed groups of a plate: (serial, class+year, wilaya)."""
    if is_temporary(label):
        return label[:6], label[6:8], label[8:]
    return label[:-5], label[-5:-2], label[-2:]


def display_form(label: str) -> str:
    """The plate as printed: ``123456 116 16``. Ten digits with ``00`` at the year show as a
    plate of 2000 (``00714 300 18``), as real crops print them far more often than a
    temporary plate; a class digit of 0, which no vehicle class has, shows as temporary."""
    if is_temporary(label) and label[5] != "0":
        return " ".join((label[:5], label[5:8], label[8:]))
    return " ".join(split_groups(label))


def _cumulative(weights: dict) -> tuple[list, np.ndarray]:
    """A weight table as its keys and their cumulative distribution, for ``pick``."""
    p = np.array(list(weights.values()), dtype=np.float64)
    return list(weights), np.cumsum(p) / p.sum()


def pick(rng: np.random.Generator, cdf) -> int:
    """Index drawn from a cumulative distribution: ``rng.choice(p=...)`` costs ~10x more."""
    return min(bisect_right(cdf, rng.random()), len(cdf) - 1)


# Wilaya frequencies: Algiers (16) dominates real traffic; big cities next; the rest even.
_BIG_WILAYAS = {9: 4, 31: 4, 25: 3, 19: 3, 6: 2, 35: 3, 42: 3, 43: 3, 18: 3, 15: 2, 23: 2, 5: 2}
_WILAYA_WEIGHTS = {w: 0.2 if w > 58 else 1.0 for w in WILAYAS} | _BIG_WILAYAS | {16: 40}


@dataclass(frozen=True)
class PlateSampler:
    """Samples realistic plate numbers; the frequencies follow real Algerian traffic.

    Each field is a weight table so that a user can skew the generator (more 11-digit plates,
    a single wilaya) without touching the code.
    """

    # form -> weight; forms: "11" (6+3+2), "10" (5+3+2), "temporary" (6+00+2), "9" (4+3+2)
    forms: tuple[tuple[str, float], ...] = (
        ("10", 0.5),
        ("11", 0.4),
        ("temporary", 0.05),
        ("9", 0.05),
    )
    # vehicle class digit -> weight (1 = passenger car, 3 = light truck)
    classes: tuple[tuple[int, float], ...] = (
        (1, 0.75),
        (3, 0.1),
        (2, 0.04),
        (4, 0.03),
        (5, 0.02),
        (6, 0.02),
        (7, 0.02),
        (8, 0.01),
        (9, 0.01),
    )
    first_year: int = FIRST_REGISTRATION_YEAR
    last_year: int = 2025
    peak_year: int = 2012
    wilayas: tuple[tuple[int, float], ...] = tuple(_WILAYA_WEIGHTS.items())

    @cached_property
    def _tables(self) -> dict[str, tuple[list, np.ndarray]]:
        years = np.arange(self.first_year, self.last_year + 1)
        year_weights = 0.15 + np.exp(-0.5 * ((years - self.peak_year) / 6.0) ** 2)
        return {
            "form": _cumulative(dict(self.forms)),
            "class": _cumulative(dict(self.classes)),
            "year": _cumulative(dict(zip(years.tolist(), year_weights, strict=True))),
            "wilaya": _cumulative(dict(self.wilayas)),
        }

    def _draw(self, rng: np.random.Generator, table: str):
        keys, cdf = self._tables[table]
        return keys[pick(rng, cdf)]

    def sample(self, rng: np.random.Generator) -> str:
        form = str(self._draw(rng, "form"))
        wilaya = f"{int(self._draw(rng, 'wilaya')):02d}"
        if form == "temporary":
            return f"{self._serial(rng, 6)}00{wilaya}"
        serial_digits = {"11": 6, "10": 5, "9": 4}[form]
        class_year = f"{int(self._draw(rng, 'class'))}{int(self._draw(rng, 'year')) % 100:02d}"
        return f"{self._serial(rng, serial_digits)}{class_year}{wilaya}"

    def sample_many(self, rng: np.random.Generator, n: int) -> list[str]:
        return [self.sample(rng) for _ in range(n)]

    @staticmethod
    def _serial(rng: np.random.Generator, digits: int) -> str:
        # Serials are issued in order, so low numbers (leading zeros) are the most common.
        top = 10**digits
        high = top if rng.random() < 0.15 else top // 5
        return f"{int(rng.integers(0, high)):0{digits}d}"


def sample_plate(rng: np.random.Generator) -> str:
    """A realistic plate number with the default frequencies."""
    return _DEFAULT_SAMPLER.sample(rng)


_DEFAULT_SAMPLER = PlateSampler()
