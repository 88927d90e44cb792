"""How well a small CNN tells real crops from synthetic ones: the lower, the better the generator.

    python benchmarks/realism.py [--folds-to-run 0 1 2] [--epochs 6] [--image-size 32 128]
                                 [--seed 0] [--real-dir DIR] [--results FILE]

Per fold, the real crops are split by plate (``real_splits``: held-out plates never train)
and matched one for one by synthetic crops, a fresh seed for the held-out ones. Both reach
the classifier as the quickstart model sees them: resized to --image-size, grayscale. It
trains a fixed budget and is scored on the held-out crops: accuracy and ROC AUC, where 0.5
means it cannot tell them apart. The generator measured is the ``plate_ocr`` imported, so
compare two versions by running this twice with PYTHONPATH pointing at each one's src/.
Every run appends one JSON line (the generator's commit, settings, per-fold numbers) to
``benchmarks/results/realism_runs.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

import plate_ocr
from plate_ocr.data.augment import build_augmentation
from plate_ocr.data.folder import PlateFolder
from plate_ocr.data.real_split import RealSplit
from plate_ocr.sweep import mean_std
from plate_ocr.synth import SyntheticPlates

REPO = Path(__file__).resolve().parents[1]
REAL_DIR = REPO.parent / "shared" / "data" / "lpa_recognition"
RESULTS = REPO / "benchmarks" / "results" / "realism_runs.jsonl"


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """P(a positive scores above a negative), ties counting half: the Mann-Whitney U statistic."""
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2)[inverse]  # 1-based, tied scores averaged
    positives = labels.astype(bool)
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def crops(real_dir: Path, fold: int, folds: int, size: tuple[int, int], seed: int):
    """``{"train": (images, labels), "held_out": ...}``: (N, H, W) uint8 gray, 1 = synthetic."""
    resize = build_augmentation("none", size)
    splits = RealSplit(str(real_dir), fold, folds).splits()
    sets = {}
    for name, split, offset in (("train", "train", 0), ("held_out", "validation", 1)):
        real = PlateFolder(splits[split]).images  # as many synthetic: the classes are balanced
        plates = SyntheticPlates(len(real), seed=2 * seed + offset, image_size=size)
        rgb = real + [plates[i][0] for i in range(len(plates))]
        gray = [cv2.cvtColor(resize(image=image)["image"], cv2.COLOR_RGB2GRAY) for image in rgb]
        sets[name] = np.stack(gray), np.repeat([0.0, 1.0], len(real)).astype(np.float32)
    return sets


class Discriminator(nn.Module):
    """Four conv blocks, global average pool, one logit (> 0: synthetic)."""

    def __init__(self, width: int = 32):
        super().__init__()
        layers, channels = [], 1
        for out in (width // 2, width, 2 * width, 2 * width):
            layers += [nn.Conv2d(channels, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU()]
            layers.append(nn.MaxPool2d(2))
            channels = out
        self.features = nn.Sequential(*layers[:-1])  # (B, 1, H, W) -> (B, C, H/8, W/8)
        self.head = nn.Linear(channels, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images).mean(dim=(2, 3))).squeeze(1)  # (B,)


def _tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float().div_(255.0).unsqueeze(1)  # (N, 1, H, W) in [0, 1]


def _scores(model: nn.Module, images: torch.Tensor) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return torch.cat([model(batch) for batch in images.split(256)]).numpy()


def fit_and_score(sets: dict, epochs: int, batch_size: int, seed: int) -> dict:
    """Train on ``sets["train"]`` a fixed budget; accuracy and AUC on both sets, and the
    held-out logits (to look at the crops it finds most real or most synthetic)."""
    torch.manual_seed(seed)
    model = Discriminator()
    images, labels = _tensor(sets["train"][0]), torch.from_numpy(sets["train"][1])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
    steps = epochs * -(-len(labels) // batch_size)
    # Annealed to zero so the last weights (and BatchNorm statistics) settle: a constant rate
    # leaves the threshold at 0 miscalibrated, and the accuracy noisy, though the AUC is not.
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 3e-3, total_steps=steps)
    for _ in range(epochs):
        model.train()
        for batch in torch.randperm(len(labels)).split(batch_size):
            logits = model(images[batch])
            loss = nn.functional.binary_cross_entropy_with_logits(logits, labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    result = {}
    for name, (x, y) in sets.items():
        scores = _scores(model, _tensor(x))
        accuracy = float(((scores > 0) == (y > 0)).mean())
        result[name] = {"accuracy": accuracy, "auc": roc_auc(scores, y)}
    result["held_out_scores"] = scores
    return result


def generator_commit() -> str:
    """The commit of the plate_ocr actually imported, ``-dirty`` if its sources are edited."""
    src = Path(plate_ocr.__file__).resolve().parent
    git = ["git", "-C", str(src)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run([*git, "status", "--porcelain", "."], capture_output=True, text=True)
    return (head.stdout.strip() or "unknown") + ("-dirty" if dirty.stdout.strip() else "")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-dir", type=Path, default=REAL_DIR, help="folder of real crops")
    parser.add_argument("--folds", type=int, default=5, help="plate-disjoint folds of the crops")
    parser.add_argument("--fold", type=int, default=0, help="the held-out fold")
    parser.add_argument("--folds-to-run", type=int, nargs="+", help="several held-out folds")
    parser.add_argument("--image-size", type=int, nargs=2, default=(32, 128), metavar=("H", "W"))
    parser.add_argument("--epochs", type=int, default=6, help="classifier training budget")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0, help="synthetic sets and training")
    parser.add_argument("--results", type=Path, default=RESULTS, help="JSON lines to append to")
    args = parser.parse_args(argv)
    size = tuple(args.image_size)
    torch.set_num_threads(1)
    cv2.setNumThreads(1)

    commit, runs = generator_commit(), []
    print(f"generator {commit} ({Path(plate_ocr.__file__).parent}), {size[0]}x{size[1]}")
    for fold in args.folds_to_run or [args.fold]:
        start = time.perf_counter()
        sets = crops(args.real_dir, fold, args.folds, size, args.seed)
        result = fit_and_score(sets, args.epochs, args.batch_size, args.seed)
        train, held = result["train"], result["held_out"]
        seconds = round(time.perf_counter() - start, 1)
        runs.append({"fold": fold, **held, "train_accuracy": train["accuracy"], "seconds": seconds})
        print(
            f"fold {fold}: held-out accuracy {held['accuracy']:.3f}  AUC {held['auc']:.3f}  "
            f"(train accuracy {train['accuracy']:.3f}, {seconds:.0f} s)"
        )
    mean = {key: float(np.mean([r[key] for r in runs])) for key in ("accuracy", "auc")}
    spread = {key: mean_std([r[key] for r in runs]) for key in mean}
    print(f"{len(runs)} fold(s), mean ± std: accuracy {spread['accuracy']}  AUC {spread['auc']}")
    settings = {key: getattr(args, key) for key in ("folds", "epochs", "batch_size", "seed")}
    record = {"commit": commit, "image_size": list(size), **settings, **mean, "runs": runs}
    args.results.parent.mkdir(parents=True, exist_ok=True)
    with args.results.open("a") as file:
        file.write(json.dumps(record) + "\n")
    return record


if __name__ == "__main__":
    main()
