"""The synthetic plate generator: deterministic, correctly labelled, and safe on disk."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from plate_ocr.cli import main
from plate_ocr.data.folder import find_splits
from plate_ocr.errors import UserError
from plate_ocr.plates import PlateSampler, is_temporary, is_valid_plate
from plate_ocr.synth import STYLE_NAMES, SyntheticPlates, render_plate
from plate_ocr.synth.glyphs import GLYPH_HEIGHT, glyph_set


def test_same_seed_and_index_give_the_same_image():
    a, b = SyntheticPlates(20, seed=3), SyntheticPlates(20, seed=3)
    for i in (0, 7, 19):
        image_a, label_a = a[i]
        image_b, label_b = b[i]
        assert label_a == label_b
        np.testing.assert_array_equal(image_a, image_b)
    # order of access does not matter: index 7 alone equals index 7 after others
    np.testing.assert_array_equal(SyntheticPlates(20, seed=3)[7][0], a[7][0])


def test_other_seed_or_index_gives_another_image():
    data = SyntheticPlates(5, seed=0)
    assert not np.array_equal(data[0][0], data[1][0])
    assert not np.array_equal(data[0][0], SyntheticPlates(5, seed=1)[0][0])


def test_render_plate_is_a_function_of_the_generator_state():
    one = render_plate("12345611616", np.random.default_rng(42))
    two = render_plate("12345611616", np.random.default_rng(42))
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("size", [(64, 200), (32, 128), (96, 320)])
def test_output_size_and_dtype(size):
    image, _ = SyntheticPlates(3, image_size=size)[2]
    assert image.shape == (*size, 3)
    assert image.dtype == np.uint8
    assert image.std() > 10  # a picture, not a blank


def test_labels_come_from_the_format_sampler():
    data = SyntheticPlates(40, seed=5)
    sampler = PlateSampler()
    for i in range(40):
        _, label = data[i]
        assert is_valid_plate(label), label
        assert label == sampler.sample(np.random.default_rng([5, i]))


def test_a_custom_sampler_is_obeyed():
    only_long = PlateSampler(forms=(("11", 1.0),))
    labels = [SyntheticPlates(30, sampler=only_long)[i][1] for i in range(30)]
    assert {len(label) for label in labels} == {11}


def test_both_lengths_and_temporary_plates_appear():
    labels = [SyntheticPlates(300, seed=0)[i][1] for i in range(300)]
    lengths = {len(label) for label in labels}
    assert {10, 11} <= lengths
    assert any(is_temporary(label) for label in labels)


def test_index_out_of_range_is_refused():
    with pytest.raises(IndexError):
        SyntheticPlates(3)[3]


def _counters(mask: np.ndarray) -> int:
    """Enclosed background regions big enough to survive the camera (pinholes ignored)."""
    background = np.pad((mask < 128).astype(np.uint8), 1, constant_values=1)
    _, _, stats, _ = cv2.connectedComponentsWithStats(background, connectivity=4)
    return int((stats[2:, cv2.CC_STAT_AREA] >= 8).sum())


@pytest.mark.parametrize("style", STYLE_NAMES)
@pytest.mark.parametrize("variants", [False, True])
@pytest.mark.parametrize("cut_scales", ["defaults", (0.25, 0.1)])  # (jitter, deform)
def test_every_glyph_style_draws_ten_legible_digits(style, variants, cut_scales):
    from plate_ocr.synth import DEFAULT_FACTORS
    from plate_ocr.synth.glyphs import CUTS

    if cut_scales == "defaults":
        cut_scales = DEFAULT_FACTORS.glyph_jitter, DEFAULT_FACTORS.glyph_deform
    jitter, deform = cut_scales
    for italic, cut in [(False, 0), (True, 0), *((False, c) for c in range(1, CUTS))]:
        masks = glyph_set(
            style,
            italic,
            straight_six=variants,
            bent_seven=variants,
            cut=cut,
            jitter=jitter,
            deform=deform,
        )
        assert len(masks) == 10
        for mask in masks:
            assert mask.shape[0] == GLYPH_HEIGHT and mask.dtype == np.uint8
            assert 0.1 < (mask > 128).mean() < 0.85
        # A filled-in counter turns a 6 into a blob: check each digit's topology.
        counters = [_counters(m) for m in masks]
        assert counters[4] in (0, 1)  # a closed or an open 4
        assert counters[:4] + counters[5:] == [1, 0, 0, 0, 0, 1, 0, 2, 1], counters


def _rows(folder: Path) -> list[list[str]]:
    with open(folder / "labels.csv", newline="") as f:
        return list(csv.reader(f))


def _synth(out: Path, *extra: str) -> int:
    return main(["synth", str(out), "--train", "12", "--val", "4", "--test", "3", *extra])


def test_disk_mode_writes_counts_and_valid_labels(tmp_path):
    assert _synth(tmp_path) == 0
    names_seen = set()
    for split, count in (("train", 12), ("validation", 4), ("test", 3)):
        rows = _rows(tmp_path / split)
        assert rows[0] == ["filename", "text"]
        assert len(rows) == count + 1
        images = sorted(p.name for p in (tmp_path / split).glob("*.png"))
        assert sorted(r[0] for r in rows[1:]) == images
        for name, text in rows[1:]:
            assert is_valid_plate(text)
            assert name.endswith(f"_{text}.png")
        names_seen.update(f"{split}/{n}" for n in images)
    assert len(names_seen) == 19
    # the splits are separate random streams, not copies of one another
    train0 = (tmp_path / "train" / _rows(tmp_path / "train")[1][0]).read_bytes()
    val0 = (tmp_path / "validation" / _rows(tmp_path / "validation")[1][0]).read_bytes()
    assert train0 != val0


def test_resume_neither_duplicates_nor_loses_files(tmp_path):
    assert _synth(tmp_path) == 0
    train = tmp_path / "train"
    before = {p.name: p.read_bytes() for p in train.glob("*.png")}
    for name in sorted(before)[:3]:
        (train / name).unlink()
    (train / ".000099_12345611616.part.png").write_bytes(b"half an image")
    assert _synth(tmp_path) == 0
    after = {p.name: p.read_bytes() for p in train.glob("*.png")}
    assert after == before  # the missing ones re-rendered identically, nothing extra
    assert not [n for n in os.listdir(train) if n.startswith(".")]
    assert len(_rows(train)) == 13
    # more images later extends the split rather than starting over
    assert main(["synth", str(tmp_path), "--train", "15", "--val", "4", "--test", "3"]) == 0
    assert len(list(train.glob("*.png"))) == 15 and len(_rows(train)) == 16


def test_parallel_workers_write_the_same_images(tmp_path):
    assert _synth(tmp_path / "one") == 0
    assert _synth(tmp_path / "two", "--workers", "2") == 0
    for split in ("train", "validation", "test"):
        one = {p.name: p.read_bytes() for p in (tmp_path / "one" / split).glob("*.png")}
        two = {p.name: p.read_bytes() for p in (tmp_path / "two" / split).glob("*.png")}
        assert one == two


@pytest.mark.parametrize(
    "args, message",
    [
        (["--train", "-1"], "--train must be from 0 to"),
        (["--val", "-5"], "--val must be from 0 to"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--size", "64by200"], "--size"),
    ],
)
def test_bad_arguments_give_a_clear_error(tmp_path, capsys, args, message):
    assert main(["synth", str(tmp_path / "out"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_unwritable_folder_gives_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    assert main(["synth", str(blocker / "out"), "--train", "1", "--val", "0", "--test", "0"]) == 2
    assert "cannot write to" in capsys.readouterr().err


def test_other_settings_in_the_same_folder_are_refused(tmp_path, capsys):
    assert _synth(tmp_path) == 0
    assert _synth(tmp_path, "--seed", "1") == 2
    assert "new folder" in capsys.readouterr().err


def test_a_folder_of_other_files_is_refused_untouched(tmp_path, capsys, write_crop):
    """synth into a real-crop folder used to add images beside the crops and break it."""
    crop = write_crop(tmp_path / "real" / "12345611616.jpg")
    assert _synth(tmp_path / "real") == 2
    assert "not empty" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == [crop.name]


def test_shrinking_needs_force_and_leaves_no_unlisted_images(tmp_path, capsys):
    assert _synth(tmp_path) == 0
    assert "rendered 19 images, kept 0" in capsys.readouterr().out
    before = sorted(p.name for p in tmp_path.rglob("*.png"))
    smaller = ["synth", str(tmp_path), "--train", "5", "--val", "4", "--test", "3"]
    assert main(smaller) == 2  # deleting thousands of images is not a side effect
    assert "pass --force to remove them" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.rglob("*.png")) == before
    assert main([*smaller, "--force"]) == 0
    assert "rendered 0 images, kept 12 already there, removed 7" in capsys.readouterr().out
    train = tmp_path / "train"
    assert sorted(p.name for p in train.glob("*.png")) == sorted(r[0] for r in _rows(train)[1:])
    assert len(list(train.glob("*.png"))) == 5
    scanned = find_splits(tmp_path)  # a real-folder reader accepts the shrunk folder
    assert [len(scanned[s]) for s in ("train", "validation", "test")] == [5, 4, 3]


def test_preview_writes_a_contact_sheet(tmp_path):
    sheet = tmp_path / "sheet.png"
    assert main(["synth", "--preview", str(sheet), "--count", "8"]) == 0
    image = cv2.imread(str(sheet))
    assert image.shape == (2 * 64, 6 * 200, 3)


@pytest.mark.parametrize("size", [(32, 128), (64, 200)])
def test_plates_are_framed_and_sharp_like_real_crops(size):
    """Measured on LPA crops at both sizes (benchmarks/aug_stats.py): text height / crop
    height p10-p50-p90 0.25-0.38-0.50, sharpness median 0.40. The generator used to render
    text at 0.56 of the crop and, at 32x128, blurrier than any real crop."""
    from plate_ocr.data.image_stats import summarise

    plates = SyntheticPlates(150, 9, size)
    stats = summarise(plates[i][0] for i in range(len(plates)))
    assert 0.33 <= stats["text_height"]["p50"] <= 0.43, stats["text_height"]
    assert stats["text_height"]["p90"] <= 0.56, stats["text_height"]
    assert stats["sharpness"]["p50"] >= 0.35, stats["sharpness"]


def test_factors_weight_tables_steer_the_plate_numbers():
    """form_weights / wilaya_weights in Factors (what `plate-ocr synth --fit` writes) reach
    the numbers rendered on the fly, with or without a data module in between."""
    from plate_ocr.synth import Factors, render_sample

    factors = Factors(form_weights={"11": 1.0, "10": 0.0}, wilaya_weights={31: 1, "07": 0})
    labels = [SyntheticPlates(30, seed=2, factors=factors)[i][1] for i in range(30)]
    labels.append(render_sample(2, 30, (32, 96), factors=factors)[1])
    assert {(len(label), label[-2:]) for label in labels} == {(11, "31")}


def test_default_factors_draw_the_default_numbers_and_images():
    from plate_ocr.synth import DEFAULT_FACTORS, render_sample

    assert DEFAULT_FACTORS.plate_sampler == PlateSampler()
    for i in (0, 5):
        image, label = render_sample(4, i, (32, 96))
        same_image, same_label = render_sample(4, i, (32, 96), sampler=PlateSampler())
        assert label == same_label
        np.testing.assert_array_equal(image, same_image)


def test_style_weights_choose_the_faces_drawn(monkeypatch):
    """Only the weighted faces are drawn: a plate of one face has that face's glyphs."""
    from plate_ocr.synth import Factors, face

    drawn = []

    def recording(style, *args, **kwargs):
        drawn.append(style)
        return glyph_set(style, *args, **kwargs)

    monkeypatch.setattr(face, "glyph_set", recording)
    factors = Factors(style_weights={"din": 1.0, "impact": 0.0})
    for i in range(12):
        render_plate("1234511216", np.random.default_rng(i), (32, 96), factors)
    assert set(drawn) == {"din"}


