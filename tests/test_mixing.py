import collections

import pytest

from plate_ocr.data.mixing import MixedEpochSampler, RatioSchedule
from plate_ocr.errors import UserError


def _real_fraction(sampler: MixedEpochSampler, epoch: int = 0) -> float:
    sampler.set_epoch(epoch)
    keys = list(sampler)
    assert len(keys) == len(sampler)
    return sum(key.source == "real" for key in keys) / len(keys)


@pytest.mark.parametrize("ratio", [0.0, 0.2, 0.3, 1.0])
def test_epoch_ratio_within_one_percent(ratio):
    sampler = MixedEpochSampler(5000, RatioSchedule(ratio), real_size=1740, seed=0)
    assert abs(_real_fraction(sampler) - ratio) <= 0.01


def test_small_real_set_repeats_evenly():
    sampler = MixedEpochSampler(1000, RatioSchedule(0.5), real_size=30, seed=0)
    counts = collections.Counter(key.index for key in sampler if key.source == "real")
    assert len(counts) == 30 and max(counts.values()) - min(counts.values()) <= 1


def test_synthetic_plates_are_fresh_every_epoch():
    sampler = MixedEpochSampler(100, RatioSchedule(0.2), real_size=10, seed=0)
    first = {key.index for key in sampler if key.source == "synthetic"}
    sampler.set_epoch(1)
    second = {key.index for key in sampler if key.source == "synthetic"}
    assert first and second and not first & second


def test_schedule_changes_ratio_at_the_right_epochs():
    schedule = RatioSchedule(0.2, [[0, 0.05], [10, 0.2], [50, 0.5]])
    assert [schedule.at(e) for e in (0, 9, 10, 49, 50, 80)] == [0.05, 0.05, 0.2, 0.2, 0.5, 0.5]
    sampler = MixedEpochSampler(2000, schedule, real_size=500, seed=0)
    for epoch, ratio in [(0, 0.05), (9, 0.05), (10, 0.2), (50, 0.5)]:
        assert abs(_real_fraction(sampler, epoch) - ratio) <= 0.01


def test_synthetic_epochs_come_first_then_the_ratio():
    schedule = RatioSchedule(0.8, synthetic_epochs=6)
    assert [schedule.at(e) for e in (0, 5, 6, 11)] == [0.0, 0.0, 0.8, 0.8] and schedule.uses_real
    assert RatioSchedule(0.0, synthetic_epochs=6).uses_real is False


@pytest.mark.parametrize("synthetic_epochs", [-1, 1.5])
def test_synthetic_epochs_must_be_a_whole_count(synthetic_epochs):
    with pytest.raises(UserError, match=rf"^data.synthetic_epochs={synthetic_epochs}: use a whole"):
        RatioSchedule(0.8, synthetic_epochs=synthetic_epochs)


def test_a_schedule_and_synthetic_epochs_together_are_refused():
    """Both set the first epochs' ratio: which one won would be a guess."""
    with pytest.raises(UserError, match="pass data.synthetic_epochs=0 with it"):
        RatioSchedule(0.8, [[0, 0.1]], synthetic_epochs=6)


def test_same_seed_same_epoch_same_keys():
    a = MixedEpochSampler(300, RatioSchedule(0.3), real_size=50, seed=3)
    b = MixedEpochSampler(300, RatioSchedule(0.3), real_size=50, seed=3)
    c = MixedEpochSampler(300, RatioSchedule(0.3), real_size=50, seed=4)
    assert list(a) == list(b) != list(c)


def test_no_real_set_means_all_synthetic():
    sampler = MixedEpochSampler(100, RatioSchedule(0.0), real_size=0)
    assert _real_fraction(sampler) == 0.0


@pytest.mark.parametrize(
    ("ratio", "steps", "message"),
    [
        (1.5, None, "data.real_ratio=1.5"),
        (-0.1, None, "data.real_ratio=-0.1"),
        (0.2, [[0, 2.0]], "data.real_ratio_schedule=2.0"),
        (0.2, [[5]], "is not [epoch, ratio]"),
    ],
)
def test_bad_ratio_names_the_key(ratio, steps, message):
    with pytest.raises(UserError, match=message.replace("[", r"\[")):
        RatioSchedule(ratio, steps)


def test_empty_epoch_is_refused():
    with pytest.raises(UserError, match="data.epoch_size=0"):
        MixedEpochSampler(0, RatioSchedule(0.0), real_size=0)


def test_finite_synthetic_folder_cycles_instead_of_running_out():
    sampler = MixedEpochSampler(100, RatioSchedule(0.2), real_size=7, seed=0, synthetic_size=9)
    synthetic = [key.index for key in sampler if key.source == "synthetic"]
    assert len(synthetic) == 80 and set(synthetic) == set(range(9))


def test_ranks_share_one_epoch_composition():
    def keys(rank: int, world_size: int) -> list:
        sampler = MixedEpochSampler(
            101, RatioSchedule(0.3), real_size=20, seed=1, rank=rank, world_size=world_size
        )
        sampler.set_epoch(2)
        assert len(list(sampler)) == len(sampler)
        return list(sampler)

    single = keys(0, 1)
    shards = [keys(rank, 3) for rank in range(3)]
    assert sorted(k for shard in shards for k in shard) == sorted(single)
    assert [len(shard) for shard in shards] == [34, 34, 33]
