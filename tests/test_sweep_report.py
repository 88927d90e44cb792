import json
from pathlib import Path

import pytest

from plate_ocr.cli import main
from plate_ocr.sweep import REPORT_FILE, render


def _run(sweep, name, ratio, score, finished=True, fold=None):
    run = sweep / name
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "overrides.yaml").write_text(
        f"- data.real_ratio={ratio}\n- trainer.max_epochs=3\n"
        + (f"- data.real_fold={fold}\n" if fold is not None else "")
    )
    if finished:
        record = {
            "config": {"optimized_metric": "val/seq_acc"},
            "metrics": {"val/seq_acc": score, "val/real/seq_acc": score},
        }
        (run / "metrics.json").write_text(json.dumps(record))


def test_best_run_first_swept_keys_as_columns(tmp_path):
    _run(tmp_path, "0", 0.1, 0.80)
    _run(tmp_path, "1", 0.2, 0.90)
    _run(tmp_path, "2", 0.3, 0.0, finished=False)
    text = render(tmp_path)
    rows = [line for line in text.splitlines() if line.startswith("| ") and "run" not in line]
    assert [row.split("|")[2].strip() for row in rows] == ["0.2", "0.1"]
    assert "Every run: `trainer.max_epochs=3`" in text
    assert "Run 2 (left no metrics.json: killed, or still running)" in text


def test_cli_writes_the_report(tmp_path, capsys):
    _run(tmp_path, "0", 0.1, 0.5)
    assert main(["sweep-report", str(tmp_path)]) == 0
    assert (tmp_path / REPORT_FILE).read_text() == capsys.readouterr().out


