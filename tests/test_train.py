"""The real composition: conf/ composed with overrides, instantiated, and run."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import OmegaConf

from plate_ocr.data.real_split import RealSplit, plate_key
from plate_ocr.errors import UserError
from plate_ocr.sweep import REPORT_FILE
from plate_ocr.training import train

CONF = Path(__file__).parents[1] / "conf"
TINY = [
    "data.image_size=[32,96]",
    "data.epoch_size=32",
    "data.batch_size=16",
    "data.num_workers=0",
    "data.synthetic_val_size=16",
    "data.synthetic_test_size=16",
]


def _compose(tmp_path: Path, *overrides: str, tiny: bool = True, hydra: bool = False):
    overrides = [f"paths.output_dir={tmp_path}", *(TINY if tiny else []), *overrides]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("train", overrides=overrides, return_hydra_config=hydra)


def _train_py(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """``python train.py ARGS`` from the repo, one thread a process; fails the test on error."""
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    command = [sys.executable, "train.py", *args]
    done = subprocess.run(
        command, cwd=CONF.parent, capture_output=True, text=True, timeout=timeout, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


@pytest.mark.parametrize(
    ("group", "option"),
    [
        (g, o)
        for g in ("data", "aug", "model", "optim", "trainer", "callbacks", "logger")
        for o in _options(g)
    ],
)
def test_every_group_option_runs(tmp_path, real_folder, group, option):
    """Each option composes and trains one batch of each loader end to end; GPU-only
    trainers (gpu, ddp) are composed and their model and data built."""
    cfg = _compose(
        tmp_path,
        f"{group}={option}",
        *(["trainer=debug"] if group != "trainer" else ["++trainer.fast_dev_run=true"]),
        f"data.real_dir={real_folder}",
    )
    if cfg.trainer.accelerator in ("cpu", "auto"):
        train(cfg)
        record = json.loads((tmp_path / "metrics.json").read_text())
        sources = {"val/real/seq_acc", "val/synthetic/seq_acc", "test/synthetic/seq_acc"}
        assert sources <= record["metrics"].keys()  # every source validated and tested
        package = {"optim": "model"}.get(group, group)  # optim lands in the model's keys
        assert record["config"][package] == OmegaConf.to_container(cfg[package], resolve=True)
    else:
        assert instantiate(cfg.model).net.num_parameters() > 0
        instantiate(cfg.data).setup("fit")


@pytest.mark.slow
@pytest.mark.parametrize("option", _options("hparams_search"))
def test_searches_run_and_report_rounded_draws(tmp_path, real_folder, option):
    done = _train_py(
        "-m",
        f"hparams_search={option}",
        "hydra.sweeper.n_trials=2",
        "trainer=debug",
        *TINY,
        f"data.real_dir={real_folder}",
        f"hydra.sweep.dir={tmp_path}",
    )
    table = [line for line in done.stdout.splitlines() if line.startswith("| 0 |")]
    assert len(table) == 1 and "val/seq_acc" in done.stdout
    swept = table[0].split("|")[2:4]  # the searched values, rounded for reading
    assert all(len(cell.strip()) <= 10 for cell in swept), table
    console = done.stdout + done.stderr  # quiet: no database plugin list, no Optuna banner
    assert "setup plugin alembic" not in console and "A new study created" not in console


def test_a_new_output_folder_is_made_before_training(tmp_path):
    """paths.output_dir=NEW used to train to the end, then fail to write metrics.json."""
    train(_compose(tmp_path / "new" / "run", "trainer=debug"))
    assert (tmp_path / "new" / "run" / "metrics.json").is_file()
    (tmp_path / "a_file").write_text("")
    with pytest.raises(UserError, match=r"paths.output_dir=.*a_file/run: cannot create it"):
        train(_compose(tmp_path / "a_file" / "run", "trainer=debug"))


@pytest.mark.parametrize("option", _options("experiment"))
def test_every_experiment_runs(tmp_path, real_folder, option):
    cfg = _compose(
        tmp_path, f"experiment={option}", "trainer=debug", f"data.real_dir={real_folder}"
    )
    train(cfg)
    assert "val/real/seq_acc" in json.loads((tmp_path / "metrics.json").read_text())["metrics"]


def _schedule(cfg) -> list[float]:
    """The real share of each epoch that ``cfg`` trains with."""
    schedule = instantiate(cfg.data).schedule
    return [schedule.at(epoch) for epoch in range(cfg.trainer.max_epochs)]


def test_the_defaults_fine_tune_the_shipped_reader(tmp_path, real_folder):
    """``python train.py`` trains what experiment=quickstart names: the shipped reader, 6
    epochs of 10,000, from the first 40 % real crops and 40 % recombined; synthetic only
    without a real folder. The default network is the shipped one, so its weights load into
    what the defaults build."""
    from plate_ocr.model.checkpoint import init_weights

    real = f"data.real_dir={real_folder}"
    default, quickstart = (
        _compose(tmp_path, *options, real, tiny=False)
        for options in ((), ("experiment=quickstart",))
    )
    assert OmegaConf.to_container(default) == OmegaConf.to_container(quickstart)
    assert (default.data.epoch_size, default.trainer.max_epochs) == (10_000, 6)
    assert default.init_from == "pretrained" and _schedule(default) == [0.4] * 6
    recombined = instantiate(default.data).recombined_schedule
    assert [recombined.at(epoch) for epoch in range(6)] == [0.4] * 6
    assert list(default.data.image_size) == [32, 160] and default.model.net.sequence == "conv"
    init_weights(instantiate(default.model.net), default.init_from)
    alone = _compose(tmp_path / "alone", "data.real_dir=null", tiny=False)
    assert _schedule(alone) == [0.0] * 6


@pytest.mark.parametrize("size", ["crnn_small_bilstm", "crnn_base", "crnn_large"])
def test_a_network_without_shipped_weights_trains_from_scratch_synthetic_first(tmp_path, size):
    """``python train.py data.real_ratio=0.3 model=crnn_large``: no weights fit it, so it
    starts from random ones with the from-scratch schedule, and the ratio is the user's."""
    scratch = _compose(tmp_path, "experiment=from_scratch", "data.real_dir=x", tiny=False)
    cfg = _compose(tmp_path, f"model={size}", "data.real_dir=x", "data.real_ratio=0.3", tiny=False)
    assert cfg.init_from is None and cfg.data.real_ratio == 0.3
    assert cfg.data.recombined_ratio == scratch.data.recombined_ratio == 0
    assert (cfg.data.synthetic_epochs, cfg.trainer.max_epochs) == (
        scratch.data.synthetic_epochs,
        scratch.trainer.max_epochs,
    )
    assert cfg.model.optimizer == scratch.model.optimizer


