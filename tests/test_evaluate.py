"""evaluate.py: the report's fields and values on a tiny model and folder."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir

from plate_ocr.data.images import read_rgb
from plate_ocr.errors import UserError
from plate_ocr.evaluation import REPORT_JSON, REPORT_MD, SourceScore, evaluate
from plate_ocr.model.metrics import GAP, align, edit_counts
from plate_ocr.reader import PlateReader

REPO = Path(__file__).parents[1]


def _compose(tmp_path: Path, *overrides: str):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return compose(
            "eval",
            overrides=[
                f"paths.output_dir={tmp_path}",
                "data.synthetic_test_size=16",  # a test may ask for more, or none
                *overrides,
            ],
        )


def test_align_agrees_with_edit_counts():
    assert align("12345", "1245") == [("1", "1"), ("2", "2"), ("3", GAP), ("4", "4"), ("5", "5")]
    assert align("123", "1293") == [("1", "1"), ("2", "2"), (GAP, "9"), ("3", "3")]
    assert align("", "12") == [(GAP, "1"), (GAP, "2")]
    for truth, reading in [("0730011107", "073011107"), ("12345611616", "9234561161"), ("1", "")]:
        pairs = align(truth, reading)
        assert (sum(t != r for t, r in pairs), sum(t == r for t, r in pairs)) == edit_counts(
            truth, reading
        )
        assert "".join(t for t, _ in pairs if t != GAP) == truth
        assert "".join(r for _, r in pairs if r != GAP) == reading


def test_source_score_values():
    score = SourceScore()
    score.add(0, "0730011107", "0730011107", 0.9)  # right
    score.add(1, "0730011107", "0830011107", 0.8)  # one substitution at position 2: 7 -> 8
    score.add(2, "12345611616", "1234561161", 0.7)  # last digit missing
    score.add(3, "12345611616", "", 0.1)  # nothing read
    row = score.summary()
    assert row["n"] == 4 and row["seq_acc"] == 0.25
    assert row["cer"] == pytest.approx((0 + 1 + 1 + 11) / 42, abs=1e-6)
    assert row["char_acc"] == pytest.approx((10 + 9 + 10 + 0) / 42, abs=1e-6)
    assert row["by_length"]["10"] == {"n": 2, "seq_acc": 0.5, "char_acc": 0.95, "cer": 0.05}
    assert row["by_length"]["11"]["seq_acc"] == 0.0
    assert row["by_position"]["10"] == [1.0, 0.5] + [1.0] * 8
    assert row["by_position"]["11"] == [0.5] * 10 + [0.0]
    labels, counts = row["confusion"]["labels"], row["confusion"]["counts"]
    assert counts[labels.index("7")][labels.index("8")] == 1
    assert counts[labels.index("6")][labels.index(GAP)] == 1 + 3  # the last 6, the empty reading
    assert sum(map(sum, counts)) == 10 + 10 + 11 + 11
    worst = score.worst()
    assert [e["index"] for e in worst] == [3, 1, 2]  # most edits, then most confident


def test_report_on_tiny_model_and_folder(tmp_path, tiny_checkpoint, real_folder):
    cfg = _compose(
        tmp_path,
        f"ckpt_path={tiny_checkpoint}",
        f"data.real_dir={real_folder}",
        "data.real_split=test",
        "data.synthetic_test_size=8",
        "data.batch_size=5",  # batches that do not divide the set
    )
    report = evaluate(cfg)
    assert json.loads((tmp_path / REPORT_JSON).read_text()) == report
    assert report["checkpoint"] == str(tiny_checkpoint)
    assert report["image_size"] == [32, 96] and report["channels"] == 1
    assert report["decoding"] == "constrained"  # as PlateReader reads by default
    assert set(report["sources"]) == {"real", "synthetic"}
    assert report["sources"]["synthetic"]["n"] == 8

    # The real row is the test split, and its numbers are what reading those files gives.
    real = report["sources"]["real"]
    files = sorted((real_folder / "test").glob("*.jpg"))
    truths = [f.stem.split("_")[0] for f in files]
    readings = [r.text for r in PlateReader(tiny_checkpoint).read([read_rgb(f) for f in files])]
    counts = [edit_counts(t, r) for t, r in zip(truths, readings, strict=True)]
    assert real["split"] == "test" and real["n"] == len(files) == 12
    assert real["seq_acc"] == pytest.approx(sum(map(str.__eq__, truths, readings)) / 12, abs=1e-6)
    assert real["cer"] == pytest.approx(sum(e for e, _ in counts) / sum(map(len, truths)), abs=1e-6)
    aligned = sum(max(len(t), len(r)) for t, r in zip(truths, readings, strict=True))
    assert real["char_acc"] == pytest.approx(sum(m for _, m in counts) / aligned, abs=1e-6)
    assert sum(v["n"] for v in real["by_length"].values()) == 12
    assert all(len(accs) == int(length) for length, accs in real["by_position"].items())
    wrong = sum(t != r for t, r in zip(truths, readings, strict=True))
    assert len(real["worst_errors"]) == min(20, wrong)
    for error in real["worst_errors"]:
        assert Path(error["file"]).parent == real_folder / "test"
        assert readings[files.index(Path(error["file"]))] == error["reading"]

    markdown = (tmp_path / REPORT_MD).read_text()
    assert "| real | test | 12 |" in markdown and "| synthetic | test | 8 |" in markdown
    assert "Digit confusion" in markdown and "By position" in markdown
    assert wrong > 0  # a model one step old misreads: the error gallery must be there
    assert (tmp_path / "errors_real.png").stat().st_size > 0
    assert "errors_real.png" in markdown
    # which readings to trust: by the raw confidence, as the tiny model has no calibrator
    trust = real["trust"]
    assert trust["confidence"] == "raw" and trust["risk_coverage"][-1][0] == 1.0
    assert trust["risk_coverage"][-1][1] == pytest.approx(1 - real["seq_acc"], abs=1e-4)
    assert "Which readings to trust" in markdown and "plate-ocr calibrate" in markdown
    assert (tmp_path / "trust_real.svg").stat().st_size > 0


def test_framing_vote_is_used_and_reported(tmp_path, tiny_checkpoint, real_folder):
    cfg = _compose(
        tmp_path,
        f"ckpt_path={tiny_checkpoint}",
        f"data.real_dir={real_folder}",
        "data.synthetic_test_size=0",
        "framing_vote=true",
    )
    report = evaluate(cfg)
    files = sorted((real_folder / "test").glob("*.jpg"))
    readings = PlateReader(tiny_checkpoint, vote=True).read([read_rgb(f) for f in files])
    truths = [f.stem.split("_")[0] for f in files]
    right = sum(map(str.__eq__, truths, [r.text for r in readings]))
    assert report["framing_vote"] is True
    assert report["sources"]["real"]["seq_acc"] == pytest.approx(right / len(files), abs=1e-6)
    assert "a vote of three framings" in (tmp_path / REPORT_MD).read_text()


def test_any_flat_folder_scores_every_crop_with_split_all(tmp_path, tiny_checkpoint, write_crop):
    folder = tmp_path / "crops"
    for i, label in enumerate(["0730011107", "12345611616", "150311016", "14379400016"]):
        write_crop(folder / f"{label}_{i}.png")
    cfg = _compose(
        tmp_path / "run",
        f"ckpt_path={tiny_checkpoint}",
        f"data.real_dir={folder}",
        "data.real_split=all",
        "data.synthetic_test_size=0",
    )
    report = evaluate(cfg)
    assert list(report["sources"]) == ["real"]
    assert report["sources"]["real"]["n"] == 4


def test_a_missing_split_says_which_exist(tmp_path, tiny_checkpoint, write_crop, run_script):
    folder = tmp_path / "lpa_like"  # train and validation only, like the LPA crops
    write_crop(folder / "train" / "0730011107.jpg")
    write_crop(folder / "validation" / "12345611616.jpg")
    cfg = _compose(
        tmp_path / "run",
        f"ckpt_path={tiny_checkpoint}",
        f"data.real_dir={folder}",
        "data.real_fold=null",  # the folder's own splits: 2 plates would leave a fold empty
    )
    with pytest.raises(UserError, match=r"has no test crops: pass data.real_split=train\|valid"):
        evaluate(cfg)
    # The entry point shows it as one line and exits 2.
    run = run_script(
        "evaluate.py",
        f"ckpt_path={tiny_checkpoint}",
        f"data.real_dir={folder}",
        "data.real_split=nope",
        f"hydra.run.dir={tmp_path / 'h'}",
    )
    output = run.stdout + run.stderr
    assert run.returncode == 2, output
    assert "data.real_split=nope: use one of train, validation, test, all" in output
    assert "Traceback" not in output


@pytest.mark.parametrize("name", ["f1.ckpt", "f1.CKPT", "f1.pth"])
def test_a_folder_without_test_crops_scores_the_fold_the_checkpoint_held_out(
    tmp_path, tiny_checkpoint, real_folder, caplog, name
):
    """LPA has train and validation only: the plates a checkpoint never trained on are its
    own held-out fold, which it records, so that is what a user gets, with a notice. A
    checkpoint named .CKPT or .pth once skipped this and scored trained plates."""
    from plate_ocr.data.real_split import RealSplit

    folder = tmp_path / "no_test"
    for split in ("train", "validation"):
        (folder / split).mkdir(parents=True)
        for crop in (real_folder / split).glob("*.jpg"):
            (folder / split / crop.name).write_bytes(crop.read_bytes())
    held_out = {"real_fold": 1, "real_folds": 3, "real_val_split": "validation", "seed": 42}
    checkpoint = _with_split(tiny_checkpoint, tmp_path / name, **held_out)
    cfg = _compose(tmp_path / "run", f"ckpt_path={checkpoint}", f"data.real_dir={folder}")
    real = evaluate(cfg)["sources"]["real"]
    assert real["split"] == "validation (fold 1 of 3)"
    assert real["n"] == len(RealSplit(str(folder), 1, 3).splits()["validation"]) > 0
    assert "has no test crops: scoring the plates this checkpoint held out (fold 1" in caplog.text


def test_validation_is_the_fold_the_checkpoint_never_trained_on(
    tmp_path, tiny_checkpoint, real_folder
):
    from plate_ocr.data.real_split import RealSplit

    checkpoint = torch.load(tiny_checkpoint, weights_only=True)
    checkpoint["PlateDataModule"] = {
        "real_fold": 2,
        "real_folds": 3,
        "real_val_split": "validation",
        "seed": 42,
    }
    trained_on_fold_2 = tmp_path / "fold2.ckpt"
    torch.save(checkpoint, trained_on_fold_2)
    cfg = _compose(
        tmp_path / "report",
        f"ckpt_path={trained_on_fold_2}",
        f"data.real_dir={real_folder}",
        "data.real_split=validation",  # data.real_fold is left at its default, 0
        "data.synthetic_test_size=0",
    )
    real = evaluate(cfg)["sources"]["real"]
    assert real["split"] == "validation (fold 2 of 3)"
    assert real["n"] == len(RealSplit(str(real_folder), 2, 3).splits()["validation"])


def test_a_flat_folder_is_split_with_the_seed_training_used(tmp_path, tiny_checkpoint, write_crop):
    """evaluate.py on a flat folder with another seed than training's used to score crops
    the model trained on; the checkpoint's split seed is used instead."""
    from plate_ocr.data.real_split import RealSplit
    from plate_ocr.evaluation import build_sources
    from plate_ocr.plates import sample_plate

    flat = tmp_path / "flat"
    rng = np.random.default_rng(0)
    for _ in range(40):
        write_crop(flat / f"{sample_plate(rng)}.jpg")
    trained = {"real_fold": None, "real_folds": 5, "real_val_split": "validation", "seed": 7}
    cfg = _compose(tmp_path / "run", "ckpt_path=x", f"data.real_dir={flat}", "seed=42")
    sources = build_sources(cfg.data, (32, 96), 1, trained_split=trained)
    real = next(s for s in sources if s.name == "real")
    expected = RealSplit(str(flat), None, seed=7).splits()["test"]
    assert sorted(real.files) == sorted(str(path) for path, _ in expected)
    assert expected != RealSplit(str(flat), None, seed=42).splits()["test"]  # the seed matters here


