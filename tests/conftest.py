"""Fixtures shared by the tests: the shared real crops, and tiny crops written on the fly."""

from __future__ import annotations

import functools
import os
import runpy
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

REPO = Path(__file__).parents[1]
LPA_DIR = REPO.parent / "shared" / "data" / "lpa_recognition"


@pytest.fixture
def lpa_dir() -> Path:
    """The shared LPA recognition crops (train 1,740, validation 163), beside the repo.

    Skipped where they are absent, except in CI (``CI=true``): a green CI must mean the
    real-data tests ran."""
    if not LPA_DIR.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {LPA_DIR} is missing: the real-data tests cannot run")
        pytest.skip(
            "../shared/data/lpa_recognition not found: "
            "real-data tests need the shared LPA crops beside the repo"
        )
    return LPA_DIR


@pytest.fixture
def run_script(capfd) -> Callable[..., subprocess.CompletedProcess]:
    """Run a repo script (``train.py``, ``evaluate.py``, ``benchmarks/x.py``) with command-line
    arguments in this process, as the shell would: its exit status and what it printed.
    Seconds faster than a subprocess, which pays for importing torch and Lightning again."""

    def run(script: str, *args: str) -> subprocess.CompletedProcess:
        argv, path = sys.argv, list(sys.path)
        sys.argv = [str(REPO / script), *args]
        sys.path.insert(0, str((REPO / script).parent))  # as python puts the script's folder
        try:
            runpy.run_path(str(REPO / script), run_name="__main__")
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            sys.argv, sys.path[:] = argv, path
        out, err = capfd.readouterr()
        return subprocess.CompletedProcess([script, *args], code, out, err)

    return run


TINY_RUN = [
    "trainer=debug",
    "data.image_size=[32,96]",
    "data.num_workers=0",
    "data.batch_size=8",
    "data.synthetic_val_size=8",
    "data.synthetic_test_size=8",
]


@pytest.fixture
def train_py(run_script, tmp_path):
    """``python train.py`` on a tiny run (one batch of each loader) in a new folder."""

    def run(*overrides: str, folder: Path | None = None) -> subprocess.CompletedProcess:
        return run_script("train.py", *TINY_RUN, f"hydra.run.dir={folder or tmp_path}", *overrides)

    return run


def runs_without_torch(code: str) -> None:
    """Run Python ``code`` in a fresh interpreter; it must succeed without importing torch
    (its import alone takes seconds on a small machine)."""
    check = "; import sys; assert 'torch' not in sys.modules, 'torch was imported'"
    done = subprocess.run([sys.executable, "-c", code + check], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def one_line_exit_2(run: subprocess.CompletedProcess, *words: str) -> None:
    """A user's mistake: exit status 2, no traceback, and the words that name it."""
    output = run.stdout + run.stderr
    assert run.returncode == 2, output
    assert "Traceback" not in output and "Error in call to target" not in output
    for word in words:
        assert word in output, output


@pytest.fixture
def write_crop() -> Callable[..., Path]:
    """Write a small plate-like crop (RGB colour, dark stripes) to ``path``; returns the path."""

    def write(path: Path, colour=(240, 200, 30), size=(24, 80)) -> Path:
        image = np.empty((*size, 3), np.uint8)
        image[:] = colour
        image[size[0] // 3 : 2 * size[0] // 3, 4::9] = 20
        path.parent.mkdir(parents=True, exist_ok=True)
        ok, data = cv2.imencode(path.suffix.lower(), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        assert ok, path
        data.tofile(path)  # cv2.imwrite cannot write non-ASCII paths
        return path

    return write


@pytest.fixture(scope="session")
def real_folder(tmp_path_factory) -> Path:
    """A tiny real-style folder (train/validation/test) of rendered plates named by label."""
    from plate_ocr.plates import sample_plate
    from plate_ocr.synth import render_plate

    root = tmp_path_factory.mktemp("real")
    rng = np.random.default_rng(0)
    for split, count in (("train", 40), ("validation", 12), ("test", 12)):
        (root / split).mkdir()
        for i in range(count):
            label = sample_plate(rng) if i % 3 else ["0730011107", "12345611616"][i % 2]
            image = render_plate(label, rng, size=(48, 150))
            cv2.imwrite(str(root / split / f"{label}_{i}.jpg"), image[..., ::-1])
    return root


@pytest.fixture(autouse=True, scope="session")
def own_cache(tmp_path_factory):
    """Digit places are cached per crops: the tests' cache is theirs, not the user's."""
    os.environ["PLATE_OCR_CACHE"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread; on a busy machine two threads wait on each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A real checkpoint of a tiny CRNN after one training step."""
    from plate_ocr.model import CRNN, PlateRecognizer

    torch.manual_seed(0)
    net = CRNN(image_size=(32, 96), channels=(8, 8, 8, 8), hidden=16)
    model = PlateRecognizer(net=net, optimizer=functools.partial(torch.optim.AdamW, lr=1e-3))
    batch = {
        "images": torch.rand(4, 1, 32, 96),
        "labels": ["0730011107"] * 4,
        "sources": ["real"] * 4,
    }
    trainer = pl.Trainer(
        max_steps=1,
        logger=False,
        enable_checkpointing=False,
        accelerator="cpu",
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, train_dataloaders=DataLoader([batch], batch_size=None))
    path = tmp_path_factory.mktemp("ckpt") / "tiny.ckpt"
    trainer.save_checkpoint(path)
    return path


@pytest.fixture(scope="session")
def other_tiny_checkpoint(tiny_checkpoint, tmp_path_factory) -> Path:
    """``tiny_checkpoint`` with other weights: a second model to read beside it."""
    checkpoint = torch.load(tiny_checkpoint, weights_only=True)
    generator = torch.Generator().manual_seed(2)  # a seed whose readings vary by crop
    for name, weight in checkpoint["state_dict"].items():
        if weight.is_floating_point() and weight.numel() > 1 and "running" not in name:
            weight += weight.std() * torch.randn(weight.shape, generator=generator)
    path = tmp_path_factory.mktemp("ckpt") / "other.ckpt"
    torch.save(checkpoint, path)
    return path