def test_model_configs_describe_models_and_include_the_from_scratch_fragment():
    """The model group holds models; the start of a network no shipped weights fit is one
    fragment, which the larger models and experiment=from_scratch include, not copies."""
    for path in (CONF / "model").glob("*.yaml"):
        text = path.read_text()
        assert "@package _global_" not in text and "init_from" not in text, path.name
        assert ("/fragment/from_scratch@_global_" in text) == (path.stem != "crnn_small")
    assert "/fragment/from_scratch" in (CONF / "experiment" / "from_scratch.yaml").read_text()


def test_real_only_trains_on_real_crops_alone_from_random_weights(tmp_path, real_folder):
    """The baseline's claim: the default network and input, no synthetic plate, not even in
    the weights it starts from."""
    default, real_only = (
        _compose(tmp_path, *options, f"data.real_dir={real_folder}", tiny=False)
        for options in ((), ("experiment=real_only",))
    )
    assert _schedule(real_only) == [1.0] * 12 and real_only.init_from is None
    assert real_only.model == default.model
    for key in ("image_size", "channels", "epoch_size"):
        assert real_only.data[key] == default.data[key]


def test_accurate_is_the_default_trained_with_two_seeds_in_one_command(tmp_path, real_folder):
    """Its numbers (docs/results.md) are two seeds of the default read together."""
    default, accurate = (
        _compose(tmp_path, *options, f"data.real_dir={real_folder}", tiny=False, hydra=True)
        for options in ((), ("experiment=accurate",))
    )
    assert accurate.hydra.mode == RunMode.MULTIRUN  # no -m needed
    assert accurate.hydra.sweeper.params == {"seed": "42,1"}
    for key in ("model", "data", "trainer", "init_from", "callbacks"):
        assert accurate[key] == default[key]


