"""PlateReader: a trained network (checkpoint or ONNX) that turns RGB crops into plate readings.

The one inference path: ``predict``, ``evaluate.py``, the export check and the latency
benchmark all read plates through it, so they all see what validation sees: the crop resized
only (``data.model_input.prepare``), grayscale when the network takes one channel, floats
in [0, 1], NCHW. Both engines give (B, T, classes) log-probabilities, decoded by one codec.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from plate_ocr.confidence import CALIBRATION_KEY, Calibrator, option_name
from plate_ocr.data.model_input import prepare
from plate_ocr.errors import UserError
from plate_ocr.model.codec import Reading, decode
from plate_ocr.pretrained import PRETRAINED, resolve_model

if TYPE_CHECKING:  # an ONNX reader never imports torch: it starts in a fraction of the time
    from plate_ocr.model.networks import PlateNetwork

ONNX_CONFIG_KEY = "plate_ocr.net_config"  # ONNX metadata: the network's config, as JSON
ONNX_CALIBRATION_KEY = f"plate_ocr.{CALIBRATION_KEY}"  # its confidence calibrators, as JSON
# Framings a vote reads each crop in: as given, tighter and looser by this fraction of the
# height at the top and bottom (half that of the width at the ends, where plates have less
# margin). A reader is sensitive to framing (docs/results.md, reading options): the vote keeps
# what the framings agree on.
VOTE_FRAMINGS = (0.0, -0.06, 0.06)


class PlateReader:
    """Reads plates with a ``.ckpt`` (PyTorch), a ``.onnx`` (ONNX Runtime) or a network, or
    with several of them at once (a list): an ensemble. No model, or ``"pretrained"``: the
    reader shipped in the package (synthetic plates only).

    ``reader = PlateReader.load("best.ckpt")``; ``reader("crop.jpg")`` gives one Reading
    (``.text``, ``.display``, ``.confidence``), a list gives a list. ``device``: ``"cpu"``,
    ``"cuda"`` or None (CUDA when available). ``threads``, for ONNX models: how many CPU
    cores to use; a batch is split into that many parts read at once, each on one ONNX
    Runtime thread (more plates a second than one batch on several intra-op threads).
    None leaves ONNX Runtime its defaults. PyTorch's threads are process-wide:
    ``torch.set_num_threads``. ``constrained`` (the default): the most probable valid
    Algerian plate, by a CTC beam search that the greedy reading skips when it is a valid
    plate more probable than all else, as for most crops; on held-out real crops it read more
    plates than greedy in nearly every training, in greedy's time (docs/results.md).
    False: the best path, whatever its format. ``vote``: read each crop in three framings
    (as given, a little tighter, a little looser) and keep the text most of them read, for
    three times the work. An ensemble keeps the text most of its models read (in every
    framing, with ``vote``), ties to the surer side: networks trained apart misread
    different crops (docs/results.md: two trainings read more held-out plates than one),
    for the work of each. Its models must share one input size and colour mode. Their
    outputs are not averaged: CTC networks trained apart place digits in different columns.

    A model trained by ``train.py`` with real validation crops (or calibrated by ``plate-ocr
    calibrate``) gives each Reading a ``probability``: the chance that its text is right,
    fitted on plates it never trained on for this reading option. ``max_error`` (e.g. 0.005)
    then marks each Reading ``accepted`` or not: from the probability above which, on those
    plates, the accepted readings are wrong that often or less; the rest are for a person.
    An ensemble has no calibrator of its own, so no probability.
    """

    BATCH = 64  # crops per forward pass: past this, throughput on a CPU barely grows
    MIN_PART = 8  # crops: a smaller share of a batch is not worth a thread

    def __init__(
        self,
        model: str | Path | PlateNetwork | Sequence[str | Path | PlateNetwork] = PRETRAINED,
        constrained: bool = True,
        device: str | None = None,
        threads: int | None = None,
        vote: bool = False,
        max_error: float | None = None,
    ):
        if max_error is not None and not 0 < max_error < 1:
            raise UserError(f"max_error={max_error}: give a share of readings, e.g. 0.005")
        self.constrained = constrained
        self.framings = VOTE_FRAMINGS if vote else VOTE_FRAMINGS[:1]
        models = list(model) if isinstance(model, list | tuple) else [model]
        onnx = all(
            not _is_network(m) and Path(resolve_model(m)).suffix.lower() == ".onnx" for m in models
        )
        self.device = _device(device, onnx)
        if not models:
            raise UserError("no model to read with: pass a .ckpt, a .onnx or a list of them")
        self.networks = [_Network(m, self.device, threads) for m in models]
        self.engine = "+".join(dict.fromkeys(network.engine for network in self.networks))
        inputs = {
            (tuple(n.config["image_size"]), int(n.config["in_channels"])) for n in self.networks
        }
        if len(inputs) > 1:
            shown = ", ".join(f"{h}x{w} with {c} channel(s)" for (h, w), c in sorted(inputs))
            raise UserError(
                f"the models read different inputs ({shown}): an ensemble needs models trained "
                "at one data.image_size and data.channels"
            )
        ((image_size, in_channels),) = inputs
        self.image_size: tuple[int, int] = image_size
        self.in_channels: int = in_channels
        saved = self.networks[0].calibration if len(self.networks) == 1 else None
        saved = (saved or {}).get(option_name(constrained, vote))
        self.calibrator = Calibrator.from_dict(saved) if saved else None
        self.max_error = max_error
        self._threshold = math.inf
        if max_error is not None:
            if self.calibrator is None:
                raise UserError(
                    "max_error: this model has no calibrated confidence for "
                    f"{option_name(constrained, vote)} reading"
                    + (" (an ensemble has none)" if len(self.networks) > 1 else "")
                    + "; calibrate it on real crops it never trained on with `plate-ocr "
                    "calibrate MODEL REAL_DIR`"
                )
            self._threshold = self.calibrator.threshold(max_error)
        self._pool: ThreadPoolExecutor | None = None
        self._threads = 1  # parts of a batch read at once
        onnx_only = all(network.session is not None for network in self.networks)
        if onnx_only and threads and threads > 1 and not self.device.startswith("cuda"):
            self._pool = ThreadPoolExecutor(threads, thread_name_prefix="plate-reader")
            self._threads = threads

    @staticmethod
    def distinct(models: Sequence[str | Path]) -> list[str | Path]:
        """``models`` as a user listed them, refused when they are one file listed again and
        again: that reads as that model, and would be reported as an ensemble."""
        files = {Path(resolve_model(m)).resolve() for m in models}
        if len(models) > 1 and len(files) == 1:
            raise UserError(
                f"{files.pop()} is listed {len(models)} times: an ensemble needs different models"
            )
        return list(models)

    @classmethod
    def load(cls, path: str | Path | Sequence[str | Path] = PRETRAINED, **options) -> PlateReader:
        """A reader for a checkpoint or an ONNX file, or a list of them; none: the shipped
        pretrained reader (options as for the constructor)."""
        return cls(path, **options)

    def __call__(self, crops, order: str = "rgb"):
        """Read one crop or a list of them: file paths, PIL images or numpy arrays.

        A numpy array is taken as RGB; pass ``order="bgr"`` for what ``cv2.imread`` gives.
        Greyscale (H, W) arrays are accepted as they are.
        """
        if order not in ("rgb", "bgr"):
            raise ValueError(f"order={order!r}: use 'rgb' or 'bgr' (OpenCV's)")
        if isinstance(crops, Iterator):  # a generator or map: read once, it would be lost
            raise ValueError("a generator or iterator of crops: pass a list (list(crops))")
        single = not isinstance(crops, list | tuple)
        images = [_as_rgb(crop, order) for crop in ([crops] if single else crops)]
        readings = []
        for start in range(0, len(images), self.BATCH):
            readings += self.read(images[start : start + self.BATCH])
        return readings[0] if single else readings

    def preprocess(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """RGB uint8 crops of any size -> (B, C, H, W) float32 in [0, 1]."""
        return prepare(images, self.image_size, self.in_channels)

    def log_probs(self, batch: np.ndarray, network: int = 0) -> np.ndarray:
        """(B, C, H, W) float32 -> (B, T, classes) log-probabilities on the CPU, of the
        ``network``-th model."""
        return self.networks[network](batch)

    def read(self, images: Sequence[np.ndarray]) -> list[Reading]:
        """One batch of RGB uint8 crops -> one Reading each."""
        if not len(images):
            return []
        parts = min(self._threads, len(images) // self.MIN_PART)
        if parts <= 1:
            return self._read_part(images)
        # ONNX Runtime and OpenCV release the GIL: the parts run on separate cores
        size = -(-len(images) // parts)
        chunks = [images[start : start + size] for start in range(0, len(images), size)]
        return [reading for part in self._pool.map(self._read_part, chunks) for reading in part]

    def _read_part(self, images: Sequence[np.ndarray]) -> list[Reading]:
        votes = []
        for margin in self.framings:
            batch = self.preprocess([reframe(image, margin) for image in images])
            votes += [
                decode(self.log_probs(batch, network), self.constrained)
                for network in range(len(self.networks))
            ]
        readings = (
            votes[0]
            if len(votes) == 1
            else [majority(column) for column in zip(*votes, strict=True)]
        )
        if self.calibrator is None:
            return readings
        accept = self.max_error is not None
        return [
            dataclasses.replace(r, probability=p, accepted=p >= self._threshold if accept else None)
            for r, p in zip(readings, self.calibrator(readings).tolist(), strict=True)
        ]


class _Network:
    """One trained network behind one call, whatever runs it: (B, C, H, W) float32 ->
    (B, T, classes) log-probabilities on the CPU."""

    def __init__(self, model: str | Path | PlateNetwork | None, device: str, threads: int | None):
        model = model if _is_network(model) else resolve_model(model)
        self.net: PlateNetwork | None = None
        self.session = None
        self.device = device
        if _is_network(model):
            self.net, self.config = model.eval().to(device), model.config
        elif Path(model).suffix.lower() == ".onnx":
            self.session, self.config = _onnx_session(Path(model), device, threads)
        else:
            from plate_ocr.model.checkpoint import load_network

            self.net = load_network(model).to(device)
            self.config = self.net.config
        # {reading option: calibrator}, or None
        self.calibration: dict | None = (
            _onnx_calibration(Path(model), self.session)
            if self.session is not None
            else getattr(self.net, "calibration", None)
        )
        self.engine = "onnxruntime" if self.session is not None else "pytorch"

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        if self.session is not None:
            return self.session.run(None, {"images": batch})[0]
        import torch

        with torch.inference_mode():
            return self.net.log_probs(torch.from_numpy(batch).to(self.device)).float().cpu().numpy()


def _is_network(model) -> bool:
    """A network object rather than a path or a name (checked without importing torch)."""
    return callable(getattr(model, "log_probs", None))


def _device(device: str | None, onnx: bool = False) -> str:
    """``cpu``, ``cuda`` or ``cuda:N``, checked; None: CUDA when there is one. ``onnx``: only
    ONNX models read, so ONNX Runtime, not torch, says whether there is one."""
    if device is not None:
        kind, _, index = str(device).partition(":")
        if kind not in ("cpu", "cuda") or (index and not (kind == "cuda" and index.isdigit())):
            raise UserError(f"device {device!r}: use cpu, cuda or cuda:N")
    if onnx:
        import onnxruntime as ort

        cuda = "CUDAExecutionProvider" in ort.get_available_providers()
        if device is None:
            return "cuda" if cuda else "cpu"
        if kind == "cuda" and not cuda:
            raise UserError(
                f"device {device!r}: this onnxruntime has no CUDA provider; use cpu, or install "
                "onnxruntime-gpu"
            )
        return str(device)
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if kind == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {device!r}: this machine has no CUDA GPU that torch sees; use cpu")
    if index and int(index) >= torch.cuda.device_count():
        raise UserError(f"device {device!r}: there are {torch.cuda.device_count()} CUDA devices")
    return str(device)


def reframe(image: np.ndarray, margin: float) -> np.ndarray:
    """The crop ``margin`` of its height tighter (< 0) or looser (> 0) at the top and bottom,
    half that of its width at each end; a loose side repeats the crop's edge pixels."""
    if margin == 0:
        return image
    height, width = image.shape[:2]
    dy, dx = round(abs(margin) * height), round(abs(margin) / 2 * width)
    if margin > 0:
        return cv2.copyMakeBorder(image, dy, dy, dx, dx, cv2.BORDER_REPLICATE)
    if height - 2 * dy < 1 or width - 2 * dx < 1:
        return image
    return image[dy : height - dy, dx : width - dx]