@pytest.mark.parametrize("make", [False, True])
def test_not_a_sweep_is_one_line_error(tmp_path, capsys, make):
    target = tmp_path / "nothing"
    if make:
        target.mkdir()
    assert main(["sweep-report", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(target) in err


def test_folds_of_one_setting_are_summarised_as_mean_and_std(tmp_path):
    for i, (ratio, fold, score) in enumerate(
        [(0.1, 0, 0.80), (0.1, 1, 0.90), (0.1, 2, 0.85), (0.5, 0, 0.70), (0.5, 1, 0.72)]
    ):
        _run(tmp_path, str(i), ratio, score, fold=fold)
    text = render(tmp_path)
    assert "Mean ± std over data.real_fold" in text
    summary = text.split("Mean ± std")[1]
    assert "| 0.1 | 3 | 0.8500 ± 0.0500 |" in summary
    assert "| 0.5 | 2 | 0.7100 ± 0.0141 |" in summary


def test_no_repeats_no_summary(tmp_path):
    _run(tmp_path, "0", 0.1, 0.8)
    assert "Mean ± std" not in render(tmp_path)


@pytest.mark.slow  # a subprocess or every LPA crop: the full suite runs it
def test_a_failed_job_leaves_the_summary_and_is_named(tmp_path):
    """A job that failed used to stop the multirun before its summary; now the sweep goes on,
    the summary lists the finished runs, names the failed one and why, and exits 1."""
    import subprocess
    import sys

    sweep = tmp_path / "sweep"
    command = [
        sys.executable,
        "train.py",
        "-m",
        "trainer=debug",
        "data.image_size=[32,96]",
        "data.num_workers=0",
        "data.batch_size=0,8",
        "data.synthetic_val_size=8",
        "data.synthetic_test_size=8",
        f"hydra.sweep.dir={sweep}",
    ]
    repo = Path(__file__).parents[1]
    done = subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]
    report = (sweep / "sweep_report.md").read_text()
    assert "| 1 |" in report  # the run that finished, in the table
    assert "Run 0 (failed: data.batch_size=0" in report
    assert "1 run(s) failed: 0" in done.stdout


def test_a_swept_number_gets_a_plot_with_its_spread(tmp_path):
    from plate_ocr.sweep import PLOT_FILE, write_report

    for i, (ratio, fold, score) in enumerate([(0.1, 0, 0.8), (0.1, 1, 0.9), (0.5, 0, 0.7)]):
        _run(tmp_path, str(i), ratio, score, fold=fold)
    assert "(plot: " in write_report(tmp_path)
    svg = (tmp_path / PLOT_FILE).read_text()
    assert "data.real_ratio" in svg and "mean ± std over 1-2 runs per setting" in svg
    single = tmp_path / "single"
    _run(single, "0", 0.1, 0.8)
    write_report(single)
    assert not (single / PLOT_FILE).exists()  # nothing swept: no plot


def test_seeds_of_one_setting_are_given_the_commands_that_read_them_together(tmp_path):
    for name, seed in (("0", 42), ("1", 1)):
        run = tmp_path / name
        (run / ".hydra").mkdir(parents=True)
        (run / ".hydra" / "overrides.yaml").write_text(
            f"- seed={seed}\n- data.real_dir=/crops\n- experiment=accurate\n"
        )
        record = {"config": {"optimized_metric": "val/seq_acc"}, "metrics": {"val/seq_acc": 0.9}}
        (run / "metrics.json").write_text(json.dumps(record))
        (run / "checkpoints").mkdir()
        (run / "checkpoints" / "last.ckpt").write_bytes(b"weights")
    text = render(tmp_path)
    first, second = (tmp_path / name / "checkpoints" / "last.ckpt" for name in ("0", "1"))
    assert "Read the 2 seeds of data.real_dir=/crops experiment=accurate together" in text
    assert f"python evaluate.py 'ckpt_path=[{first},{second}]' data.real_dir=/crops" in text
    assert f"plate-ocr predict {first} IMAGES --ensemble {second}" in text
    (second).unlink()  # one seed left: nothing to read together
    assert "Read the" not in render(tmp_path)


def test_a_sweep_of_settings_without_seeds_has_no_ensemble_to_read(tmp_path):
    _run(tmp_path, "0", 0.1, 0.8)
    _run(tmp_path, "1", 0.2, 0.9)
    assert "Read the" not in render(tmp_path)


def test_the_plot_fits_its_values_not_zero_to_one(tmp_path):
    from plate_ocr.sweep import PLOT_FILE, write_report

    for i, (ratio, fold, score) in enumerate(
        [(0.1, 0, 0.90), (0.1, 1, 0.92), (0.2, 0, 0.94), (0.2, 1, 0.95)]
    ):
        _run(tmp_path, str(i), ratio, score, fold=fold)
    write_report(tmp_path)
    svg = (tmp_path / PLOT_FILE).read_text()
    assert "mean ± std over 2 runs per setting (data.real_fold)" in svg
    assert ">0.92</text>" in svg and ">0.0</text>" not in svg  # ticks near the values, not 0-1


def test_folds_alone_and_an_optuna_search_get_plots_too(tmp_path):
    from plate_ocr.sweep import PLOT_FILE, write_report

    folds = tmp_path / "folds"
    for fold, score in enumerate([0.90, 0.93, 0.91]):
        _run(folds, str(fold), 0.4, score, fold=fold)
    assert "(plot: " in write_report(folds)
    assert "3 runs, one per data.real_fold" in (folds / PLOT_FILE).read_text()
    search = tmp_path / "search"
    for i, (ratio, rate, score) in enumerate([(0.15, 0.001, 0.9), (0.33, 0.003, 0.92)]):
        _run(search, str(i), ratio, score)
        overrides = search / str(i) / ".hydra" / "overrides.yaml"
        overrides.write_text(overrides.read_text() + f"- model.optimizer.lr={rate}\n")
    assert "(plot: " in write_report(search)
    svg = (search / PLOT_FILE).read_text()
    assert "model.optimizer.lr" in svg and "data.real_ratio" in svg  # a panel each
    assert "2 runs, one per setting" in svg


def test_every_run_line_counts_the_failed_runs_settings(tmp_path):
    _run(tmp_path, "0", 0.1, 0.8)
    _run(tmp_path, "1", 0.2, 0.0, finished=False)
    (tmp_path / "1" / "FAILED").write_text("bad\n")
    text = render(tmp_path)
    assert "Every run: `trainer.max_epochs=3`" in text  # not data.real_ratio=0.1
    assert "| data.real_ratio |" in text


def test_a_damaged_sweep_is_summed_up_with_the_damage_named(tmp_path, capsys):
    _run(tmp_path, "0", 0.1, 0.8)
    _run(tmp_path, "1", 0.2, 0.0, finished=False)
    (tmp_path / "1" / "FAILED").write_bytes(b"")  # empty
    _run(tmp_path, "2", 0.3, 0.0, finished=False)
    (tmp_path / "2" / "FAILED").write_bytes(b"\xff\xfe\x00bad")  # not UTF-8
    _run(tmp_path, "3", 0.4, 0.9)
    record = json.loads((tmp_path / "3" / "metrics.json").read_text())
    record["metrics"]["val/seq_acc"] = "high"  # a word where a number belongs
    (tmp_path / "3" / "metrics.json").write_text(json.dumps(record))
    assert main(["sweep-report", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Run 1 (failed: no reason recorded)" in out and "Run 2 (failed: " in out
    assert "Run 3 (its metrics.json is damaged" in out


@pytest.mark.slow  # a multirun of its own
def test_a_job_rerun_in_a_reused_sweep_folder_is_not_marked_by_a_stale_failure(tmp_path):
    import subprocess
    import sys

    sweep = tmp_path / "sweep"
    (sweep / "0").mkdir(parents=True)
    (sweep / "0" / "FAILED").write_text("an earlier sweep's failure\n")
    command = [sys.executable, "train.py", "-m", "trainer=debug", "data.image_size=[32,96]",
               "data.num_workers=0", "data.batch_size=8", "data.synthetic_val_size=8",
               "data.synthetic_test_size=8", "seed=1", f"hydra.sweep.dir={sweep}"]  # fmt: skip
    done = subprocess.run(
        command, cwd=Path(__file__).parents[1], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (sweep / "0" / "FAILED").exists()
    assert "failed" not in (sweep / "sweep_report.md").read_text()