def test_accurate_gpu_is_the_recipe_from_scratch_at_five_times_the_samples(tmp_path, real_folder):
    """Its numbers (docs/results.md) are for 25 x 24,000 samples from random weights, the first
    12 epochs synthetic only, then 80 % real, with workers and a deeper CNN."""
    default, on_gpu = (
        _compose(tmp_path / name, *options, f"data.real_dir={real_folder}", tiny=False)
        for name, options in (("default", ()), ("accurate_gpu", ("experiment=accurate_gpu",)))
    )
    assert (on_gpu.data.epoch_size, on_gpu.trainer.max_epochs) == (24_000, 25)
    assert _schedule(on_gpu) == [0.0] * 12 + [0.8] * 13
    assert on_gpu.init_from is None and on_gpu.data.image_size == default.data.image_size
    assert on_gpu.trainer.accelerator == "gpu" and on_gpu.data.num_workers >= 8
    deeper, current = (
        sum(p.numel() for p in instantiate(cfg.model.net).parameters()) for cfg in (on_gpu, default)
    )
    assert on_gpu.model.net.sequence == "conv" and deeper > 1.5 * current


def _tiny_sweep(sweep: Path, real_folder: Path, *overrides: str):
    """A sweep of one-epoch tiny runs on the real folder, into ``sweep``."""
    return _train_py(
        *overrides,
        f"data.real_dir={real_folder}",
        "trainer=cpu",
        "trainer.max_epochs=1",
        "+trainer.limit_val_batches=1",
        *TINY,
        f"hydra.sweep.dir={sweep}",
        timeout=600,
    )


@pytest.mark.slow
def test_accurate_trains_two_seeds_and_says_how_to_read_them_together(tmp_path, real_folder):
    sweep = tmp_path / "sweep"
    done = _tiny_sweep(sweep, real_folder, "experiment=accurate")
    checkpoints = [sweep / job / "checkpoints" / "last.ckpt" for job in ("0", "1")]
    assert all(c.is_file() for c in checkpoints)
    report = (sweep / REPORT_FILE).read_text()
    assert "Read the 2 seeds" in report and "Read the 2 seeds" in done.stdout
    assert f"--ensemble {checkpoints[1]}" in report


def test_the_shipped_reader_is_made_from_scratch_on_synthetic_plates_alone(tmp_path, real_folder):
    """Even with a real folder set, no real crop trains it, and it starts from nothing."""
    default, pretrained = (
        _compose(tmp_path / name, *options, f"data.real_dir={real_folder}", tiny=False)
        for name, options in (("default", ()), ("pretrained", ("experiment=pretrained",)))
    )
    assert _schedule(pretrained) == [0.0] * 25 and pretrained.init_from is None
    assert pretrained.model == default.model


def test_real_fold_selects_the_validation_plates(tmp_path, real_folder):
    from plate_ocr.data.real_split import RealSplit

    cfg = _compose(
        tmp_path,
        "trainer=debug",
        f"data.real_dir={real_folder}",
        "data.real_fold=2",
        "data.real_folds=3",
        "data.batch_size=64",
    )
    train(cfg)
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["config"]["data"]["real_fold"] == 2
    expected = RealSplit(str(real_folder), 2, 3).splits()["validation"]
    # one validation batch holds the whole fold: its plates, scored
    assert 0 < len(expected) <= 64 and "val/real/seq_acc" in record["metrics"]


@pytest.mark.parametrize("size", ["crnn_small", "crnn_base", "crnn_large"])
def test_fast_dev_run_each_model_size(tmp_path, real_folder, size):
    cfg = _compose(tmp_path, f"model={size}", "trainer=debug", f"data.real_dir={real_folder}")
    score = train(cfg)
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert score == record["metrics"]["val/seq_acc"]
    for key in ("val/real/seq_acc", "val/synthetic/cer", "test/real/char_acc"):
        assert key in record["metrics"]


def test_model_sizes_are_ordered(tmp_path):
    counts = [
        instantiate(_compose(tmp_path, f"model={s}").model.net).num_parameters()
        for s in ("crnn_small", "crnn_base", "crnn_large")
    ]
    assert counts[0] <= 1_500_000 and counts[0] < counts[1] < counts[2]