def majority(readings: Sequence[Reading]) -> Reading:
    """The text most readings agree on, ties to the larger summed confidence. Its confidence
    is that sum over all readings, so a split vote reads as less sure."""
    support: dict[str, tuple[int, float]] = {}
    for reading in readings:
        count, total = support.get(reading.text, (0, 0.0))
        support[reading.text] = (count + 1, total + reading.confidence)
    text = max(support, key=support.__getitem__)
    return Reading(text, support[text][1] / len(readings))


def _onnx_session(path: Path, device: str, threads: int | None):
    import onnxruntime as ort  # only ONNX users pay for the import

    if not path.is_file():
        raise UserError(f"{path}: ONNX model not found; make one with `plate-ocr export CKPT`")
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: ORT warns about unused initialisers
    if threads:  # PlateReader runs ``threads`` parts of a batch at once, one thread each
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
    providers = ["CPUExecutionProvider"]
    if device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    try:
        session = ort.InferenceSession(str(path), options, providers=providers)
    except Exception as error:
        reason = str(error).strip().splitlines()[0]
        raise UserError(f"{path}: not a readable ONNX model ({reason})") from error
    config = session.get_modelmeta().custom_metadata_map.get(ONNX_CONFIG_KEY)
    if config is None:
        raise UserError(f"{path}: not a plate-ocr ONNX model (no {ONNX_CONFIG_KEY} metadata)")
    return session, _checked_onnx_config(path, session, config)


