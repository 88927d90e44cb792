"""Recombined real plates: digits placed by the CTC alignment, new valid labels, and no pixel
of a validation plate in training."""

from collections import Counter

import cv2
import numpy as np
import pytest

from plate_ocr.data.recombine import RecombinedPlates, ctc_alignment, digit_cells
from plate_ocr.model.codec import BLANK
from plate_ocr.plates import ALPHABET, is_valid_plate, split_groups


def _peaked(label: str, columns: list[int], total: int = 40) -> np.ndarray:
    """Log-probabilities that read ``label`` with character k at ``columns[k]``."""
    log_probs = np.full((total, len(ALPHABET) + 1), -9.0)
    log_probs[:, BLANK] = -0.01
    for ch, column in zip(label, columns, strict=True):
        log_probs[column] = -9.0
        log_probs[column, ALPHABET.index(ch) + 1] = -0.01
    return log_probs


def test_the_alignment_places_each_character_at_its_column_repeats_included():
    label = "0073411018"  # two 0s, two 1s side by side: CTC needs a blank between them
    columns = [2, 5, 8, 11, 14, 19, 22, 25, 31, 34]
    assert ctc_alignment(_peaked(label, columns), label).tolist() == columns


def test_digit_cells_follow_the_groups_and_refuse_an_uneven_pitch():
    label = "12345611616"  # 123456 116 16
    centres = np.array([10, 20, 30, 40, 50, 60, 75, 85, 95, 110, 120], float)
    cells = digit_cells(centres, label, 130)
    assert cells[:6, 1].tolist() == cells[1:7, 0].tolist()[:5] + [65]  # meet inside a group
    assert cells[5, 1] <= cells[6, 0]  # a gap between groups stays where it is
    uneven = centres.copy()
    uneven[2] = 23
    assert digit_cells(uneven, label, 130) is None
    close = centres.copy()
    close[6:] -= 8  # the class group closer than a pitch to the serial: not these groups
    assert digit_cells(close, label, 130) is None


def _striped_plate(label: str) -> tuple[np.ndarray, np.ndarray]:
    """A crop whose digit k is a block of grey 20 * k, in known cells."""
    image = np.full((30, 12 * len(label) + 20, 3), 250, np.uint8)
    cells = np.array([(10 + 12 * k, 22 + 12 * k) for k in range(len(label))])
    for k, (left, right) in enumerate(cells):
        image[8:22, left + 2 : right - 2] = 20 * k
    return image, cells