def _short_run(real_folder) -> list[str]:
    """Two training batches and one validation batch an epoch, on the tiny real folder."""
    return [
        "trainer=cpu",
        "+trainer.limit_train_batches=2",
        "+trainer.limit_val_batches=1",
        "test=false",
        f"data.real_dir={real_folder}",
    ]


def test_resume_continues_the_epoch_count(tmp_path, real_folder):
    run = [*_short_run(real_folder), "trainer.max_epochs=2"]
    # An interrupted run: early stopping fires after the first epoch (any accuracy > -1).
    train(_compose(tmp_path / "first", *run, "+callbacks.early_stopping.stopping_threshold=-1"))
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["epoch"] == 0
    train(_compose(tmp_path / "second", *run, f"ckpt_path={last}"))
    resumed = torch.load(tmp_path / "second" / "checkpoints" / "last.ckpt", weights_only=True)
    assert resumed["epoch"] == 1 and resumed["global_step"] == 4
    assert resumed["PlateDataModule"]["real_fold"] == 0  # the real split travels along
    trained = set(resumed["PlateDataModule"]["trained_plates"])  # and the plates trained on
    assert trained == {
        plate_key(label) for _, label in RealSplit(str(real_folder)).splits()["train"]
    }
    # resuming on another fold would validate on plates the run trained on: refused
    with pytest.raises(UserError, match="data.real_fold=0"):
        train(_compose(tmp_path / "third", *run, f"ckpt_path={last}", "data.real_fold=1"))
    # resuming with no real folder would follow synthetic accuracy alone: refused, naming it
    alone = [a for a in run if not a.startswith("data.real_dir")]
    with pytest.raises(UserError, match=f"data.real_dir={real_folder}"):
        train(_compose(tmp_path / "fourth", *alone, f"ckpt_path={last}"))


def test_resume_into_a_longer_run_stretches_the_schedule(tmp_path, real_folder):
    """Resuming with a larger trainer.max_epochs used to crash inside OneCycle after the
    resume; now the schedule is rebuilt for the new length and advanced to the saved step.
    last.ckpt is the last epoch's, also when the best was earlier (Lightning's save_last
    wrote it only with a new best)."""
    run = _short_run(real_folder)
    train(_compose(tmp_path / "short", *run, "trainer.max_epochs=1"))
    last = tmp_path / "short" / "checkpoints" / "last.ckpt"
    saved = torch.load(last, weights_only=True)
    assert saved["total_steps"] == 2 and saved["global_step"] == 2
    train(_compose(tmp_path / "long", *run, "trainer.max_epochs=3", f"ckpt_path={last}"))
    resumed = torch.load(tmp_path / "long" / "checkpoints" / "last.ckpt", weights_only=True)
    assert resumed["epoch"] == 2 and resumed["global_step"] == 6
    assert resumed["lr_schedulers"][0]["total_steps"] == 6
    longer = tmp_path / "long" / "checkpoints" / "last.ckpt"
    with pytest.raises(UserError, match="trainer.max_epochs"):  # nothing left to train
        train(_compose(tmp_path / "shorter", *run, "trainer.max_epochs=2", f"ckpt_path={longer}"))


def test_init_from_fine_tunes_from_a_checkpoint_with_a_fresh_start(tmp_path, monkeypatch):
    """init_from copies the weights (a wider input is allowed), and starts at epoch 0 with
    a new optimizer; a network that differs is refused."""
    from plate_ocr.model import PlateRecognizer
    from plate_ocr.model.checkpoint import load_network

    run = ["trainer=cpu", "trainer.max_epochs=1", "+trainer.limit_train_batches=1", "test=false"]
    train(_compose(tmp_path / "pretrain", *run))
    source = tmp_path / "pretrain" / "checkpoints" / "last.ckpt"
    pretrained = load_network(source).state_dict()
    seen = {}

    def on_train_start(self):  # the weights the fine-tuning run starts from
        seen["state"] = {k: v.clone() for k, v in self.net.state_dict().items()}

    monkeypatch.setattr(PlateRecognizer, "on_train_start", on_train_start, raising=False)
    wider = "data.image_size=[32,128]"
    train(_compose(tmp_path / "tune", *run, wider, f"init_from={source}"))
    for key, value in pretrained.items():
        torch.testing.assert_close(seen["state"][key], value)
    tuned = torch.load(tmp_path / "tune" / "checkpoints" / "last.ckpt", weights_only=True)
    assert tuned["epoch"] == 0 and tuned["global_step"] == 1
    with pytest.raises(UserError, match=r"hidden 128 \(this run: 192\)"):
        train(_compose(tmp_path / "other", *run, "model=crnn_base", f"init_from={source}"))


