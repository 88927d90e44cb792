import re

import numpy as np

from plate_ocr.cli import main
from plate_ocr.data.inspect import colour_guess, label_note


def test_clean_folder_reports_counts_and_exits_0(tmp_path, write_crop, capsys):
    write_crop(tmp_path / "train" / "12345611616.jpg", size=(30, 90))
    write_crop(tmp_path / "train" / "12345611616_1.jpg", size=(40, 120), colour=(235, 235, 235))
    write_crop(tmp_path / "train" / "0073411018.png")
    write_crop(tmp_path / "validation" / "54321611616.jpg")
    assert main(["inspect", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^train\s+3\s+2\s+0\s+1\s+2\s+2/1\s+80-120 x 24-40$", out, re.M)
    assert re.search(r"^validation\s+1\s+1\s+0\s+0\s+1\s+1/0", out, re.M)
    assert re.search(r"^test\s+\(no folder\)", out, re.M)
    assert "problems: none" in out and "notes: none" in out


def test_every_problem_is_named_and_exits_1(tmp_path, write_crop, capsys):
    write_crop(tmp_path / "train" / "12345611616.jpg")
    write_crop(tmp_path / "train" / "IMG_0001.jpg")
    (tmp_path / "train" / "54321611616.jpg").write_bytes(b"truncated")
    write_crop(tmp_path / "validation" / "a.png")
    (tmp_path / "validation" / "labels.csv").write_text("a.png,12345611616\nb.png,0073411018\n")
    (tmp_path / "test").mkdir()
    assert main(["inspect", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    problems = out[out.index("problems (4)") :].splitlines()[1:]
    assert [line.split(":")[0].strip() for line in problems] == [
        "test",
        "train/54321611616.jpg",
        "train/IMG_0001.jpg",
        "validation/b.png",
    ]
    assert "not a readable image" in problems[1] and "other than digits" in problems[2]
    assert "1 plate(s) in both train and validation" in out


def test_odd_but_valid_labels_are_notes_not_problems(tmp_path, write_crop, capsys):
    write_crop(tmp_path / "150311016.jpg")
    write_crop(tmp_path / "07847105135.jpg")
    write_crop(tmp_path / "12345611616.jpg")
    assert main(["inspect", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "(flat, split by plate)" in out
    assert "150311016.jpg (1503 110 16): 9 digits" in out
    assert "07847105135.jpg (078471 051 35): vehicle class 0" in out
    assert "12345611616.jpg" not in out


def test_label_notes():
    assert label_note("12345611616") is None
    assert label_note("1437940016") is None  # temporary plate: "00" is not a class
    assert "9 digits" in label_note("150311016")
    assert "wilaya 62" in label_note("12345611662")


def test_colour_guess():
    yellow = np.full((20, 60, 3), (240, 200, 30), np.uint8)
    white = np.full((20, 60, 3), (230, 230, 225), np.uint8)
    assert colour_guess(yellow) == "yellow" and colour_guess(white) == "white"


def test_missing_folder_is_a_one_line_error(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nowhere does not exist" in err


def test_shared_lpa_folder(lpa_dir, capsys):
    assert main(["inspect", str(lpa_dir)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^train\s+1740\s", out, re.M)
    assert re.search(r"^validation\s+163\s", out, re.M)
    assert "problems: none" in out
    nine_digit = re.findall(r"^  \S+/(\d{9})\.jpg \(.*\): 9 digits", out, re.M)
    assert len(nine_digit) == 9 and "150311016" in nine_digit
    assert "train/07847105135.jpg (078471 051 35): vehicle class 0" in out
    assert "70 plate(s) in both train and validation" in out