def test_crops_of_plates_the_model_trained_on_are_counted_and_said(
    tmp_path, tiny_checkpoint, real_folder, caplog
):
    """The checkpoint lists the plates it trained on; scoring any of them is said loudly,
    whatever the folder holds by now."""
    from plate_ocr.data.folder import find_splits
    from plate_ocr.data.real_split import plate_key

    test_plates = sorted({plate_key(label) for _, label in find_splits(real_folder)["test"]})
    checkpoint = torch.load(tiny_checkpoint, weights_only=True)
    checkpoint["PlateDataModule"] = {"real_fold": 0, "trained_plates": test_plates[:3]}
    leaky = tmp_path / "leaky.ckpt"
    torch.save(checkpoint, leaky)
    cfg = _compose(tmp_path / "r", f"ckpt_path={leaky}", f"data.real_dir={real_folder}")
    real = evaluate(cfg)["sources"]["real"]
    seen = sum(plate_key(label) in test_plates[:3] for _, label in find_splits(real_folder)["test"])
    assert real["crops_of_trained_plates"] == seen > 0
    assert f"{seen} of 12 real test crops are of plates the model trained on" in caplog.text


def test_a_list_of_checkpoints_is_scored_as_an_ensemble(
    tmp_path, tiny_checkpoint, other_tiny_checkpoint, real_folder
):
    models = [tiny_checkpoint, other_tiny_checkpoint, other_tiny_checkpoint]
    cfg = _compose(
        tmp_path,
        f"ckpt_path=[{','.join(map(str, models))}]",
        f"data.real_dir={real_folder}",
        "data.synthetic_test_size=0",
    )
    report = evaluate(cfg)
    files = sorted((real_folder / "test").glob("*.jpg"))
    readings = PlateReader(models).read([read_rgb(f) for f in files])
    right = sum(f.stem.split("_")[0] == r.text for f, r in zip(files, readings, strict=True))
    assert report["checkpoint"] == [str(model) for model in models]
    assert report["sources"]["real"]["seq_acc"] == pytest.approx(right / len(files), abs=1e-6)
    assert "# Evaluation of an ensemble of 3: " in (tmp_path / REPORT_MD).read_text()


