"""The one place that names the networks: a saved config builds its network here.

Checkpoints, the shipped reader and ONNX metadata store ``network_config(net)``; loading,
fine-tuning, reading and export all rebuild through ``build_network``. A new architecture is
one module, one line in ``NETWORKS`` and one file under ``conf/model/``; the module's class
is what ``PlateNetwork`` writes down, and nothing outside this file names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import torch
from torch import nn

from plate_ocr.errors import UserError
from plate_ocr.model.crnn import CRNN


class PlateNetwork(Protocol):
    """What training, reading, export and checkpoints use of a network (an ``nn.Module``).

    ``config``: its constructor's arguments, JSON-able, from which ``build_network`` makes it
    again; ``image_size`` (H, W) and ``in_channels``: the input it reads, fed as (B, C, H, W)
    floats in [0, 1]; ``log_probs``: (B, T, classes) CTC log-probabilities, class 0 the blank
    and class k + 1 the alphabet's k-th digit, T its output columns, any number of them.
    Optional: ``adapted_weights(state, saved_config)``, another configuration's weights made
    to fit this one when fine-tuning, with ``ADAPTABLE``, the config keys in which they may
    differ (an input width always may: it only sets how many columns are read).
    """

    config: dict

    @property
    def image_size(self) -> tuple[int, int]: ...

    @property
    def in_channels(self) -> int: ...

    def log_probs(self, images: torch.Tensor) -> torch.Tensor: ...


NETWORKS: dict[str, type[nn.Module]] = {"crnn": CRNN}
ARCHITECTURE_KEY = "architecture"  # configs saved before it was a key are CRNNs


def network_config(net: nn.Module) -> dict:
    """``net``'s constructor arguments and its architecture's name: all a file needs to
    rebuild it without pickled objects."""
    names = [name for name, kind in NETWORKS.items() if type(net) is kind]
    if not names:
        raise TypeError(f"{type(net).__name__} is not in plate_ocr.model.networks.NETWORKS")
    return {ARCHITECTURE_KEY: names[0], **net.config}


def build_network(config: Mapping) -> nn.Module:
    """The network a saved config describes, with fresh weights."""
    config = dict(config)
    name = config.pop(ARCHITECTURE_KEY, "crnn")
    if name not in NETWORKS:
        raise UserError(
            f"unknown network architecture {name!r} (this plate-ocr knows "
            f"{', '.join(NETWORKS)}): a newer plate-ocr may have saved it"
        )
    return NETWORKS[name](**config)
