import cv2
import numpy as np

from plate_ocr.cli import main
from plate_ocr.data.augment import STRENGTHS
from plate_ocr.data.preview import CAPTION_HEIGHT, GAP, preview_grid

TILE_H, TILE_W = 64 + CAPTION_HEIGHT + GAP, 200 + GAP


def _crop(value):
    return np.full((30, 90, 3), value, np.uint8), "12345611616"


def test_grid_has_a_row_per_source_and_strength_and_a_column_per_crop():
    sources = {"synthetic": [_crop(10), _crop(20), _crop(30)], "real": [_crop(200), _crop(210)]}
    grid = preview_grid(sources)
    assert grid.shape == (8 * TILE_H + GAP, 3 * TILE_W + GAP, 3)
    real_none = STRENGTHS.index("none") + len(STRENGTHS)
    top, left = GAP + real_none * TILE_H, GAP + TILE_W
    assert (grid[top : top + 64, left : left + 200] == 210).all()  # resize only
    caption = grid[top + 64 : top + 64 + CAPTION_HEIGHT, left : left + 200]
    assert (caption < 100).any()  # the caption is written
    assert (grid[top : top + 64, left + TILE_W :] == 255).all()  # real has 2 crops, not 3


def test_preview_verb_writes_a_png(tmp_path, write_crop):
    for label in ("12345611616", "0073411018", "150311016"):
        write_crop(tmp_path / "crops" / f"{label}.jpg")
    out = tmp_path / "sheets" / "preview.png"
    assert main(["preview", str(out), "--real-dir", str(tmp_path / "crops"), "--n", "2"]) == 0
    sheet = cv2.imread(str(out))
    assert sheet.shape == (2 * len(STRENGTHS) * TILE_H + GAP, 2 * TILE_W + GAP, 3)


def test_preview_wants_a_png_name(tmp_path, capsys):
    assert main(["preview", str(tmp_path / "sheet.jpg")]) == 2
    assert "name it *.png" in capsys.readouterr().err
