"""The CRNN: a conv stack reads the plate, a sequence head reads its columns left to right.

The head is a 2-layer BiLSTM by default (the classic CRNN). ``sequence="conv"`` swaps it for
dilated 1-D convolutions over the columns: the recurrent layer is about half of a small
model's CPU time at batch 1 and does not quantise, convolutions do both well.

A plain ``nn.Module`` with no Lightning in it, so it exports to ONNX and runs anywhere.
It keeps its constructor arguments in ``config`` so a checkpoint can rebuild it without
pickled objects, and it knows its input geometry (``image_size``, ``in_channels``) because
training, export and inference must all feed it the same way.
"""

from __future__ import annotations

import torch
from torch import nn

from plate_ocr.errors import UserError
from plate_ocr.plates import ALPHABET, MAX_LENGTH

NUM_CLASSES = len(ALPHABET) + 1  # + the CTC blank, index 0


def _conv_stage(c_in: int, c_out: int, convs: int, pool: tuple[int, int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += [
            nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        ]
    layers.append(nn.MaxPool2d(pool, pool))
    return nn.Sequential(*layers)


# The first two stages halve both axes; the last two keep the width, so T = W / 4 columns:
# enough room for CTC to put a blank between the 11 digits of a long plate (T >= 21).
_POOLS = ((2, 2), (2, 2), (2, 1), (2, 1))


SEQUENCE_HEADS = ("bilstm", "bigru", "conv")


class _ColumnConvs(nn.Module):
    """Residual 1-D convolutions over the columns, dilation doubling per layer so that
    ``layers`` of them see 2 ** (layers + 1) - 1 columns: a whole plate from 4 on."""

    def __init__(self, width: int, layers: int, dropout: float):
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv1d(width, width, 3, padding=2**i, dilation=2**i, bias=False),
                nn.BatchNorm1d(width),
                nn.ReLU(inplace=True),
                nn.Dropout(dropout),
            )
            for i in range(layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.transpose(1, 2)  # (B, hidden, T): Conv1d wants channels first
        for block in self.blocks:
            x = x + block(x)
        return x.transpose(1, 2)


def _sequence_head(kind: str, hidden: int, layers: int, dropout: float) -> tuple[nn.Module, int]:
    """The module that reads the (B, T, hidden) columns, and its output width."""
    if kind == "conv":
        return _ColumnConvs(hidden, layers, dropout), hidden
    recurrent = {"bilstm": nn.LSTM, "bigru": nn.GRU}[kind]
    layer = recurrent(
        hidden,
        hidden,
        num_layers=layers,
        bidirectional=True,
        batch_first=True,
        dropout=dropout if layers > 1 else 0.0,
    )
    return layer, 2 * hidden


class CRNN(nn.Module):
    """A ``plate_ocr.model.networks.PlateNetwork``."""

    # fine-tuning may start a network of several subcolumns from one of one (adapted_weights)
    ADAPTABLE = ("subcolumns",)

    def __init__(
        self,
        image_size: tuple[int, int] = (64, 200),
        in_channels: int = 1,
        channels: tuple[int, int, int, int] = (16, 48, 96, 128),
        convs_per_stage: tuple[int, int, int, int] = (1, 1, 1, 1),
        hidden: int = 128,
        dropout: float = 0.1,
        sequence: str = "bilstm",
        sequence_layers: int = 2,
        subcolumns: int = 1,
    ):
        super().__init__()
        if sequence not in SEQUENCE_HEADS:
            raise UserError(
                f"model.net.sequence={sequence}: not a sequence head; use one of "
                + ", ".join(SEQUENCE_HEADS)
            )
        if int(sequence_layers) < 1:
            raise UserError(f"model.net.sequence_layers={sequence_layers}: use 1 or more")
        if int(subcolumns) < 1:
            raise UserError(f"model.net.subcolumns={subcolumns}: use 1 or more")
        height, width = (int(v) for v in image_size)
        if height < 16 or height % 16 or width % 4:
            raise UserError(
                f"data.image_size=[{height}, {width}]: the height must be a multiple of 16 "
                "and the width of 4, e.g. [32, 128]"
            )
        # CTC needs a column per digit and a blank between repeats: T = W / 4 >= 2 L - 1
        columns = 2 * MAX_LENGTH - 1
        if width // 4 < columns:
            raise UserError(
                f"data.image_size=[{height}, {width}]: {width // 4} columns cannot hold an "
                f"{MAX_LENGTH}-digit plate for CTC; use a width of at least {4 * columns}"
            )
        self.config = {
            "image_size": [height, width],
            "in_channels": int(in_channels),
            "channels": [int(c) for c in channels],
            "convs_per_stage": [int(n) for n in convs_per_stage],
            "hidden": int(hidden),
            "dropout": float(dropout),
            "sequence": sequence,
            "sequence_layers": int(sequence_layers),
            "subcolumns": int(subcolumns),
        }
        stages, c_in = [], in_channels
        for c_out, convs, pool in zip(channels, convs_per_stage, _POOLS, strict=True):
            stages.append(_conv_stage(c_in, c_out, convs, pool))
            c_in = c_out
        # Channels-last: the CPU's convolution and pooling kernels run faster on it
        # (benchmarks/train_speed.py), and GPUs prefer it too.
        self.features = nn.Sequential(*stages).to(memory_format=torch.channels_last)
        feature_height = height // 16
        self.project = nn.Sequential(
            nn.Linear(c_in * feature_height, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)
        )
        self.sequence, width = _sequence_head(sequence, hidden, int(sequence_layers), dropout)
        # each column read as `subcolumns` CTC steps: room for a blank inside a narrow digit's
        # column, where a run of equal digits would otherwise merge
        self.classifier = nn.Linear(width, NUM_CLASSES * int(subcolumns))

    @property
    def image_size(self) -> tuple[int, int]:
        return tuple(self.config["image_size"])

    @property
    def in_channels(self) -> int:
        return self.config["in_channels"]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) floats in [0, 1] -> (B, T, classes) logits, T = W / 4 * subcolumns."""
        x = ((images - 0.5) / 0.5).contiguous(memory_format=torch.channels_last)
        x = self.features(x)  # (B, C', H/16, W/4)
        x = x.permute(0, 3, 1, 2).flatten(2)  # (B, T, C' * H/16)
        x = self.sequence(self.project(x))
        if isinstance(x, tuple):  # a recurrent layer's (outputs, state)
            x = x[0]
        if torch.is_autocast_enabled(x.device.type):
            # logits in float32 under bf16-mixed: CTC's gradient is the softmax less the
            # alignment's posterior, and bfloat16 logits (three significant digits) blur it
            with torch.autocast(x.device.type, enabled=False):
                return self._split(self.classifier(x.float()))
        return self._split(self.classifier(x))

    def _split(self, logits: torch.Tensor) -> torch.Tensor:
        """(B, T, k * classes) -> (B, k T, classes): each column's k steps in order."""
        return logits.reshape(logits.shape[0], -1, NUM_CLASSES)

    def log_probs(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, T, classes) log-probabilities: what CTC, decoding and the
        exported ONNX model all take."""
        return self(images).log_softmax(-1)

    def adapted_weights(self, state: dict, saved_config: dict) -> dict:
        """Weights saved with one step per column, for this network's ``subcolumns``: the
        classifier repeated, so each column's steps read what the column did (CTC merges
        them) and fine-tuning starts from the same readings."""
        steps = self.config["subcolumns"]
        if steps == saved_config.get("subcolumns", 1) or saved_config.get("subcolumns", 1) != 1:
            return state
        out = dict(state)
        for name in ("classifier.weight", "classifier.bias"):
            if name in out:
                out[name] = out[name].repeat(steps, *[1] * (out[name].dim() - 1))
        return out

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