@pytest.mark.parametrize("style", ["plate", "impact", "din"])
def test_glyph_variants_redraw_only_their_digits(style):
    """The French 6/9 and the bent 7 change those digits and no other. The straight 6
    starts at the top right and runs down to its bowl, so its top left is empty, where
    the hooked 6 curves."""
    plain = glyph_set(style)
    varied = glyph_set(style, straight_six=True, bent_seven=True)
    changed = [d for d in range(10) if not np.array_equal(plain[d], varied[d])]
    assert changed == [6, 7, 9]
    six, hooked = varied[6] > 128, plain[6] > 128
    h, w = six.shape
    assert six[: h // 8, w // 2 :].any() and not six[: h // 8, : w // 3].any()
    assert hooked[: h // 8, : w // 3].any()


def test_cuts_vary_a_face_the_same_way_every_time():
    from plate_ocr.synth.glyphs import CUTS

    plain = glyph_set("plate")
    cuts = [glyph_set("plate", cut=c, jitter=0.25) for c in range(CUTS)]
    for same in (cuts[0], glyph_set("plate", cut=5, jitter=0.0)):
        assert all(a is b for a, b in zip(same, plain, strict=True))
    widths = {tuple(m.shape[1] for m in masks) for masks in cuts}
    inks = {sum(int(m.sum()) for m in masks) for masks in cuts}
    assert len(widths) > CUTS // 2 and len(inks) == CUTS  # cuts differ in width and weight
    glyph_set.cache_clear()
    assert all(
        np.array_equal(a, b)
        for a, b in zip(glyph_set("plate", cut=3, jitter=0.25), cuts[3], strict=True)
    )


def test_a_deformed_cut_moves_the_strokes_inside_the_same_box():
    plain = glyph_set("plate", cut=2, jitter=0.25)
    warped = glyph_set("plate", cut=2, jitter=0.25, deform=0.1)
    assert [m.shape for m in warped] == [m.shape for m in plain]
    moved = [not np.array_equal(a, b) for a, b in zip(plain, warped, strict=True)]
    assert sum(moved) >= 8  # a straight 1 may barely move; bowls and waists do


def test_font_faces_keep_their_own_six_and_seven():
    varied = glyph_set("aileron", straight_six=True, bent_seven=True)
    assert all(a is b for a, b in zip(varied, glyph_set("aileron"), strict=True))


def test_colon_separators_are_drawn_between_groups():
    from plate_ocr.synth import Factors
    from plate_ocr.synth.face import _layout

    glyphs = glyph_set("din")
    factors = Factors(p_dash=0.0, p_dot=0.0, p_colon=1.0)
    _, seps, _ = _layout("1234511216", np.random.default_rng(0), factors, glyphs, 0)
    assert [kind for _, kind in seps] == ["colon", "colon"]


def test_separators_follow_their_chances_and_spaces_take_the_rest():
    from plate_ocr.synth import Factors
    from plate_ocr.synth.face import _separator

    factors = Factors(p_dash=0.5, p_dot=0.0, p_colon=0.0, p_ring=0.25)
    rng = np.random.default_rng(0)
    draws = [_separator(rng, factors) for _ in range(4000)]
    assert set(draws) == {"dash", "ring", " "}  # a zero chance is never drawn
    for kind, chance in (("dash", 0.5), ("ring", 0.25), (" ", 0.25)):
        assert abs(draws.count(kind) / 4000 - chance) < 0.03, kind


@pytest.mark.parametrize(
    ("start", "stop", "n"),
    [(0.7, 0.45, 40), (1.0, 1.13, 343), (-1, 1, 81), (0.3, 0.3, 7), (0.9, 0.2, 2), (0.5, 1.0, 1)],
)
def test_ramp_draws_exactly_what_linspace_does(start, stop, n):
    from plate_ocr.synth.factors import ramp

    expected = np.linspace(start, stop, n, dtype=np.float32)
    assert ramp(start, stop, n).dtype == np.float32
    np.testing.assert_array_equal(ramp(start, stop, n), expected)


@pytest.mark.parametrize(
    "table",
    [
        {"form_weights": {"12": 1.0}},
        {"wilaya_weights": {99: 1.0}},
        {"wilaya_weights": {}},
        {"style_weights": {"comic_sans": 1.0}},
    ],
)
def test_a_bad_weight_table_names_the_field(table):
    from plate_ocr.synth import Factors

    with pytest.raises(UserError, match=next(iter(table))):
        SyntheticPlates(1, factors=Factors(**table))


def test_a_frame_lip_shades_the_plate_edge_and_nothing_else():
    from plate_ocr.synth import Factors
    from plate_ocr.synth.face import draw_face

    def face(lip):
        factors = Factors(p_frame=1.0, p_frame_lip=lip, p_dirt=0.0, p_glare=0.0)
        return draw_face("12345611616", np.random.default_rng(3), factors)

    (plain, _, box, _), (lipped, _, same_box, _) = face(0.0), face(1.0)
    assert box == same_box
    x0, y0, x1, y1 = box
    edge = np.zeros(plain.shape[:2], bool)
    edge[y0:y1, x0:x1] = True
    edge[y0 + 1 : y1 - 1, x0 + 1 : x1 - 1] = False  # the plate's outermost pixel ring
    changed = (plain != lipped).any(2)
    assert changed[edge].mean() > 0.9  # shaded along the edge,
    assert lipped[edge].mean() < plain[edge].mean()  # darker,
    inside = np.zeros_like(edge)
    h, w = y1 - y0, x1 - x0
    inside[y0 + h // 4 : y1 - h // 4, x0 + w // 8 : x1 - w // 8] = True
    assert not changed[inside].any()  # and never over the digits


@pytest.mark.parametrize("seed", range(6))
def test_draw_face_keeps_the_digits_inside_the_plate_inside_the_face(seed):
    from plate_ocr.synth import DEFAULT_FACTORS
    from plate_ocr.synth.face import draw_face

    face, corner, plate_box, text_box = draw_face(
        "12345611616", np.random.default_rng(seed), DEFAULT_FACTORS
    )
    fh, fw = face.shape[:2]
    assert face.dtype == np.uint8 and 2 <= corner < fh // 2
    px0, py0, px1, py1 = plate_box
    tx0, ty0, tx1, ty1 = text_box
    assert 0 <= px0 <= tx0 < tx1 <= px1 <= fw and 0 <= py0 <= ty0 < ty1 <= py1 <= fh
    assert ty1 - ty0 == GLYPH_HEIGHT


def test_pick_follows_the_cumulative_weights():
    from plate_ocr.plates import pick
    from plate_ocr.synth.factors import uniform

    rng = np.random.default_rng(0)
    draws = [pick(rng, np.array([0.2, 0.2, 1.0])) for _ in range(4000)]
    assert np.bincount(draws, minlength=3)[1] == 0  # zero weight: never drawn
    assert 0.17 < draws.count(0) / 4000 < 0.23
    values = [uniform(rng, (2.0, 3.0)) for _ in range(1000)]
    assert min(values) >= 2.0 and max(values) < 3.0


def test_cli_without_a_verb_or_with_an_unknown_one_says_so(capsys):
    for argv in ([], ["paint"]):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 2
    assert "invalid choice: 'paint'" in capsys.readouterr().err


def test_a_full_disk_is_one_line_and_leaves_no_part_image(tmp_path, capsys, monkeypatch):
    from plate_ocr.synth import writer

    monkeypatch.setattr(writer.cv2, "imwrite", lambda path, image: False)  # ENOSPC, as cv2 says it
    out = tmp_path / "synth"
    assert main(["synth", str(out), "--train", "3", "--val", "0", "--test", "0"]) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # after the progress bar: one line
    assert "cannot write the images" in last and "Traceback" not in err
    assert not list(out.rglob("*.part*"))
