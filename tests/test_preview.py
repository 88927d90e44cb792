from pathlib import Path

import cv2
import numpy as np

from plate_ocr.cli import main
from plate_ocr.data.augment import STRENGTHS
from plate_ocr.data.preview import GAP, preview_grid
from plate_ocr.gallery import CAPTION_HEIGHT

REPO = Path(__file__).parents[1]


def _crop(value):
    return np.full((30, 90, 3), value, np.uint8), "12345611616"


def _tile(size):
    return size[0] + CAPTION_HEIGHT + GAP, size[1] + GAP


def test_grid_has_a_row_per_source_and_strength_and_a_column_per_crop():
    sources = {"synthetic": [_crop(10), _crop(20), _crop(30)], "real": [_crop(200), _crop(210)]}
    tile_h, tile_w = _tile((64, 200))
    grid = preview_grid(sources)
    assert grid.shape == (8 * tile_h + GAP, 3 * tile_w + GAP, 3)
    real_none = STRENGTHS.index("none") + len(STRENGTHS)
    top, left = GAP + real_none * tile_h, GAP + tile_w
    assert (grid[top : top + 64, left : left + 200] == 210).all()  # resize only
    caption = grid[top + 64 : top + 64 + CAPTION_HEIGHT, left : left + 200]
    assert (caption < 100).any()  # the caption is written
    assert (grid[top : top + 64, left + tile_w :] == 255).all()  # real has 2 crops, not 3


def test_grey_input_is_shown_grey_at_the_model_size():
    colour = np.zeros((30, 90, 3), np.uint8)
    colour[..., 0] = 250  # pure red: grey 75 for the model, not red
    grid = preview_grid({"real": [(colour, "12345611616")]}, (32, 128), channels=1)
    tile = grid[GAP : GAP + 32, GAP : GAP + 128]
    assert grid.shape[1] == 128 + 2 * GAP
    assert (tile[..., 0] == tile[..., 1]).all() and abs(int(tile[0, 0, 0]) - 75) <= 1


def test_preview_verb_uses_the_composed_training_config(tmp_path, write_crop, monkeypatch):
    for label in ("12345611616", "0073411018", "150311016", "0730011107", "22222221616"):
        write_crop(tmp_path / "crops" / f"{label}.jpg")
    out = tmp_path / "sheets" / "preview.png"
    monkeypatch.chdir(REPO)
    args = ["preview", str(out), "experiment=quickstart", "data.real_fold=null"]
    assert main([*args, "--real-dir", str(tmp_path / "crops"), "--n", "2"]) == 0
    sheet = cv2.imread(str(out))
    tile_h, tile_w = _tile((32, 160))  # the quickstart's input size
    rows = 2 * len(STRENGTHS)  # real and synthetic: these crops cannot be recombined
    assert sheet.shape == (rows * tile_h + GAP, 2 * tile_w + GAP, 3)


def test_options_may_come_between_the_sheet_and_the_overrides(tmp_path, write_crop, monkeypatch):
    """`preview OUT --real-dir D KEY=VALUE` once failed: "unrecognized arguments"."""
    write_crop(tmp_path / "crops" / "12345611616.jpg")
    out = tmp_path / "preview.png"
    monkeypatch.chdir(REPO)
    args = ["preview", str(out), "--real-dir", str(tmp_path / "crops"), "--n", "1"]
    overrides = ["experiment=quickstart", "data.real_fold=null", "data.image_size=[48,160]"]
    assert main([*args, *overrides]) == 0
    assert cv2.imread(str(out)).shape[0] == 2 * len(STRENGTHS) * _tile((48, 160))[0] + GAP


def test_preview_wants_a_png_name(tmp_path, capsys):
    assert main(["preview", str(tmp_path / "sheet.jpg")]) == 2
    assert "name it *.png" in capsys.readouterr().err


def test_preview_outside_the_project_says_where_conf_is(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["preview", str(tmp_path / "sheet.png")]) == 2
    assert "--config-dir" in capsys.readouterr().err
