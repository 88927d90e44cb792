import logging

import numpy as np
import pytest

from plate_ocr.data.folder import PlateFolder, find_splits, scan_folder, split_by_plate
from plate_ocr.data.real_split import RealSplit, plate_key
from plate_ocr.errors import UserError


def test_split_folders_read_labels_at_natural_length(tmp_path, write_crop):
    write_crop(tmp_path / "train" / "12345611616.jpg")
    write_crop(tmp_path / "train" / "12345611616_1.JPG")
    write_crop(tmp_path / "train" / "150311016.png")
    write_crop(tmp_path / "validation" / "0073411018 (2).jpeg")
    (tmp_path / "train" / "notes.txt").write_text("not an image, ignored")
    splits = find_splits(tmp_path)
    assert {name: [label for _, label in samples] for name, samples in splits.items()} == {
        "train": ["12345611616", "12345611616", "150311016"],
        "validation": ["0073411018"],
        "test": [],
    }
    assert all(path.is_file() for samples in splits.values() for path, _ in samples)


def test_labels_csv_takes_precedence_over_file_names(tmp_path, write_crop):
    write_crop(tmp_path / "train" / "11111111116.jpg")
    write_crop(tmp_path / "train" / "photo one.png")
    (tmp_path / "train" / "labels.csv").write_text(
        "filename,text\n11111111116.jpg,222222 216 16\nphoto one.png,0073411018\n"
    )
    labels = sorted(label for _, label in find_splits(tmp_path)["train"])
    assert labels == ["0073411018", "22222221616"]


def _flat_folder(root, write_crop, plates=60):
    rng = np.random.default_rng(1)
    for i in range(plates):
        label = f"{i:06d}11{i % 10}16"
        for copy in range(int(rng.integers(1, 4))):
            write_crop(root / (label + (f"_{copy}" if copy else "") + ".jpg"), size=(8, 16))


def test_flat_folder_is_split_by_plate_and_seeded(tmp_path, write_crop):
    _flat_folder(tmp_path, write_crop)
    splits = find_splits(tmp_path, seed=3)
    plates = {name: {label for _, label in samples} for name, samples in splits.items()}
    assert not plates["train"] & plates["validation"]
    assert not plates["train"] & plates["test"]
    assert not plates["validation"] & plates["test"]
    everything = sorted(sample for samples in splits.values() for sample in samples)
    assert everything == sorted((p, p.stem.split("_")[0]) for p in tmp_path.iterdir())
    total = len(everything)
    assert 0.7 * total <= len(splits["train"]) <= 0.9 * total
    assert len(splits["validation"]) and len(splits["test"])
    assert find_splits(tmp_path, seed=3) == splits
    assert find_splits(tmp_path, seed=4) != splits


def test_split_by_plate_honours_zero_fractions(tmp_path):
    samples = [(tmp_path / f"{i}.jpg", f"{i:010d}") for i in range(20)]
    splits = split_by_plate(samples, fractions=(1, 0, 0))
    assert len(splits["train"]) == 20 and not splits["validation"] and not splits["test"]
    with pytest.raises(UserError, match="sum to 1"):
        split_by_plate(samples, fractions=(0.5, 0.1, 0.1))


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("IMG_0001.jpg", "characters other than digits"),
        ("1234567890123.jpg", "has 13 digits, expected 9-11"),
        ("12345611600.jpg", "ends in wilaya 00"),
    ],
)
def test_bad_label_names_the_file(tmp_path, write_crop, name, reason):
    write_crop(tmp_path / "train" / "12345611616.jpg")
    write_crop(tmp_path / "train" / name)
    with pytest.raises(UserError, match=reason) as error:
        find_splits(tmp_path)
    assert str(tmp_path / "train" / name) in str(error.value)
    assert "\n" not in str(error.value)


def test_csv_row_naming_a_missing_file(tmp_path, write_crop):
    write_crop(tmp_path / "a.jpg")
    (tmp_path / "labels.csv").write_text("a.jpg,12345611616\ngone.jpg,12345611616\n")
    with pytest.raises(UserError, match=r"gone.jpg: named in labels.csv line 2 but .* not exist"):
        find_splits(tmp_path)


def test_image_missing_from_labels_csv(tmp_path, write_crop):
    write_crop(tmp_path / "a.jpg")
    write_crop(tmp_path / "b.jpg")
    (tmp_path / "labels.csv").write_text("a.jpg,12345611616\n")
    with pytest.raises(UserError, match=r"b.jpg: not listed in"):
        find_splits(tmp_path)


def test_empty_folders(tmp_path, write_crop):
    with pytest.raises(UserError, match=r"folder has no plate crop images"):
        find_splits(tmp_path)
    write_crop(tmp_path / "train" / "12345611616.jpg")
    (tmp_path / "test").mkdir()
    with pytest.raises(UserError, match=r"test: folder has no"):
        find_splits(tmp_path)