def _onnx_calibration(path: Path, session) -> dict | None:
    text = session.get_modelmeta().custom_metadata_map.get(ONNX_CALIBRATION_KEY)
    if text is None:
        return None
    try:
        saved = json.loads(text)
        for calibrator in saved.values():
            Calibrator.from_dict(calibrator)
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise UserError(
            f"{path}: its {ONNX_CALIBRATION_KEY} metadata is not a set of calibrators "
            f"({error}); export the model again with `plate-ocr export`"
        ) from None
    return saved


def _checked_onnx_config(path: Path, session, text: str) -> dict:
    """The config in an ONNX file's metadata, held to its graph's input: a reader fed the
    size the metadata claims must be fed what the graph takes."""
    try:
        config = json.loads(text)
        height, width = (int(side) for side in config["image_size"])
        channels = int(config["in_channels"])
    except (ValueError, TypeError, KeyError) as error:
        raise UserError(
            f"{path}: its {ONNX_CONFIG_KEY} metadata is not a network config ({error!r}); "
            "export the model again with `plate-ocr export`"
        ) from None
    inputs = session.get_inputs()
    shape = list(inputs[0].shape) if inputs else []
    expected = [channels, height, width]
    fixed = zip(shape[1:], expected, strict=False)
    if len(shape) != 4 or any(isinstance(got, int) and got != want for got, want in fixed):
        raise UserError(
            f"{path}: its metadata says input ({channels}, {height}, {width}) but the graph "
            f"takes {shape}; export the model again with `plate-ocr export`"
        )
    return config