def _with_split(checkpoint: Path, path: Path, **split) -> Path:
    contents = torch.load(checkpoint, weights_only=True)
    contents["PlateDataModule"] = split
    torch.save(contents, path)
    return path


def test_an_ensemble_counts_the_plates_any_of_its_models_trained_on(
    tmp_path, tiny_checkpoint, other_tiny_checkpoint, real_folder
):
    from plate_ocr.data.folder import find_splits
    from plate_ocr.data.real_split import plate_key

    test_plates = sorted({plate_key(label) for _, label in find_splits(real_folder)["test"]})
    first = _with_split(tiny_checkpoint, tmp_path / "a.ckpt", trained_plates=test_plates[:1])
    second = _with_split(
        other_tiny_checkpoint, tmp_path / "b.ckpt", trained_plates=test_plates[1:3]
    )
    cfg = _compose(tmp_path / "r", f"ckpt_path=[{first},{second}]", f"data.real_dir={real_folder}")
    real = evaluate(cfg)["sources"]["real"]
    seen = sum(plate_key(label) in test_plates[:3] for _, label in find_splits(real_folder)["test"])
    assert real["crops_of_trained_plates"] == seen > 0


def test_an_ensemble_of_checkpoints_from_different_folds_is_refused(
    tmp_path, tiny_checkpoint, run_script
):
    fold = {"real_folds": 5, "real_val_split": "validation", "seed": 42}
    first = _with_split(tiny_checkpoint, tmp_path / "f0.ckpt", real_fold=0, **fold)
    second = _with_split(tiny_checkpoint, tmp_path / "f1.ckpt", real_fold=1, **fold)
    run = run_script(
        "evaluate.py",
        f"ckpt_path=[{first},{second}]",
        f"paths.output_dir={tmp_path / 'out'}",
        f"hydra.run.dir={tmp_path / 'h'}",
    )
    message = run.stdout + run.stderr
    assert run.returncode == 2, message
    assert "ckpt_path: the checkpoints trained on different real splits" in message
    assert "'real_fold': 0" in message and "'real_fold': 1" in message
    assert "Traceback" not in message and not (tmp_path / "out" / REPORT_JSON).exists()