def test_missing_root_names_the_setting_to_fix(tmp_path):
    with pytest.raises(UserError, match=r"nowhere does not exist: set data.real.root to"):
        find_splits(tmp_path / "nowhere", config_key="data.real.root")


def test_skip_bad_drops_bad_files_with_one_counted_warning(tmp_path, write_crop, caplog):
    for i in range(19):
        write_crop(tmp_path / "train" / f"1234{i:02d}11616.jpg", size=(8, 16))
    write_crop(tmp_path / "train" / "IMG_1.jpg")
    write_crop(tmp_path / "train" / "123.jpg")
    with caplog.at_level(logging.WARNING):
        splits = find_splits(tmp_path, skip_bad=True)
    assert len(splits["train"]) == 19 and "skipping 2 bad input(s)" in caplog.text


def test_skip_bad_stops_when_much_of_the_folder_is_bad(tmp_path, write_crop):
    write_crop(tmp_path / "train" / "12345611616.jpg")
    write_crop(tmp_path / "train" / "IMG_1.jpg")
    write_crop(tmp_path / "train" / "123.jpg")
    with pytest.raises(UserError, match=r"2 of 3 inputs .* are bad, more than skip_bad drops"):
        find_splits(tmp_path, skip_bad=True)


def test_plate_folder_decodes_rgb_once_even_from_non_ascii_paths(tmp_path, write_crop):
    path = write_crop(tmp_path / "plaque é" / "12345611616.png", colour=(255, 0, 0))
    dataset = PlateFolder([(path, "12345611616")])
    path.unlink()  # decoded up front: the file is no longer needed
    image, label = dataset[0]
    assert len(dataset) == 1 and label == "12345611616"
    assert image.shape == (24, 80, 3) and image.dtype == np.uint8
    assert tuple(image[0, 0]) == (255, 0, 0)


def test_unreadable_image_names_the_file(tmp_path, write_crop):
    good = write_crop(tmp_path / "12345611616.jpg")
    bad = tmp_path / "12345611617.jpg"
    bad.write_bytes(b"not a jpeg")
    empty = tmp_path / "12345611618.jpg"
    empty.touch()
    for path in (bad, empty):
        with pytest.raises(UserError, match="not a readable image") as error:
            PlateFolder([(good, "12345611616"), (path, "12345611617")])
        assert str(path) in str(error.value)
    dataset = PlateFolder([(good, "1"), (bad, "2"), (empty, "3")], skip_bad=True)
    assert dataset.labels == ["1"]


@pytest.mark.parametrize(
    ("size", "words"), [((1, 1), "too small"), ((6, 80), "too small"), ((40, 4100), "not a plate")]
)
def test_crops_of_impossible_sizes_are_named(tmp_path, write_crop, size, words):
    """A 1x1 crop used to train silently; a whole photo was decoded into memory as a crop."""
    path = write_crop(tmp_path / "12345611616.png", size=size)
    with pytest.raises(UserError, match=words) as error:
        PlateFolder([(path, "12345611616")])
    assert str(path) in str(error.value)


def test_symlink_loops_in_a_folder_are_named_not_followed_for_ever(tmp_path, write_crop):
    for split in ("train", "validation"):
        write_crop(tmp_path / split / "12345611616.jpg")
    (tmp_path / "train" / "loop").symlink_to(tmp_path)
    (tmp_path / "loop").symlink_to(tmp_path)
    problems = {str(p.path.relative_to(tmp_path)) for p in scan_folder(tmp_path).problems}
    assert problems == {"loop", "train/loop"}  # folders of images that are not read
    splits = scan_folder(tmp_path).splits
    assert len(splits["train"]) == 1 and len(splits["validation"]) == 1


def _plates(samples) -> set[str]:
    return {plate_key(label) for _, label in samples}


def _check_folds(root, folds: int) -> None:
    given = find_splits(root)
    pooled = sorted(given["train"] + given["validation"])
    held_out = []
    for fold in range(folds):
        splits = RealSplit(str(root), fold, folds).splits()
        assert not _plates(splits["train"]) & _plates(splits["validation"])
        assert sorted(splits["train"] + splits["validation"]) == pooled
        assert splits["test"] == given["test"]
        held_out += splits["validation"]
    assert sorted(held_out) == pooled  # every crop validates exactly once


def test_folds_are_plate_disjoint_and_hold_out_every_crop_once(real_folder):
    _check_folds(real_folder, 3)


@pytest.mark.slow  # every LPA crop: the full suite runs it
def test_lpa_folds_are_plate_disjoint_and_balanced(lpa_dir):
    _check_folds(lpa_dir, 5)
    sizes = [len(RealSplit(str(lpa_dir), fold, 5).splits()["validation"]) for fold in range(5)]
    assert min(sizes) > 0.8 * sum(sizes) / 5, sizes


