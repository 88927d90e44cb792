from pathlib import Path

import pytest

from plate_ocr.data.labels import is_image, label_from_filename, read_labels_csv
from plate_ocr.errors import UserError


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("12345611616.jpg", "12345611616"),
        ("12345611616_1.jpg", "12345611616"),
        ("12345611616_2.jpg", "12345611616"),
        ("12345611616_1_1.jpg", "12345611616"),
        ("2531311225 (2).jpg", "2531311225"),
        ("2531311225_1 (2).jpg", "2531311225"),
        ("0073411018.JPG", "0073411018"),  # leading zero kept, 10 digits stay 10
        ("150311016.jpeg", "150311016"),  # 9 digits: never padded
        ("12345611616.PNG", "12345611616"),
        ("123456 116 16.png", "12345611616"),
        ("123456-116-16_3.jpg", "12345611616"),
    ],
)
def test_label_from_filename_drops_duplicate_suffixes(name, label):
    assert label_from_filename(Path("some/dir") / name) == label


@pytest.mark.parametrize("name", ["a.jpg", "a.JPG", "a.jpeg", "a.JPEG", "a.png", "a.Png"])
def test_supported_extensions_in_any_case(name):
    assert is_image(Path(name))


@pytest.mark.parametrize("name", ["a.gif", "a.heic", "labels.csv", "a.jpg.txt", "jpg"])
def test_other_files_are_not_images(name):
    assert not is_image(Path(name))


def test_labels_csv_rows_are_normalised_with_or_without_header(tmp_path):
    with_header = tmp_path / "a.csv"
    with_header.write_text("\ufefffilename,text\nx.jpg,123456 116-16\n\ny.png, 0073411018 \n")
    assert read_labels_csv(with_header) == {"x.jpg": (2, "12345611616"), "y.png": (4, "0073411018")}
    no_header = tmp_path / "b.csv"
    no_header.write_text("x.jpg,150311016\n")
    assert read_labels_csv(no_header) == {"x.jpg": (1, "150311016")}


def test_labels_csv_with_a_wrong_row_names_the_line(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("filename,text\nx.jpg,12345611616\ny.jpg\n")
    with pytest.raises(UserError, match=r"labels.csv line 3: expected 2 fields"):
        read_labels_csv(path)


def test_labels_csv_listing_a_file_twice_is_an_error(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("x.jpg,12345611616\nx.jpg,12345611617\n")
    with pytest.raises(UserError, match=r"line 2: 'x.jpg' is already labelled on line 1"):
        read_labels_csv(path)
