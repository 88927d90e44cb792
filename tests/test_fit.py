"""`plate-ocr synth --fit`: the generator's distributions estimated from a folder of crops,
written as a Hydra config that training composes, and used for the plates it renders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from plate_ocr.cli import main
from plate_ocr.synth import Factors, SyntheticPlates
from plate_ocr.synth.fit import fit_factors

CONF = Path(__file__).parents[1] / "conf"
YELLOW, WHITE = (240, 200, 30), (235, 235, 235)
# file name, plate colour, (height, width): 4 distinct plates, one cropped twice
CROPS = [
    ("12345611631.png", YELLOW, (24, 80)),
    ("12345611631_1.png", YELLOW, (30, 96)),
    ("0730011131.png", YELLOW, (40, 100)),
    ("1437940016.png", WHITE, (36, 150)),
    ("5555511209.png", WHITE, (28, 70)),
]


@pytest.fixture
def crops(tmp_path, write_crop) -> Path:
    for name, colour, size in CROPS:
        write_crop(tmp_path / "crops" / name, colour, size)
    return tmp_path / "crops"


def test_fit_measures_labels_and_looks(crops):
    fit = fit_factors(crops)
    assert (fit.crops, fit.plates) == (5, 4)
    values = fit.values
    assert values["form_weights"] == {"10": 50.0, "11": 25.0, "temporary": 25.0, "9": 0.0}
    wilayas = values["wilaya_weights"]
    assert len(wilayas) == 69 and abs(sum(wilayas.values()) - 100) < 0.1
    assert wilayas[31] == pytest.approx(95 * 2 / 4, abs=0.1)
    assert wilayas[16] == wilayas[9] == pytest.approx(95 / 4, abs=0.1)
    assert 0 < wilayas[1] < 0.1  # absent from the folder, still drawn now and then
    assert values["p_yellow"] == 0.6  # 3 of 5 crops
    assert 24 <= values["native_height"][0] < values["native_height"][1] <= 40
    assert 2.5 <= values["crop_aspect"][0] < values["crop_aspect"][1] <= 4.2
    assert "rotation_deg" not in values  # too few crops with a text line to say
    assert fit.factors.p_yellow == 0.6 and fit.factors.blur_sigma == Factors().blur_sigma


def test_written_config_composes_into_training_and_steers_the_plates(crops, tmp_path):
    conf = shutil.copytree(CONF, tmp_path / "conf")
    out = conf / "data" / "synthetic_factors" / "fitted.yaml"
    assert main(["synth", "--fit", str(crops), "--out", str(out), "--force"]) == 0
    text = out.read_text()
    assert text.startswith("# Fitted by") and "# p5-p95 of 5 crop heights, px\n" in text
    assert "python train.py data/synthetic_factors=fitted" in text
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        cfg = compose("train", overrides=["data/synthetic_factors=fitted"])
    factors = instantiate(cfg.data.synthetic_factors)
    assert factors == fit_factors(crops).factors
    # half the plates are from wilaya 31: so are about half the rendered ones (n=80: 0.27-0.73)
    plates = SyntheticPlates(80, seed=1, image_size=(32, 96), factors=factors)
    share = sum(plates[i][1].endswith("31") for i in range(80)) / 80
    assert 0.27 < share < 0.73


def test_a_single_wilaya_folder_gives_plates_of_that_wilaya(tmp_path, write_crop):
    for i in range(6):
        write_crop(tmp_path / "only31" / f"{i:06d}11231.png")
    plates = SyntheticPlates(
        60, seed=3, image_size=(32, 96), factors=fit_factors(tmp_path / "only31").factors
    )
    labels = [plates[i][1] for i in range(60)]
    assert sum(label.endswith("31") for label in labels) >= 0.85 * len(labels)
    assert {len(label) for label in labels} == {11}


def test_default_out_is_in_conf_and_never_overwritten_silently(
    crops, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    assert main(["synth", "--fit", str(crops)]) == 2
    assert "give --out FILE" in capsys.readouterr().err
    (tmp_path / "conf").mkdir()
    assert main(["synth", "--fit", str(crops)]) == 0
    out = tmp_path / "conf" / "data" / "synthetic_factors" / "fitted.yaml"
    table = capsys.readouterr().out
    assert "p_yellow" in table and "0.6" in table and "data/synthetic_factors=fitted" in table
    out.write_text("# mine\n")
    assert main(["synth", "--fit", str(crops)]) == 2
    err = capsys.readouterr().err
    assert str(out.relative_to(tmp_path)) in err and "--force" in err and len(err.splitlines()) == 1
    assert out.read_text() == "# mine\n"
    assert main(["synth", "--fit", str(crops), "--force"]) == 0
    assert out.read_text().startswith("# Fitted by")
    assert [p.name for p in out.parent.iterdir()] == ["fitted.yaml"]  # no temporary left


@pytest.mark.parametrize(
    "args, message",
    [
        (["--fit", "{tmp}/missing", "--out", "{tmp}/f.yaml"], "does not exist"),
        (["--fit", "{tmp}/empty", "--out", "{tmp}/f.yaml"], "no plate crop images"),
        (["--fit", "{tmp}/empty", "{tmp}/f.yaml"], "--out FILE"),
        (["{tmp}/f.yaml", "--out", "{tmp}/f.yaml"], "--out goes with --fit"),
        (["{tmp}/f.yaml", "--skip-bad"], "--skip-bad goes with --fit"),
    ],
)
def test_bad_fit_input_is_one_line(tmp_path, capsys, args, message):
    (tmp_path / "empty").mkdir()
    assert main(["synth", *(a.format(tmp=tmp_path) for a in args)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "f.yaml").exists()


@pytest.mark.slow  # a subprocess or every LPA crop: the full suite runs it
def test_fit_of_the_lpa_crops(lpa_dir):
    fit = fit_factors(lpa_dir)
    wilayas = fit.values["wilaya_weights"]
    assert max(wilayas, key=wilayas.get) == 16
    low, high = fit.values["native_height"]
    assert 30 < low < high < 140
    assert 0.2 < fit.values["p_yellow"] < 0.8


def test_a_fit_to_too_few_crops_is_refused_and_a_rough_one_said(tmp_path, write_crop, capsys):
    """One crop wrote a generator whose every plate looked alike, without a word."""
    write_crop(tmp_path / "one" / "12345611631.png")
    assert main(["synth", "--fit", str(tmp_path / "one"), "--out", str(tmp_path / "f.yaml")]) == 2
    assert "1 crop(s) are too few" in capsys.readouterr().err
    assert not (tmp_path / "f.yaml").exists()
    for name, colour, size in CROPS:
        write_crop(tmp_path / "five" / name, colour, size)
    assert main(["synth", "--fit", str(tmp_path / "five"), "--out", str(tmp_path / "f.yaml")]) == 0
    assert "fitted to 5 crops only" in capsys.readouterr().err