def test_seeds_of_one_fold_make_an_ensemble_but_a_flat_split_needs_one_seed(
    tmp_path, tiny_checkpoint, other_tiny_checkpoint, real_folder
):
    from plate_ocr.evaluation import _trained_split

    fold = {"real_fold": 1, "real_folds": 5, "real_val_split": "validation"}
    seeds = [
        str(_with_split(tiny_checkpoint, tmp_path / "s42.ckpt", **fold, seed=42)),
        str(_with_split(other_tiny_checkpoint, tmp_path / "s1.ckpt", **fold, seed=1)),
    ]
    assert _trained_split(seeds)[0] == fold | {"seed": 42}  # folds go by plate number
    flat = {"real_fold": None, "real_folds": 5, "real_val_split": "validation"}
    flats = [
        str(_with_split(tiny_checkpoint, tmp_path / "f42.ckpt", **flat, seed=42)),
        str(_with_split(other_tiny_checkpoint, tmp_path / "f1.ckpt", **flat, seed=1)),
    ]
    with pytest.raises(UserError, match="different real splits"):
        _trained_split(flats)  # the seed draws a flat folder's validation crops


def test_the_evaluation_config_holds_no_training_key(tmp_path):
    """evaluate.py composes what it reads: no share, budget, augmentation or input size,
    which an evaluation would ignore (the input comes from the checkpoint)."""
    data = _compose(tmp_path).data
    training_only = ("real_ratio", "recombined_ratio", "synthetic_epochs", "epoch_size",
                     "augmentation", "image_size", "channels", "num_workers",
                     "synthetic_val_size", "real_ratio_schedule")  # fmt: skip
    assert not set(training_only) & set(data)
    assert data.real_split == "test" and data.synthetic_factors._target_.endswith("Factors")
