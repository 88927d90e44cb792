"""plate-ocr audit: planted label errors rank first, and every output is written."""

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from plate_ocr.audit import (
    CropEvidence,
    cannot_show_a_plate,
    difference_hash,
    near_duplicates,
    rank,
)
from plate_ocr.cli import main
from plate_ocr.data.folder import scan_folder


@pytest.fixture(scope="module")
def planted_folder(tmp_path_factory):
    """30 synthetic plates named by label, two of them relabelled one digit off."""
    from plate_ocr.synth import SyntheticPlates

    folder = tmp_path_factory.mktemp("planted")
    plates = SyntheticPlates(30, seed=7, image_size=(48, 160))
    planted = {}
    for i in range(len(plates)):
        image, label = plates[i]
        if i in (4, 17):
            wrong = label[:2] + str((int(label[2]) + 3) % 10) + label[3:]
            planted[f"{wrong}_{i}.png"], label = label, wrong
        cv2.imwrite(str(folder / f"{label}_{i}.png"), image[..., ::-1])
    return folder, planted


def _rows(path):
    with path.open() as file:
        return list(csv.DictReader(file))


def test_planted_errors_rank_first_and_every_output_is_written(planted_folder, tmp_path, capsys):
    folder, planted = planted_folder
    out = tmp_path / "audit"
    assert main(["audit", str(folder), "--out", str(out), "--top", "8"]) == 0
    suspects = _rows(out / "suspects.csv")
    assert {row["file"].rsplit("/", 1)[1] for row in suspects[:2]} == set(planted)
    assert [row["reading"] for row in suspects[:2]] == [
        planted[row["file"].rsplit("/", 1)[1]] for row in suspects[:2]
    ]
    assert float(suspects[0]["score"]) >= float(suspects[-1]["score"]) > 0
    assert "views" in suspects[0]["reason"]
    template = _rows(out / "label_fixes.csv")
    assert [str(folder / row["file"]) for row in template] == [r["file"] for r in suspects[:8]]
    assert all(row["text"] == "" for row in template)  # a person fills it in
    # given back as is, filled in, it applies: rows are relative to the folder
    filled = (out / "label_fixes.csv").read_text().replace(",\n", ",drop\n", 1)
    fixes = tmp_path / "fixes.csv"
    fixes.write_text(filled)
    assert not scan_folder(folder, label_fixes=fixes).problems
    assert cv2.imread(str(out / "suspects.png")) is not None
    assert (out / "duplicates.csv").is_file() and (out / "cannot_show.csv").is_file()
    assert "30 crops read" in capsys.readouterr().out
    # the results folder is new: a second audit into it is refused, the first kept
    assert main(["audit", str(folder), "--out", str(out)]) == 2
    assert _rows(out / "suspects.csv") == suspects


def test_one_image_filed_twice_is_a_near_duplicate_and_flat_crops_cannot_show_a_plate():
    rng = np.random.default_rng(0)
    image = cv2.resize(rng.integers(0, 256, (12, 40, 3), dtype=np.uint8), (160, 48))
    recompressed = cv2.imdecode(cv2.imencode(".jpg", image)[1], cv2.IMREAD_COLOR)
    other = cv2.resize(rng.integers(0, 256, (12, 40, 3), dtype=np.uint8), (160, 48))
    assert (difference_hash(image) != difference_hash(other)).sum() > 24
    assert [(i, j) for i, j, _ in near_duplicates([image, other, recompressed])] == [(0, 2)]
    assert "too dark" in cannot_show_a_plate(np.full((40, 120, 3), 20, np.uint8))
    assert "too flat" in cannot_show_a_plate(np.full((40, 120, 3), 140, np.uint8))
    assert cannot_show_a_plate(image) is None


def test_a_label_whose_year_group_is_outside_the_registration_years_is_a_suspect():
    """LPA's 0658015609 and 07847105135 (years 56 and 51) were labelled a digit off."""
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (40, 130, 3), dtype=np.uint8) for _ in range(3)]
    labels = ["0658015609", "0658011609", "1234511616"]
    agreed = [CropEvidence([label] * 3, [0.0] * 3) for label in labels]
    files = [Path(f"{label}.jpg") for label in labels]
    suspects, _, _ = rank(files, labels, images, agreed)
    assert [s.label for s in suspects] == ["0658015609"]
    assert "year 56 is outside 1970-2026" in suspects[0].reason


@pytest.mark.slow
def test_folds_fine_tune_one_reader_per_held_out_fold(planted_folder, tmp_path, capsys):
    folder, planted = planted_folder
    out = tmp_path / "audit"
    command = ["audit", str(folder), "--out", str(out), "--folds", "2", "--epochs", "1"]
    assert main([*command, "--epoch-size", "64"]) == 0
    assert "2 fine-tunes of 1 x 64 samples, about" in capsys.readouterr().out
    assert sorted(p.name for p in (out / "folds").iterdir()) == ["0", "1"]
    suspects = _rows(out / "suspects.csv")
    assert {row["file"].rsplit("/", 1)[1] for row in suspects[:2]} == set(planted)


def test_too_many_folds_for_the_plates_are_refused_before_training(tmp_path, write_crop, capsys):
    """It trained for 30 s, failed on a fold with no train/ crops and left --out/folds/."""
    write_crop(tmp_path / "crops" / "12345611616.jpg")
    write_crop(tmp_path / "crops" / "0730011107.jpg")
    out = tmp_path / "audit"
    assert main(["audit", str(tmp_path / "crops"), "--folds", "5", "--out", str(out)]) == 2
    assert "too few plates for 5 folds" in capsys.readouterr().err
    assert not out.exists()


def test_an_output_folder_it_cannot_make_is_said_before_any_reading(tmp_path, capsys):
    """From a read-only working folder it read every crop, then failed to write."""
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder would go")
    assert main(["audit", str(tmp_path), "--out", str(blocker / "audit")]) == 2
    err = capsys.readouterr().err
    assert "cannot create it" in err and err.count("\n") == 1
