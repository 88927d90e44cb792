"""A network is one module, one registry line and one config: a toy one, defined here and
named nowhere in the package, trains, saves, reads, calibrates and exports by config."""

import torch
from omegaconf import OmegaConf
from torch import nn

from plate_ocr.model.codec import BLANK
from plate_ocr.model.networks import NETWORKS
from plate_ocr.plates import ALPHABET


class ToyNetwork(nn.Module):
    """Columns of pooled pixels through one linear layer: the least a PlateNetwork is."""

    def __init__(self, image_size=(32, 96), in_channels=1, columns=24):
        super().__init__()
        self.config = {
            "image_size": [int(v) for v in image_size],
            "in_channels": int(in_channels),
            "columns": int(columns),
        }
        self.pool = nn.AdaptiveAvgPool2d((4, columns))
        self.read = nn.Linear(4 * in_channels, len(ALPHABET) + 1)

    @property
    def image_size(self):
        return tuple(self.config["image_size"])

    @property
    def in_channels(self):
        return self.config["in_channels"]

    def log_probs(self, images):
        x = self.pool(images).flatten(1, 2).transpose(1, 2)  # (B, columns, C * 4)
        return self.read(x).log_softmax(-1)

    def forward(self, images):
        return self.log_probs(images)


def test_a_toy_network_trains_reads_and_exports_by_config(tmp_path, real_folder, monkeypatch):
    from test_train import _compose, _short_run

    from plate_ocr.export import export_onnx
    from plate_ocr.model.checkpoint import load_network
    from plate_ocr.reader import PlateReader
    from plate_ocr.training import train

    monkeypatch.setitem(NETWORKS, "toy", ToyNetwork)
    cfg = _compose(
        tmp_path / "run", *_short_run(real_folder), "trainer.max_epochs=1", "init_from=null"
    )
    cfg.model.net = OmegaConf.create(
        {"_target_": f"{__name__}.ToyNetwork", "image_size": "${data.image_size}", "columns": 24}
    )
    train(cfg)
    checkpoint = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert torch.load(checkpoint, weights_only=True)["net_config"]["architecture"] == "toy"
    net = load_network(checkpoint)
    assert isinstance(net, ToyNetwork) and net.calibration  # fitted at the end of training
    crops = sorted((real_folder / "test").glob("*.jpg"))
    readings = PlateReader(checkpoint)(crops)
    onnx = export_onnx(net, tmp_path / "toy.onnx")
    assert [r.text for r in PlateReader(onnx)(crops)] == [r.text for r in readings]
    assert BLANK == 0  # the contract the toy's classes follow