@pytest.mark.slow
def test_ddp_trains_on_two_cpu_processes(tmp_path):
    """trainer=ddp as a cluster would run it, on two CPU processes talking over gloo: the
    ranks start, shard the epoch, synchronise and save one checkpoint."""
    _train_py(
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "trainer.precision=32-true",
        "trainer.sync_batchnorm=false",
        "trainer.max_epochs=1",
        "+trainer.limit_train_batches=2",
        "+trainer.limit_val_batches=1",
        *TINY,
        f"hydra.run.dir={tmp_path}",
    )
    assert (tmp_path / "train_ddp_process_1.log").is_file()  # the second rank ran
    saved = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert saved["global_step"] == 1  # 32 plates an epoch in batches of 16, split by 2 ranks


@pytest.mark.slow  # a subprocess or every LPA crop: the full suite runs it
def test_the_console_is_quiet_with_one_line_per_epoch(tmp_path):
    """No third-party tips, device lines, deprecation notices or tables a user cannot act on;
    one line per epoch with the numbers that matter, also in the run's log file."""
    done = _train_py(
        "trainer=cpu",
        "trainer.max_epochs=2",
        "trainer.log_every_n_steps=1",
        "+trainer.limit_train_batches=2",
        "+trainer.limit_val_batches=1",
        *TINY,
        f"hydra.run.dir={tmp_path}",
    )
    console = done.stdout + done.stderr
    for noise in ("Tip:", "GPU available", "LeafSpec", "Seed set", "┏", "Test metric"):
        assert noise not in console, noise
    log = (tmp_path / "train.log").read_text()
    assert "epoch 1/2 | loss " in log and "epoch 2/2 | loss " in log
    assert "plates read: synthetic " in log


def test_launchers_compose():
    for launcher, target in (
        ("joblib", "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"),
        ("submitit_slurm", "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"),
    ):
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            cfg = compose("train", [f"hydra/launcher={launcher}"], return_hydra_config=True)
        assert cfg.hydra.launcher._target_ == target


@pytest.mark.slow
def test_joblib_runs_sweep_jobs_in_parallel_with_real_crops_and_loader_workers(
    tmp_path, real_folder
):
    """Every job once failed inside joblib's workers, which could not start loader workers
    ("Please call iter(combined_loader) first")."""
    done = _train_py(
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "trainer=debug",
        *TINY,
        "data.num_workers=1",
        f"data.real_dir={real_folder}",
        "data.real_fold=0,1",
        f"hydra.sweep.dir={tmp_path}",
    )
    assert "Joblib.Parallel(n_jobs=2" in done.stdout + done.stderr
    assert {"0", "1"} <= {p.name for p in tmp_path.iterdir() if (p / "metrics.json").is_file()}