def test_a_plate_that_lost_its_leading_zero_stays_in_one_fold(tmp_path, write_crop):
    for i in range(12):
        write_crop(tmp_path / "train" / f"0{i:05d}10516.jpg", size=(8, 16))
        write_crop(tmp_path / "validation" / f"{i:05d}10516.jpg", size=(8, 16))
    for fold in range(3):
        splits = RealSplit(str(tmp_path), fold, 3).splits()
        assert not _plates(splits["train"]) & _plates(splits["validation"])


def test_the_folders_own_validation_drops_plates_train_holds(tmp_path, write_crop, caplog):
    write_crop(tmp_path / "train" / "12345611616.jpg")
    write_crop(tmp_path / "validation" / "12345611616_1.jpg")
    write_crop(tmp_path / "validation" / "0073411018.jpg")
    with caplog.at_level(logging.WARNING):
        splits = RealSplit(str(tmp_path), fold=None).splits()
    assert [label for _, label in splits["validation"]] == ["0073411018"]
    assert "1 of 2 validation crops show plates that train also holds" in caplog.text


@pytest.mark.parametrize("fold, folds", [(5, 5), (-1, 5), (0, 1)])
def test_a_fold_out_of_range_names_the_keys(real_folder, fold, folds):
    with pytest.raises(UserError, match=r"data.real_fold=.*data.real_folds="):
        RealSplit(str(real_folder), fold, folds).splits()


def test_label_fixes_correct_and_drop_crops_before_the_split(tmp_path, write_crop, capsys):
    """A person's corrections (file,text) apply wherever the folder is read, and say so; a
    template row with no text yet changes nothing."""
    from plate_ocr.cli import main

    wrong = write_crop(tmp_path / "train" / "0433411231.jpg")
    cut = write_crop(tmp_path / "train" / "112730834.jpg")
    kept = write_crop(tmp_path / "train" / "12345611616.jpg")
    write_crop(tmp_path / "validation" / "0730011107.jpg")
    (tmp_path / "label_fixes.csv").write_text(
        "file,text\ntrain/0433411231.jpg,3433411231\ntrain/112730834.jpg,drop\n"
        "train/12345611616.jpg,\n"
    )
    splits = find_splits(tmp_path)
    assert splits["train"] == sorted([(wrong, "3433411231"), (kept, "12345611616")])
    assert cut not in {path for path, _ in splits["train"]}
    assert main(["inspect", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "label fixes (2) from" in out and "train/0433411231.jpg: 0433411231 -> 3433411231" in out
    assert "train/112730834.jpg: dropped (line 3)" in out
    # the corrected label decides the fold its crop validates in
    from plate_ocr.data.real_split import fold_of

    fold = fold_of("3433411231", 3)
    assert (wrong, "3433411231") in RealSplit(str(tmp_path), fold, 3).splits()["validation"]


def test_a_fix_that_names_no_crop_or_a_bad_label_is_a_problem(tmp_path, write_crop):
    write_crop(tmp_path / "12345611616.jpg")
    fixes = tmp_path / "elsewhere.csv"
    fixes.write_text("file,text\n12345611616.jpg,99\nmissing.jpg,drop\n")
    reasons = [p.reason for p in scan_folder(tmp_path, label_fixes=fixes).problems]
    assert any("elsewhere.csv line 2" in r for r in reasons)
    assert any("named in" in r and "line 3 but not a labelled crop" in r for r in reasons)
    with pytest.raises(UserError, match="data.label_fixes=nowhere.csv: no such file"):
        scan_folder(tmp_path, label_fixes="nowhere.csv")


def test_one_crop_fixed_twice_under_two_spellings_is_a_problem(tmp_path, write_crop):
    """``a.jpg,drop`` then ``./a.jpg,LABEL``: the last row won, in silence."""
    write_crop(tmp_path / "12345611616.jpg")
    fixes = tmp_path / "fixes.csv"
    fixes.write_text("file,text\n12345611616.jpg,drop\n./12345611616.jpg,12345611617\n")
    scanned = scan_folder(tmp_path, label_fixes=fixes)
    assert [p.reason for p in scanned.problems] == [f"named on lines 2 and 3 of {fixes}: keep one"]


def test_fixes_that_drop_every_crop_are_a_problem_inspect_names(tmp_path, write_crop, capsys):
    from plate_ocr.cli import main

    write_crop(tmp_path / "12345611616.jpg")
    (tmp_path / "label_fixes.csv").write_text("file,text\n12345611616.jpg,drop\n")
    assert main(["inspect", str(tmp_path)]) == 1
    assert "its fixes drop every crop" in capsys.readouterr().out


def test_an_entry_whose_status_cannot_be_read_is_named_not_a_traceback(tmp_path, write_crop):
    """inspect /proc/1 ended in a PermissionError traceback."""
    write_crop(tmp_path / "12345611616.jpg")
    (tmp_path / "0730011107.jpg").symlink_to(tmp_path / "gone.jpg")  # a dangling link
    scanned = scan_folder(tmp_path)
    assert [p.reason for p in scanned.problems] == ["cannot be read (No such file or directory)"]