def _as_rgb(crop, order: str) -> np.ndarray:
    """A path, PIL image or array as (H, W, 3) uint8 RGB. A JPEG's EXIF orientation is applied
    either way, as OpenCV applies it to a path: one crop reads alike as a file or an image."""
    if isinstance(crop, str | Path):
        from plate_ocr.data.images import read_rgb

        return read_rgb(Path(crop))
    if (
        crop is None
        or isinstance(crop, bytes | bytearray | str)
        or not (
            isinstance(crop, np.ndarray) or hasattr(crop, "__array__") or hasattr(crop, "getexif")
        )
    ):  # np.asarray would make an object or bytes array of it, read as garbage or a crash
        raise ValueError(
            f"a {type(crop).__name__} is not a crop: pass a path, a PIL image or an array "
            "(a list of them for several; bytes: decode them with cv2.imdecode first)"
        )
    if not isinstance(crop, np.ndarray):  # a PIL image, or anything with __array__
        if hasattr(crop, "getexif"):
            from PIL import ImageOps

            crop = ImageOps.exif_transpose(crop).convert("RGB")
        crop = np.asarray(crop)
    image = _as_uint8(crop)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(f"a crop array must be (H, W), (H, W, 3) or (H, W, 4), not {crop.shape}")
    if not image.shape[0] or not image.shape[1]:
        raise ValueError(f"an empty crop array {image.shape}: it holds no pixel to read")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB if order == "bgr" else cv2.COLOR_RGBA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if order == "bgr" else image


def _as_uint8(image: np.ndarray) -> np.ndarray:
    """Pixels 0-255: uint8 as it is, the ranges that are known scaled (floats in [0, 1],
    uint16), anything else refused; a cast would wrap it to garbage that still reads."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image.astype(np.float32) / 257.0).round().astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        if image.size and not (np.isfinite(image).all() and image.min() >= 0 and image.max() <= 1):
            raise ValueError(
                f"a {image.dtype} crop must hold values in [0, 1] (it holds "
                f"{np.nanmin(image):g} to {np.nanmax(image):g}, or non-finite ones): scale it, "
                "or pass uint8 pixels 0-255"
            )
        return (image * 255.0).round().astype(np.uint8)
    raise ValueError(
        f"a {image.dtype} crop array: pass uint8 pixels 0-255, uint16, or floats in [0, 1]"
    )
