import albumentations as A
import cv2
import numpy as np
import pytest
import torch

from plate_ocr.data.augment import build_augmentation
from plate_ocr.data.datamodule import PlateDataModule
from plate_ocr.errors import UserError
from plate_ocr.synth import Factors

TINY = dict(
    image_size=(32, 96), batch_size=16, num_workers=0, synthetic_val_size=8, synthetic_test_size=8
)


def _datamodule(**kwargs) -> PlateDataModule:
    datamodule = PlateDataModule(**(TINY | kwargs))
    datamodule.setup("fit")
    return datamodule


def _epoch_sources(datamodule: PlateDataModule) -> list[str]:
    return [s for batch in datamodule.train_dataloader() for s in batch["sources"]]


@pytest.mark.parametrize("ratio", [0.0, 0.2, 0.3, 1.0])
def test_realised_ratio_within_one_percent(real_folder, ratio):
    datamodule = _datamodule(real_dir=str(real_folder), real_ratio=ratio, epoch_size=400)
    sources = _epoch_sources(datamodule)
    assert len(sources) == 400
    assert abs(sources.count("real") / len(sources) - ratio) <= 0.01


def test_default_ratio_is_mostly_real_with_a_real_folder_and_zero_without(real_folder):
    """Once real crops join, most of each epoch is theirs, half as they are and half
    recombined; a real ratio given leaves recombining off; without a folder none is real."""
    mixed = _datamodule(real_dir=str(real_folder), synthetic_epochs=2)
    for schedule in (mixed.schedule, mixed.recombined_schedule):
        assert [schedule.at(epoch) for epoch in range(4)] == [0.0, 0.0, 0.4, 0.4]
    chosen = _datamodule(real_dir=str(real_folder), real_ratio=0.8)
    assert chosen.schedule.at(0) == 0.8 and not chosen.recombined_schedule.uses_real
    assert _datamodule(synthetic_epochs=2).schedule.at(3) == 0.0


def test_schedule_drives_the_loader(real_folder):
    datamodule = _datamodule(
        real_dir=str(real_folder), real_ratio=0.0, epoch_size=200, real_ratio_schedule=[[1, 0.5]]
    )
    loader = datamodule.train_dataloader()
    loader.sampler.set_epoch(0)
    assert [s for b in loader for s in b["sources"]].count("real") == 0
    loader.sampler.set_epoch(1)
    assert [s for b in loader for s in b["sources"]].count("real") == 100


def test_each_source_gets_its_own_pipeline(real_folder):
    datamodule = _datamodule(
        real_dir=str(real_folder),
        real_ratio=0.5,
        augmentation={"synthetic": "medium", "real": "heavy"},
    )
    pipelines = datamodule.train_dataloader().dataset.pipelines

    def preset(pipeline) -> list:
        return A.to_dict(pipeline)["transform"]["transforms"]

    assert preset(pipelines["real"]) == preset(build_augmentation("heavy", (32, 96)))
    assert preset(pipelines["synthetic"]) == preset(build_augmentation("medium", (32, 96)))
    assert preset(pipelines["real"]) != preset(pipelines["synthetic"])


def test_validation_and_test_are_resized_only(real_folder):
    datamodule = _datamodule(real_dir=str(real_folder), channels=3)
    loaders = {ds.source: ds for ds in (dl.dataset for dl in datamodule.val_dataloader())}
    assert set(loaders) == {"real", "synthetic"}
    image, label, source = loaders["real"][0]
    original, original_label = datamodule.eval_sources["validation"]["real"][0]
    expected = build_augmentation("none", (32, 96))(image=original)["image"]
    assert source == "real" and label == original_label
    np.testing.assert_array_equal(image, expected)
    assert image.shape == (32, 96, 3)
    assert {dl.dataset.source for dl in datamodule.test_dataloader()} == {"real", "synthetic"}


def test_batches_hold_natural_lengths(real_folder):
    datamodule = _datamodule(
        real_dir=str(real_folder), real_ratio=0.5, epoch_size=64, batch_size=64
    )
    batch = next(iter(datamodule.train_dataloader()))
    assert batch["images"].shape == (64, 1, 32, 96)
    assert batch["images"].dtype == torch.float32
    assert batch["images"].min() >= 0.0 and batch["images"].max() <= 1.0
    assert {10, 11} <= {len(label) for label in batch["labels"]}


def test_missing_real_folder_says_how_to_fix():
    with pytest.raises(UserError, match=r"^data.real_ratio=0.2 asks .* data.real_dir=PATH"):
        PlateDataModule(real_ratio=0.2)
    # synthetic_then_real without a folder: the schedule asks, not the ratio of 0
    with pytest.raises(
        UserError, match=r"^data.real_ratio_schedule=\[\[0, 0.0\], \[6, 0.8\]\] asks"
    ):
        PlateDataModule(real_ratio=0.0, real_ratio_schedule=[[0, 0.0], [6, 0.8]])
    with pytest.raises(UserError, match="does not exist: set data.real_dir"):
        _datamodule(real_dir="/no/such/folder")


def test_same_seed_same_batches_whatever_the_workers(real_folder):
    def first_batch(seed: int, workers: int) -> torch.Tensor:
        datamodule = _datamodule(
            real_dir=str(real_folder),
            real_ratio=0.5,
            epoch_size=32,
            seed=seed,
            num_workers=workers,
            persistent_workers=False,
        )
        return next(iter(datamodule.train_dataloader()))["images"]

    reference = first_batch(0, 0)
    assert torch.equal(reference, first_batch(0, 0))
    assert torch.equal(reference, first_batch(0, 2))
    assert not torch.equal(reference, first_batch(1, 0))


