"""plate-ocr predict: batched reading of files and folders; a corrupt file never stops a batch."""

import csv
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from plate_ocr.cli import main
from plate_ocr.data.images import read_rgb
from plate_ocr.errors import UserError
from plate_ocr.model.codec import BLANK, Reading
from plate_ocr.plates import ALPHABET, is_valid_plate
from plate_ocr.reader import VOTE_FRAMINGS, PlateReader, _as_rgb, majority, reframe


@pytest.fixture
def folder_with_corrupt_file(tmp_path, real_folder) -> Path:
    """Five real crops (one in a subfolder), a corrupt .jpg among them and a stray text file."""
    folder = tmp_path / "images"
    crops = sorted((real_folder / "test").glob("*.jpg"))[:5]
    for i, crop in enumerate(crops):
        target = folder / ("sub" if i == 4 else "") / crop.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(crop.read_bytes())
    (folder / "0000broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_a_corrupt_file_is_reported_and_skipped(capsys, tiny_checkpoint, folder_with_corrupt_file):
    code = main(
        [
            "predict",
            str(tiny_checkpoint),
            str(folder_with_corrupt_file),
            "--format",
            "json",
            "--batch-size",
            "2",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 1  # something was skipped: scripts can tell
    rows = json.loads(out)
    files = sorted(p for p in folder_with_corrupt_file.rglob("*.jpg") if "broken" not in p.name)
    assert [Path(r["file"]) for r in rows] == files  # every good image, in order, none twice
    assert "0000broken.jpg" in err and "skipped" in err and "1 input(s) skipped" in err

    # The rows are what reading those images in one batch gives: batching changes nothing.
    readings = PlateReader(tiny_checkpoint).read([read_rgb(p) for p in files])
    assert [r["plate"] for r in rows] == [r.display for r in readings]
    for row, reading in zip(rows, readings, strict=True):
        assert row["confidence"] == pytest.approx(reading.confidence, abs=1e-4)
        assert row["digits"] == reading.text  # for programs: the digits and their validity
        assert row["valid"] is is_valid_plate(reading.text)


def test_csv_and_text_formats_and_missing_inputs(capsys, tiny_checkpoint, real_folder, tmp_path):
    image = sorted((real_folder / "test").glob("*.jpg"))[0]
    missing = tmp_path / "missing.png"
    assert main(["predict", str(tiny_checkpoint), str(image), str(missing), "--format", "csv"]) == 1
    out, err = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["file"] for r in rows] == [str(image)]
    reading = PlateReader(tiny_checkpoint)(image)
    assert rows[0]["confidence"] == f"{reading.confidence:.4f}"
    assert rows[0]["digits"] == reading.text
    assert rows[0]["valid"] == str(is_valid_plate(reading.text)).lower()
    assert "missing.png: no such file" in err

    assert main(["predict", str(tiny_checkpoint), str(image)]) == 0
    out, _ = capsys.readouterr()
    file, plate, confidence = out.rstrip("\n").split("\t")
    assert file == str(image) and plate == (rows[0]["plate"] or "-")
    assert confidence == rows[0]["confidence"]


def test_display_is_the_printed_form_when_valid():
    assert Reading("12345611616", 0.9).display == "123456 116 16"
    assert Reading("14379400016", 0.9).display == "143794 000 16"
    assert Reading("1437900016", 0.9).display == "143790 00 16"  # temporary plate
    assert Reading("0071430018", 0.9).display == "00714 300 18"  # registered in 2000
    assert Reading("123", 0.1).display == "123"  # not a plate: the digits as read


def test_a_missing_model_is_one_line(capsys, tmp_path):
    assert main(["predict", str(tmp_path / "nope.ckpt"), str(tmp_path)]) == 2
    assert "nope.ckpt: checkpoint not found" in capsys.readouterr().err


def test_the_readme_python_example_runs_as_written(tmp_path, monkeypatch):
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    cv2.imwrite(str(tmp_path / "crop.jpg"), np.full((40, 120, 3), 200, np.uint8))
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert isinstance(scope["reading"], Reading) and len(scope["readings"]) == 1


def test_reader_takes_paths_pil_and_arrays_in_either_colour_order(tiny_checkpoint, tmp_path):
    from PIL import Image

    from plate_ocr import PlateReader as Exported

    assert Exported is PlateReader
    rgb = np.zeros((40, 120, 3), np.uint8)
    rgb[:, :, 0] = 255  # pure red: its grey value differs from pure blue's
    path = tmp_path / "red.png"
    cv2.imwrite(str(path), rgb[..., ::-1])
    reader = PlateReader.load(tiny_checkpoint)
    batch = reader.preprocess([rgb])
    for crop, order in ((path, "rgb"), (Image.fromarray(rgb), "rgb"), (rgb[..., ::-1], "bgr")):
        np.testing.assert_array_equal(reader.preprocess([_as_rgb(crop, order)]), batch)
    one = reader(rgb)
    many = reader([rgb] * (PlateReader.BATCH + 3))  # more than one internal batch
    assert isinstance(one, Reading) and len(many) == PlateReader.BATCH + 3
    assert {r.text for r in many} == {one.text}
    with pytest.raises(ValueError, match="order"):
        reader(rgb, order="hsv")


def test_version_is_printed(capsys):
    import plate_ocr

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"plate-ocr {plate_ocr.__version__}"


def test_majority_keeps_the_agreed_text_and_a_split_vote_reads_as_less_sure():
    agreed = majority([Reading("123", 0.9), Reading("128", 0.99), Reading("123", 0.6)])
    assert agreed.text == "123" and agreed.confidence == pytest.approx((0.9 + 0.6) / 3)
    # three different texts: the most confident wins, at a third of its confidence
    split = majority([Reading("1", 0.5), Reading("2", 0.7), Reading("3", 0.6)])
    assert split.text == "2" and split.confidence == pytest.approx(0.7 / 3)


def test_reframe_cuts_or_pads_by_the_height_fraction_and_half_the_width_fraction():
    image = np.arange(100 * 400 * 3, dtype=np.uint32).astype(np.uint8).reshape(100, 400, 3)
    assert reframe(image, 0.0) is image
    tight, loose = reframe(image, -0.06), reframe(image, 0.06)
    assert tight.shape == (88, 376, 3) and np.array_equal(tight, image[6:94, 12:388])
    assert loose.shape == (112, 424, 3) and np.array_equal(loose[6:106, 12:412], image)
    assert np.array_equal(loose[0, 12:412], image[0])  # the padding repeats the edge
    sliver = np.zeros((2, 30, 3), np.uint8)  # nothing would be left: read as given
    assert reframe(sliver, -0.5) is sliver


def _brightness_digit(batch) -> torch.Tensor:
    """Log-probabilities that spell 7 when the batch's mean brightness is in (0.80, 0.82), else
    1: framings of a crop with a dark end differ in brightness, so they read differently."""
    digit = 7 if 0.80 < batch.mean() < 0.82 else 1
    log_probs = torch.full((len(batch), 4, len(ALPHABET) + 1), -20.0)
    log_probs[:, :, BLANK] = 0.0
    log_probs[:, 0, BLANK], log_probs[:, 0, ALPHABET.index(str(digit)) + 1] = -20.0, 0.0
    return log_probs


def test_a_vote_is_the_majority_of_reading_each_framing(tiny_checkpoint, monkeypatch):
    crop = np.full((60, 200, 3), 230, np.uint8)
    crop[:, :20] = 0  # a dark end: as given 0.81 bright, tighter 0.83, looser 0.79
    monkeypatch.setattr(
        PlateReader, "log_probs", lambda self, batch, network=0: _brightness_digit(batch)
    )
    plain = PlateReader(tiny_checkpoint)
    each = [plain.read([reframe(crop, m)])[0] for m in VOTE_FRAMINGS]
    assert [r.text for r in each] == ["7", "1", "1"]
    assert plain.read([crop]) == [each[0]]  # without a vote the crop is read as given, once
    voted = PlateReader(tiny_checkpoint, vote=True).read([crop])
    assert voted == [majority(each)] and voted[0].text == "1"  # two framings of three


def test_predict_vote_flag_reads_with_a_vote(capsys, tiny_checkpoint, real_folder):
    files = sorted((real_folder / "test").glob("*.jpg"))[:4]
    args = ["predict", str(tiny_checkpoint), *map(str, files), "--vote", "--format", "json"]
    assert main(args) == 0
    rows = json.loads(capsys.readouterr().out)
    voted = PlateReader(tiny_checkpoint, vote=True).read([read_rgb(p) for p in files])
    assert [r["plate"] for r in rows] == [r.display for r in voted]


def _one_digit_too_many(batch) -> torch.Tensor:
    """Log-probabilities whose best path reads 12 digits: a valid plate, then a 3 barely more
    likely than a blank."""
    columns = []
    for ch in "12345611616":
        columns += [ALPHABET.index(ch) + 1, BLANK]
    log_probs = torch.full((len(batch), len(columns) + 1, len(ALPHABET) + 1), -20.0)
    log_probs[:, torch.arange(len(columns)), columns] = 0.0
    log_probs[:, -1, ALPHABET.index("3") + 1] = np.log(0.55)
    log_probs[:, -1, BLANK] = np.log(0.45)
    return log_probs


def test_predict_reads_valid_plates_unless_told_not_to(
    capsys, monkeypatch, tiny_checkpoint, real_folder
):
    monkeypatch.setattr(
        PlateReader, "log_probs", lambda self, batch, network=0: _one_digit_too_many(batch)
    )
    command = [
        "predict",
        str(tiny_checkpoint),
        str(sorted((real_folder / "test").glob("*.jpg"))[0]),
    ]
    assert main([*command, "--format", "json"]) == 0
    (constrained,) = json.loads(capsys.readouterr().out)
    assert main([*command, "--no-constrained", "--format", "json"]) == 0
    (greedy,) = json.loads(capsys.readouterr().out)
    assert constrained["plate"] == "123456 116 16"  # the default: the most probable valid plate
    assert greedy["plate"] == "123456116163"  # the best path, one digit too many


def _digit_by_network(batch, network) -> torch.Tensor:
    """Log-probabilities that spell 7 for the first network, 1 for the others."""
    log_probs = torch.full((len(batch), 4, len(ALPHABET) + 1), -20.0)
    log_probs[:, :, BLANK] = 0.0
    log_probs[:, 0, BLANK], log_probs[:, 0, ALPHABET.index("7" if not network else "1") + 1] = (
        -20.0,
        0.0,
    )
    return log_probs


def test_an_ensemble_keeps_what_most_of_its_models_read(tiny_checkpoint, monkeypatch):
    monkeypatch.setattr(
        PlateReader, "log_probs", lambda self, batch, network=0: _digit_by_network(batch, network)
    )
    crop = np.full((60, 200, 3), 128, np.uint8)
    assert PlateReader(tiny_checkpoint).read([crop])[0].text == "7"  # one model: its reading
    three = PlateReader([tiny_checkpoint] * 3)
    assert len(three.networks) == 3 and three.engine == "pytorch"
    (reading,) = three.read([crop])
    assert reading.text == "1" and reading.confidence == pytest.approx(2 / 3)  # two of three
    voted = PlateReader([tiny_checkpoint] * 3, vote=True).read([crop])  # 9 readings, 6 agree
    assert voted[0].text == "1" and voted[0].confidence == pytest.approx(6 / 9)


def test_an_ensemble_reads_as_the_majority_of_its_models_own_readings(
    tiny_checkpoint, other_tiny_checkpoint, real_folder
):
    images = [read_rgb(p) for p in sorted((real_folder / "test").glob("*.jpg"))]
    models = [tiny_checkpoint, other_tiny_checkpoint, tiny_checkpoint]
    each = [PlateReader(model).read(images) for model in models]
    assert [r.text for r in each[0]] != [r.text for r in each[1]]  # two different models
    ensemble = PlateReader(models).read(images)
    assert ensemble == [majority(column) for column in zip(*each, strict=True)]
    assert [r.text for r in ensemble] == [r.text for r in each[0]]  # the twice-counted one


def test_an_ensemble_of_models_with_different_inputs_is_refused():
    from plate_ocr.model.crnn import CRNN

    small = dict(channels=(8, 8, 8, 8), hidden=16)
    nets = [CRNN(image_size=(32, 96), **small), CRNN(image_size=(32, 128), **small)]
    with pytest.raises(UserError, match=r"different inputs \(32x96 .*32x128.*data.image_size"):
        PlateReader(nets)
    with pytest.raises(UserError, match="no model to read with"):
        PlateReader([])


def test_predict_ensemble_flag_reads_with_every_model(
    capsys, tiny_checkpoint, other_tiny_checkpoint, real_folder
):
    files = sorted((real_folder / "test").glob("*.jpg"))[:6]
    models = [tiny_checkpoint, other_tiny_checkpoint, other_tiny_checkpoint]
    args = ["predict", str(models[0]), *map(str, files), "--format", "json"]
    assert main([*args, "--ensemble", str(models[1]), "--ensemble", str(models[2])]) == 0
    rows = json.loads(capsys.readouterr().out)
    ensemble = PlateReader(models).read([read_rgb(p) for p in files])
    assert [r["plate"] for r in rows] == [r.display for r in ensemble]
    alone = PlateReader(models[1]).read([read_rgb(p) for p in files])
    assert [r.display for r in ensemble] == [r.display for r in alone]  # two of three agree


@pytest.mark.parametrize("verb", ["predict", "export", "synth", "audit", "inspect", "preview"])
def test_a_verbs_help_imports_neither_torch_nor_lightning(verb):
    """Help took 6-10 s: torch and Lightning loaded before the arguments were parsed."""
    import subprocess
    import sys

    probe = (
        "import sys\nfrom plate_ocr.cli import main\n"
        f"try:\n    main(['{verb}', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'pytorch_lightning', 'albumentations') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "usage: plate-ocr" in done.stdout
    assert done.stdout.rstrip().splitlines()[-1] == "[]"


def test_one_model_listed_twice_is_not_an_ensemble(tiny_checkpoint, tmp_path):
    same = tmp_path / "again" / ".." / tiny_checkpoint.name
    (tmp_path / "again").mkdir()
    (tmp_path / tiny_checkpoint.name).write_bytes(tiny_checkpoint.read_bytes())
    with pytest.raises(UserError, match="is listed 2 times"):
        PlateReader.distinct([tmp_path / tiny_checkpoint.name, same])
