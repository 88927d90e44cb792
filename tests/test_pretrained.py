"""The reader shipped in the package: loads offline, says how it was made, reads plates, and
is what every verb uses when no model is named."""

import socket

import cv2
import pytest

from plate_ocr.cli import main
from plate_ocr.model.reader_file import METADATA_FIELDS, reader_metadata
from plate_ocr.pretrained import PRETRAINED_FILE
from plate_ocr.reader import PlateReader

# a floor under the share of a fixed synthetic test set it reads (docs/results.md has the share)
SYNTHETIC_FLOOR = 0.95


@pytest.fixture
def offline(monkeypatch):
    """No socket can be opened: a download at load time would fail the test."""

    def refuse(*args, **kwargs):
        raise OSError("the network is off in this test")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_it_loads_offline_and_its_metadata_is_complete(offline):
    reader = PlateReader.load()
    metadata = reader_metadata("pretrained")
    missing = [field for field in METADATA_FIELDS if metadata.get(field) in (None, "", [])]
    assert not missing, f"{PRETRAINED_FILE} does not say {missing}"
    assert "synthetic plates only" in metadata["trained_on"]
    assert metadata["command"].startswith("python train.py experiment=pretrained")
    assert list(reader.image_size) == metadata["image_size"]
    assert reader.in_channels == metadata["channels"] and metadata["samples"] >= 500_000
    assert PRETRAINED_FILE.stat().st_size < 4 * 2**20  # a few MB at most, in the package


def test_it_reads_a_fixed_synthetic_test_set():
    from plate_ocr.synth import SyntheticPlates

    reader = PlateReader.load(device="cpu")
    plates = SyntheticPlates(300, seed=20261204, image_size=reader.image_size)
    items = [plates[i] for i in range(len(plates))]
    readings = reader([image for image, _ in items])
    right = sum(r.text == label for r, (_, label) in zip(readings, items, strict=True))
    assert right / len(items) >= SYNTHETIC_FLOOR


def test_predict_and_export_need_no_model_named(capsys, tmp_path, real_folder):
    crops = sorted((real_folder / "test").glob("*.jpg"))[:4]
    assert main(["predict", *map(str, crops), "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    expected = PlateReader.load()([str(crop) for crop in crops])
    assert [row.split(",")[1] for row in rows] == [reading.display for reading in expected]

    onnx = tmp_path / "plate.onnx"
    assert main(["export", "--onnx", str(onnx), "--check-synthetic", "16"]) == 0
    assert "same readings as pretrained" in capsys.readouterr().out
    image = cv2.imread(str(crops[0]))
    assert PlateReader.load(onnx)(image, order="bgr").text == expected[0].text


def test_experiment_pretrained_writes_a_reader_file_that_reads_and_fine_tunes(tmp_path):
    from hydra import compose, initialize_config_dir

    from plate_ocr.model.checkpoint import init_weights, load_network
    from plate_ocr.training import train

    overrides = ["experiment=pretrained", "trainer=debug", f"paths.output_dir={tmp_path}"]
    overrides += ["data.num_workers=0", "data.synthetic_val_size=8", "data.synthetic_test_size=8"]
    conf = str(PRETRAINED_FILE.parents[3] / "conf")
    with initialize_config_dir(config_dir=conf, version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    train(cfg)
    written = tmp_path / "reader.pt"
    metadata = reader_metadata(written)
    assert [field for field in METADATA_FIELDS if metadata.get(field) is None] == []
    assert metadata["seed"] == cfg.seed and metadata["epochs"] == 1
    assert PlateReader.load(written).image_size == tuple(cfg.data.image_size)
    init_weights(load_network(written), written)  # what init_from=PATH does with it


def test_its_onnx_twin_reads_as_it_does_and_carries_its_calibration(real_folder):
    """``predict`` with no model reads with plate_reader.onnx: it must be the .pt exported,
    regenerated with ``plate-ocr export --onnx src/plate_ocr/pretrained/plate_reader.onnx``
    whenever the .pt changes."""
    import numpy as np

    from plate_ocr.data.images import read_rgb
    from plate_ocr.pretrained import PRETRAINED_ONNX

    crops = [read_rgb(p) for p in sorted((real_folder / "test").glob("*.jpg"))]
    pt, onnx = PlateReader.load(device="cpu"), PlateReader.load(PRETRAINED_ONNX)
    assert onnx.engine == "onnxruntime" and pt.calibrator == onnx.calibrator
    batch = pt.preprocess(crops)
    np.testing.assert_allclose(onnx.log_probs(batch), pt.log_probs(batch), atol=1e-3)
    assert [r.text for r in onnx(crops)] == [r.text for r in pt(crops)]


def test_predict_with_no_model_reads_with_the_onnx_twin_without_torch(real_folder):
    from conftest import runs_without_torch

    crop = sorted((real_folder / "test").glob("*.jpg"))[0]
    runs_without_torch(
        f"from plate_ocr.cli import main; assert main(['predict', {str(crop)!r}]) == 0"
    )