def test_a_recombined_crop_is_its_base_with_digits_permuted_inside_their_groups():
    label = "12345611616"
    image, cells = _striped_plate(label)
    plates = RecombinedPlates([image], [label], [cells], seed=3, length=50)
    for index in range(50):
        crop, new = plates[index]
        assert crop.shape == image.shape and is_valid_plate(new)
        assert [Counter(g) for g in split_groups(new)] == [Counter(g) for g in split_groups(label)]
        if new == label:
            continue
        # each cell's middle now shows the block of the digit it came from
        for k, (left, right) in enumerate(cells):
            shade = int(crop[15, (left + right) // 2, 0])
            assert label[shade // 20] == new[k]
    again, _ = plates[7]
    assert (again == plates[7][0]).all()  # a function of (seed, index)
    assert not all((plates[i][0] == image).all() for i in range(10))


def test_crops_whose_digits_could_not_be_placed_do_not_feed_it():
    image, cells = _striped_plate("12345611616")
    plates = RecombinedPlates([image, image], ["12345611616", "0730011107"], [cells, None])
    assert [base.label for base in plates.bases] == ["12345611616"]
    assert len(RecombinedPlates([image], ["0730011107"], [None])) == 0


@pytest.fixture
def marked_real_folder(tmp_path):
    """Rendered plates: training crops plain, validation crops carrying a magenta block that
    no training crop has, so a training pixel of that colour can only have leaked."""
    from plate_ocr.data.real_split import fold_of
    from plate_ocr.plates import sample_plate
    from plate_ocr.synth import render_plate

    rng = np.random.default_rng(1)
    for i in range(60):
        label = sample_plate(rng)
        image = render_plate(label, rng, size=(48, 150))
        split = "train" if i % 4 else "validation"
        if fold_of(label, 3) == 0:
            image[:6, :6] = (255, 0, 255)
        (tmp_path / split).mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / split / f"{label}_{i}.png"), image[..., ::-1])
    return tmp_path


def test_no_pixel_of_a_validation_plate_reaches_a_training_batch(marked_real_folder):
    from plate_ocr.data.datamodule import PlateDataModule

    datamodule = PlateDataModule(
        real_dir=str(marked_real_folder),
        real_fold=0,
        real_folds=3,
        real_ratio=0.3,
        recombined_ratio=0.6,
        epoch_size=256,
        image_size=(32, 128),
        channels=3,
        augmentation={"synthetic": "none", "real": "none", "recombined": "none"},
        num_workers=0,
        synthetic_val_size=0,
        synthetic_test_size=0,
    )
    datamodule.setup("fit")
    recombined = datamodule.train_sources["recombined"]
    validation = datamodule.eval_sources["validation"]["real"]
    magenta = np.array([255, 0, 255])
    assert any((image[:6, :6] == magenta).all() for image in validation.images)  # marked
    assert recombined.bases and not any(
        (base.image == magenta).all(axis=-1).any() for base in recombined.bases
    )
    sources = Counter()
    for batch in datamodule.train_dataloader():
        sources.update(batch["sources"])
        pixels = (batch["images"] * 255).round().byte().permute(0, 2, 3, 1).numpy()
        assert not (pixels == magenta).all(axis=-1).any()
    assert abs(sources["recombined"] / 256 - 0.6) < 0.02 and abs(sources["real"] / 256 - 0.3) < 0.02


def test_the_vertical_offsets_are_the_best_shift_of_each_cells_row_profile():
    """Each pair's offset is the shift, within a sixth of the height, that best correlates
    one cell's row profile with the other's over the middle rows (a plain loop here)."""
    from plate_ocr.data.recombine import _offsets

    rng = np.random.default_rng(3)
    for height in (30, 61):
        image = cv2.GaussianBlur(rng.integers(0, 255, (height, 120, 3), np.uint8), (0, 0), 2)
        cells = np.array([[0, 12], [12, 30], [30, 41], [41, 77], [77, 120]])
        profiles = [image[:, a:b].mean(axis=(1, 2)) for a, b in cells]
        profiles = [p - p.mean() for p in profiles]
        reach = height // 6
        middle = slice(reach, height - reach)
        expected = np.zeros((len(cells), len(cells)), np.int64)
        for s, source in enumerate(profiles):
            for t, target in enumerate(profiles):
                scores = [
                    np.roll(source, k)[middle] @ target[middle] for k in range(-reach, reach + 1)
                ]
                expected[s, t] = 0 if s == t else int(np.argmax(scores)) - reach
        assert (_offsets(image, cells) == expected).all()
        assert (expected != 0).any()  # the check compares shifts, not zeros


def test_digit_places_are_computed_once_per_crops_and_kept(real_folder, monkeypatch, tmp_path):
    """Every sweep job and preview placed the same crops' digits again (a silent minute)."""
    from plate_ocr.data import digit_places
    from plate_ocr.data.folder import PlateFolder, find_splits

    monkeypatch.setenv("PLATE_OCR_CACHE", str(tmp_path / "cache"))
    crops = PlateFolder(find_splits(real_folder)["train"])
    calls = []
    locate = digit_places.locate_digits
    monkeypatch.setattr(digit_places, "locate_digits", lambda *a: calls.append(1) or locate(*a))
    first = digit_places.placed_digits(crops.images, crops.labels)
    again = digit_places.placed_digits(crops.images, crops.labels)
    assert len(calls) == 1 and len(first) == len(again) == len(crops.labels)
    for a, b in zip(first, again, strict=True):
        assert (a is None and b is None) or (np.array_equal(a, b) and a.dtype == b.dtype)
    # other crops miss; a damaged cache file is placed again, not trusted
    digit_places.placed_digits(crops.images[1:], crops.labels[1:])
    assert len(calls) == 2
    for cached in (tmp_path / "cache").iterdir():
        cached.write_text("[1, 2")
    digit_places.placed_digits(crops.images, crops.labels)
    assert len(calls) == 3