@pytest.mark.slow
def test_multirun_of_two_ratios_and_its_report(tmp_path, real_folder):
    sweep = tmp_path / "sweep"
    done = _tiny_sweep(sweep, real_folder, "-m", "data.real_ratio=0.0,0.5")
    assert "data.real_ratio" in done.stdout and "val/seq_acc" in done.stdout
    report = (sweep / REPORT_FILE).read_text()
    rows = [
        line for line in report.splitlines() if line.startswith("| 0") or line.startswith("| 1")
    ]
    assert len(rows) == 2 and {"0.0", "0.5"} <= {
        cell.strip() for r in rows for cell in r.split("|")
    }
    cli = subprocess.run(
        [sys.executable, "-m", "plate_ocr.cli", "sweep-report", str(sweep)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0 and cli.stdout.startswith(report)  # then the plot's path


def test_tensorboard_gets_scalars_predictions_and_hparams(tmp_path, real_folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = _compose(
        tmp_path,
        "trainer=cpu",
        "trainer.max_epochs=2",
        "data.synthetic_epochs=1",  # real crops join in the second epoch, and are shown then
        "+trainer.limit_train_batches=2",
        "trainer.log_every_n_steps=1",
        f"data.real_dir={real_folder}",
    )
    train(cfg)
    run = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"images": 0}).Reload()
    tags = run.Tags()
    assert {"train/loss", "val/real/seq_acc", "val/synthetic/cer", "val/seq_acc"} <= set(
        tags["scalars"]
    )
    assert {"predictions/real", "predictions/synthetic"} <= set(tags["images"])
    # what the network trains on, per source, and the gap between the sources
    assert {"training_input/real", "training_input/synthetic"} <= set(tags["images"])
    gap = run.Scalars("val/sim_to_real_gap")[-1].value
    real, synthetic = (run.Scalars(f"val/{s}/seq_acc")[-1].value for s in ("real", "synthetic"))
    assert gap == pytest.approx(synthetic - real)
    assert "test/synthetic/seq_acc" in tags["scalars"]
    # the hparams session, written at the start with the metrics it will show
    hparams = run.PluginTagToContent("hparams")
    assert b"val/real/seq_acc" in hparams["_hparams_/experiment"]
    # the settings that tell runs apart, shares as resolved; not every config key
    assert b"01 real share" in hparams["_hparams_/experiment"]  # first in the tab's order
    assert "train/lr" in tags["scalars"]  # beside the loss, not a section of its own
    assert "epoch" not in tags["scalars"]  # Lightning's, sorted first, above the accuracy
    # real and synthetic accuracy in one Scalars chart: one tag, a run folder per source
    from plate_ocr.model.tensorboard_views import BY_SOURCE, VALIDATION_TAG

    for source in ("real", "synthetic"):
        by_source = EventAccumulator(str(tmp_path / "tensorboard" / BY_SOURCE / source))
        assert VALIDATION_TAG in by_source.Reload().Tags()["scalars"]
    assert b"callbacks" not in hparams["_hparams_/experiment"]
    # no NaN point at step 0 for any metric
    for tag in tags["scalars"]:
        assert all(math.isfinite(event.value) for event in run.Scalars(tag)), tag
    assert "custom_scalars__config__" in run.PluginTagToContent("custom_scalars")


# Clean synthetic plates: sharp, well exposed, seen at full resolution.
CLEAN_PLATES = [
    "+data.synthetic_factors.native_height=[64.0,100.0]",
    "+data.synthetic_factors.blur_sigma=[0.0,0.5]",
    "+data.synthetic_factors.noise_sigma=[0.0,0.015]",
    "+data.synthetic_factors.p_motion_blur=0.0",
    "+data.synthetic_factors.p_jpeg=0.1",
    "+data.synthetic_factors.brightness=[0.8,1.2]",
]


@pytest.mark.slow
def test_crnn_small_learns_to_read_synthetic_plates(tmp_path):
    cfg = _compose(
        tmp_path,
        "data=synthetic",
        "aug=none",
        "model=crnn_small",
        "trainer=cpu",
        "data.image_size=[32,128]",
        "data.epoch_size=8000",
        "trainer.max_epochs=5",
        "data.batch_size=64",
        "data.num_workers=2",
        "data.synthetic_val_size=500",
        "test=false",
        *CLEAN_PLATES,
    )
    # Synthetic validation plates read: 0.846 with generator 3d08a69 (each plate's face a
    # jittered, warped cut: more varied plates to learn), 0.882 and 0.884 with d21a25c (two
    # streams of plates), 0.90 or more before; an untrained model reads none. The bound
    # checks learning, with room for the plates drawn.
    assert train(cfg) >= 0.8


def test_the_realised_shares_of_each_source_are_logged(tmp_path, real_folder):
    train(_compose(tmp_path, *_short_run(real_folder), "trainer.max_epochs=1"))
    metrics = json.loads((tmp_path / "metrics.json").read_text())["metrics"]
    assert 0 < metrics["train/real_fraction"] < 1
    assert "train/recombined_fraction" in metrics  # recombined by default with a real folder