def test_one_crop_drawn_twice_is_augmented_differently(real_folder):
    datamodule = _datamodule(
        real_dir=str(real_folder), real_ratio=1.0, epoch_size=80, augmentation={"real": "heavy"}
    )
    dataset = datamodule.train_dataloader().dataset
    keys = [k for k in datamodule.sampler() if k.index == 0][:2]
    assert len(keys) == 2
    a, b = (dataset[k][0] for k in keys)
    assert not np.array_equal(a, b)


def test_rendered_synthetic_folder_is_a_source(tmp_path, real_folder):
    for split in ("train", "validation", "test"):
        (tmp_path / split).mkdir()
        for path in list((real_folder / split).iterdir())[:5]:
            cv2.imwrite(str(tmp_path / split / path.name), cv2.imread(str(path)))
    datamodule = _datamodule(synthetic_dir=str(tmp_path), epoch_size=10)
    assert len(datamodule.train_sources["synthetic"]) == 5
    assert _epoch_sources(datamodule) == ["synthetic"] * 10


def test_workers_start_after_opencv_used_its_threads(real_folder):
    # Regression: forked workers that reconfigured OpenCV's thread pool hung forever.
    big = np.random.default_rng(0).integers(0, 255, (2000, 2000, 3), np.uint8)
    for _ in range(3):
        cv2.warpAffine(big, np.eye(2, 3), (2000, 2000))
    datamodule = _datamodule(
        real_dir=str(real_folder),
        real_ratio=0.5,
        epoch_size=64,
        num_workers=2,
        persistent_workers=False,
    )
    loader = datamodule.train_dataloader()
    loader.timeout = 20  # seconds; a batch takes well under one
    assert sum(len(batch["labels"]) for batch in loader) == 64


def test_synthetic_factors_reach_training_and_evaluation_sets():
    yellow = _datamodule(synthetic_factors=Factors(p_yellow=1.0), epoch_size=8, channels=3)
    white = _datamodule(synthetic_factors=Factors(p_yellow=0.0), epoch_size=8, channels=3)

    def blue_minus_red(datamodule, split=None) -> float:
        if split is None:
            images = next(iter(datamodule.train_dataloader()))["images"]
        else:
            images = next(iter(datamodule._eval_loaders(split)[0]))["images"]
        return float((images[:, 2] - images[:, 0]).mean())  # yellow plates have little blue

    for split in (None, "validation", "test"):
        assert blue_minus_red(yellow, split) < blue_minus_red(white, split) - 0.05, split


def test_real_fold_validates_on_plates_training_never_sees(real_folder):
    folds = [_datamodule(real_dir=str(real_folder), real_fold=f, real_folds=3) for f in (0, 1)]
    for datamodule in folds:
        trained = set(datamodule.train_sources["real"].labels)
        validated = set(datamodule.eval_sources["validation"]["real"].labels)
        assert validated and not trained & validated
    assert folds[0].eval_sources["validation"]["real"].labels != (
        folds[1].eval_sources["validation"]["real"].labels
    )


def test_recombined_plates_need_real_crops_and_room_in_the_epoch(real_folder):
    with pytest.raises(UserError, match=r"^data.recombined_ratio recombines real crops but no"):
        PlateDataModule(recombined_ratio=0.3)
    with pytest.raises(
        UserError, match=r"real_ratio \+ data.recombined_ratio is over 1 from epoch 0"
    ):
        PlateDataModule(real_dir=str(real_folder), real_ratio=0.8, recombined_ratio=0.4)
    with pytest.raises(UserError, match="over 1 from epoch 3"):
        PlateDataModule(
            real_dir=str(real_folder),
            real_ratio=0.5,
            recombined_ratio_schedule=[[0, 0.2], [3, 0.6]],
        )


def test_label_fixes_teach_and_split_by_the_corrected_label(real_folder, tmp_path):
    """A bug: the corrections file reached the split's record but not the folder read, so
    training took the labels as published."""
    from plate_ocr.data.real_split import RealSplit, fold_of

    path, _ = RealSplit(str(real_folder), 0).splits()["validation"][0]
    moved = next(t for t in ("0730011107", "12345611616", "11111111616") if fold_of(t, 5) != 0)
    fixes = tmp_path / "fixes.csv"
    fixes.write_text(f"file,text\n{path.relative_to(real_folder).as_posix()},{moved}\n")
    datamodule = _datamodule(real_dir=str(real_folder), real_fold=0, label_fixes=str(fixes))
    train = datamodule.train_sources["real"]
    assert (path, moved) in zip(train.paths, train.labels, strict=True)
    assert path not in datamodule.eval_sources["validation"]["real"].paths


def test_resuming_on_validation_plates_the_checkpoint_trained_on_is_refused(real_folder):
    """Another folder (or the folder's own validation split) whose validation plates the
    checkpoint trained on would score trained plates in silence."""
    from plate_ocr.data.datamodule import TRAINED_PLATES_KEY
    from plate_ocr.data.real_split import plate_key

    datamodule = _datamodule(real_dir=str(real_folder), real_ratio=0.5, real_fold=None)
    state = datamodule.state_dict()
    datamodule.load_state_dict(state)  # its own record: accepted
    validation = datamodule.eval_sources["validation"]["real"].labels
    state[TRAINED_PLATES_KEY] = sorted({plate_key(label) for label in validation})[:2]
    with pytest.raises(UserError, match="2 of its validation plates"):
        datamodule.load_state_dict(state)
