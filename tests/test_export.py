"""plate-ocr export: ONNX that reads like the checkpoint; checkpoints never run pickled code."""

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

import plate_ocr.cli.export
import plate_ocr.export
from plate_ocr.cli import main
from plate_ocr.data.images import read_rgb
from plate_ocr.errors import UserError
from plate_ocr.model import CRNN
from plate_ocr.model.checkpoint import load_network
from plate_ocr.model.networks import network_config
from plate_ocr.reader import ONNX_CONFIG_KEY, PlateReader


def test_onnx_reads_like_the_checkpoint(capsys, tmp_path, tiny_checkpoint, real_folder):
    out = tmp_path / "model.onnx"
    code = main(
        [
            "export",
            str(tiny_checkpoint),
            "--onnx",
            str(out),
            "--check-dir",
            str(real_folder / "test"),
            "--check-synthetic",
            "16",
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "same readings" in printed.out and "on 28 crops" in printed.out
    assert not list(tmp_path.glob(".*tmp*"))  # the temporary file is gone

    proto = onnx.load(str(out))
    metadata = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(metadata[ONNX_CONFIG_KEY]) == network_config(load_network(tiny_checkpoint))

    # Any batch size (the batch axis is dynamic), log-probabilities, same readings.
    crops = [read_rgb(p) for p in sorted((real_folder / "test").glob("*.jpg"))]
    torch_reader, onnx_reader = PlateReader(tiny_checkpoint, device="cpu"), PlateReader(out)
    assert onnx_reader.engine == "onnxruntime" and onnx_reader.image_size == (32, 96)
    for batch in (crops[:1], crops[:5], crops):
        images = torch_reader.preprocess(batch)
        expected, actual = torch_reader.log_probs(images), onnx_reader.log_probs(images)
        assert actual.shape == (len(batch), 24, 11)
        np.testing.assert_allclose(np.exp(actual).sum(-1), np.ones((len(batch), 24)), atol=1e-4)
        np.testing.assert_allclose(actual, expected, atol=1e-4)
        _assert_same_readings(onnx_reader.read(batch), torch_reader.read(batch))

    # The metadata alone is enough to decode: a runtime without plate-ocr reads the same.
    import plate_ocr

    assert metadata["plate_ocr.version"] == plate_ocr.__version__
    alphabet, blank = metadata["plate_ocr.alphabet"], int(metadata["plate_ocr.blank_index"])
    best = onnx_reader.log_probs(torch_reader.preprocess(crops)).argmax(-1)
    plain = []
    for row in best:
        kept = [k for i, k in enumerate(row) if k != blank and (i == 0 or k != row[i - 1])]
        plain.append("".join(alphabet[k - 1] for k in kept))
    greedy = PlateReader(out, constrained=False)  # the best path, as decoded here
    assert plain == [r.text for r in greedy.read(crops)]

    # predict takes the ONNX model as it takes the checkpoint.
    assert main(["predict", str(out), str(real_folder / "test"), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(crops)

    # An ensemble may mix engines: the ONNX file reads as its checkpoint does within it.
    mixed = PlateReader([out, tiny_checkpoint], device="cpu")
    assert mixed.engine == "onnxruntime+pytorch"
    _assert_same_readings(mixed.read(crops), PlateReader([tiny_checkpoint] * 2).read(crops))


def _assert_same_readings(actual, expected):
    assert [r.text for r in actual] == [r.text for r in expected]
    for a, e in zip(actual, expected, strict=True):
        assert a.confidence == pytest.approx(e.confidence, rel=1e-3)


def test_export_refuses_a_model_that_reads_differently(tmp_path, tiny_checkpoint, monkeypatch):
    export_onnx = plate_ocr.export.export_onnx

    def broken_export(net, path, opset):
        with torch.no_grad():
            net.classifier.bias[6] += 50.0  # every column now reads the digit 5
        return export_onnx(net, path, opset)

    monkeypatch.setattr(plate_ocr.export, "export_onnx", broken_export)
    out = tmp_path / "model.onnx"
    args = ["export", str(tiny_checkpoint), "--onnx", str(out), "--check-synthetic", "8"]
    with pytest.raises(UserError, match="ONNX readings differ from the checkpoint's on 8 of 8"):
        plate_ocr.cli.export.run(_parse(args))
    assert list(tmp_path.iterdir()) == []  # nothing written, not even the temporary file


def _parse(argv):
    import argparse

    parser = argparse.ArgumentParser()
    plate_ocr.cli.export.add_arguments(parser)
    return parser.parse_args(argv[1:])


class _Payload:
    """Unpickling this calls ``Path.touch``: proof that a checkpoint ran code."""

    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (self.target,))


def test_a_checkpoint_with_a_pickle_payload_is_refused(capsys, tmp_path, tiny_checkpoint):
    marker = tmp_path / "payload_ran"
    evil = tmp_path / "evil.ckpt"
    state = torch.load(tiny_checkpoint, map_location="cpu", weights_only=True)
    torch.save(state | {"evil": _Payload(marker)}, evil)

    with pytest.raises(UserError, match="evil.ckpt: refused to load checkpoint"):
        load_network(evil)
    assert main(["export", str(evil), "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert main(["predict", str(evil), str(tmp_path)]) == 2
    assert "refused to load checkpoint" in capsys.readouterr().err
    assert not marker.exists()  # the payload never ran
    assert not (tmp_path / "m.onnx").exists()

    # and the file really is a payload: an unsafe load would have run it
    torch.load(evil, map_location="cpu", weights_only=False)
    assert marker.exists()


def test_the_exported_model_keeps_three_channel_input(tmp_path):
    net = CRNN(image_size=(32, 96), in_channels=3, channels=(4, 4, 4, 4), hidden=8).eval()
    path = plate_ocr.export.export_onnx(net, tmp_path / "rgb.onnx")
    reader = PlateReader(path)
    crop = np.random.default_rng(0).integers(0, 255, (40, 120, 3), dtype=np.uint8)
    assert reader.in_channels == 3 and reader.preprocess([crop]).shape == (1, 3, 32, 96)
    _assert_same_readings(reader.read([crop]), PlateReader(net, device="cpu").read([crop]))


@pytest.mark.slow  # an int8 quantisation and its check: the full suite runs it
def test_int8_export_reports_the_accuracy_change_and_reads(
    capsys, tmp_path, tiny_checkpoint, real_folder
):
    out = tmp_path / "int8.onnx"
    args = ["export", str(tiny_checkpoint), "--onnx", str(out), "--int8",
            "--check-dir", str(real_folder), "--max-loss", "0.05"]  # fmt: skip
    assert main(args) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "(int8): reads" in printed and f"real crops in {real_folder}" in printed
    proto = onnx.load(str(out))
    metadata = {p.key: p.value for p in proto.metadata_props}
    assert metadata["plate_ocr.quantization"].startswith("int8")
    assert json.loads(metadata[ONNX_CONFIG_KEY]) == network_config(load_network(tiny_checkpoint))
    assert any(node.op_type == "QuantizeLinear" for node in proto.graph.node)
    reader = PlateReader(out)
    crop = read_rgb(next((real_folder / "test").glob("*.jpg")))
    assert isinstance(reader(crop).text, str)
    assert not list(tmp_path.glob("*.prepared")) and not list(tmp_path.glob(".*tmp*"))


def test_int8_export_refuses_a_loss_past_max_loss(tmp_path, tiny_checkpoint, monkeypatch):
    """The tiny checkpoint reads nothing, so it cannot lose: the readers' scores are set."""
    scores = iter([0.90, 0.88])
    monkeypatch.setattr(plate_ocr.export, "accuracy", lambda reader, plates: next(scores))
    out = tmp_path / "int8.onnx"
    args = ["export", str(tiny_checkpoint), "--onnx", str(out), "--int8", "--check-synthetic",
            "8", "--max-loss", "0.01"]  # fmt: skip
    with pytest.raises(UserError, match=r"a loss of 0.020, more than --max-loss 0.01"):
        plate_ocr.cli.export.run(_parse(args))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(UserError, match="--max-loss 1.5"):
        plate_ocr.cli.export.run(_parse([*args[:-1], "1.5"]))


def test_a_reader_on_two_threads_reads_a_batch_in_parts_and_alike(tmp_path, tiny_checkpoint):
    path = plate_ocr.export.export_onnx(load_network(tiny_checkpoint), tmp_path / "m.onnx")
    crops = plate_ocr.export.synthetic_crops(40, (40, 120))
    one, two = PlateReader(path, threads=1), PlateReader(path, threads=2)
    calls = []
    original = two.log_probs
    two.log_probs = lambda batch, network=0: calls.append(len(batch)) or original(batch, network)
    _assert_same_readings(two.read(crops), one.read(crops))
    assert calls == [20, 20]  # two parts of the batch, each on its own thread
    _assert_same_readings(two.read(crops[:9]), one.read(crops[:9]))
    assert calls[2:] == [9]  # too few crops to split


def test_an_onnx_reader_never_imports_torch(tmp_path, tiny_checkpoint, real_folder):
    """Serving from ONNX starts fast: torch's import alone takes seconds on a small machine."""
    from conftest import runs_without_torch

    from plate_ocr.export import export_onnx
    from plate_ocr.model.checkpoint import load_network

    onnx = export_onnx(load_network(tiny_checkpoint), tmp_path / "m.onnx")
    crop = sorted((real_folder / "test").glob("*.jpg"))[0]
    runs_without_torch(
        "from plate_ocr.reader import PlateReader; "
        f"PlateReader({str(onnx)!r}, constrained=True, vote=True)({str(crop)!r})"
    )
