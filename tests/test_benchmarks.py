"""The accuracy benchmark end to end, on tiny data with trainer=debug."""

import argparse
import json
from pathlib import Path

import pytest

REPO = Path(__file__).parents[1]
TINY = [
    "trainer=cpu",
    "trainer.max_epochs=1",
    "+trainer.limit_train_batches=1",
    "+trainer.limit_val_batches=1",
    "data.image_size=[32,96]",
    "data.batch_size=16",
    "data.num_workers=0",
    "data.synthetic_val_size=16",
    "data.synthetic_test_size=16",
]


def _load(name: str):
    """A benchmark script as a module (benchmarks/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, REPO / f"benchmarks/{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_accuracy_benchmark_records_each_run_once(tmp_path, real_folder, run_script):
    command = [
        "benchmarks/accuracy.py",
        "--ratios", "0", "1",
        "--folds", "0", "1",
        "--jobs", "2",
        "--tag", "debug",
        "--real-dir", str(real_folder),
        "--results", str(tmp_path / "results"),
        "--runs-dir", str(tmp_path / "runs"),
        "--",
        *TINY,
    ]  # fmt: skip
    first = run_script(*command)
    assert first.returncode == 0, first.stdout + first.stderr
    records = [
        json.loads(line)
        for line in (tmp_path / "results" / "accuracy_runs.jsonl").read_text().splitlines()
    ]
    assert sorted((r["ratio"], r["fold"]) for r in records) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert all("val/real/seq_acc" in r["metrics"] and r["extra"] == TINY for r in records)
    # ratio 0 trains the same model whatever the fold: trained once, scored on fold 1
    trained = sorted(p.name for p in (tmp_path / "runs" / "debug").glob("*/*"))
    assert trained == ["r0.0_fold0", "r1.0_fold0", "r1.0_fold1"]
    scored = next(r for r in records if (r["ratio"], r["fold"]) == (0, 1))
    assert scored["scored_from"].endswith("r0.0_fold0")
    table = first.stdout
    assert "| 0 | 0,1 |" in table and "| 1 | 0,1 |" in table and " ± " in table
    split = command.index("--")
    report = ["--report-only", "--plot", str(tmp_path / "ratio.svg")]
    plotted = run_script(*command[:split], *report, *command[split:])
    assert plotted.returncode == 0 and (tmp_path / "ratio.svg").read_text().startswith("<?xml")
    # measured runs are never run again
    again = run_script(*command)
    assert again.returncode == 0 and "0 runs to do, 4 measured" in again.stdout
    # a fold added later is scored from the recorded zero-shot checkpoint, not trained again
    command[command.index("--folds") + 1 : command.index("--jobs")] = ["0", "1", "2"]
    command[command.index("--ratios") + 1 : command.index("--folds")] = ["0"]
    more = run_script(*command)
    assert more.returncode == 0, more.stdout + more.stderr
    assert "0 runs to do, 3 measured" in more.stdout
    assert sorted(p.name for p in (tmp_path / "runs" / "debug").glob("*/*")) == trained
    records = (tmp_path / "results" / "accuracy_runs.jsonl").read_text().splitlines()
    added = json.loads(records[-1])
    assert (added["ratio"], added["fold"]) == (0, 2) and added["scored_from"].endswith("fold0")


def test_the_named_commit_wins_over_a_copied_trees_git(monkeypatch):
    """A GPU machine's copy of the tree carried a stale .git: its runs were recorded under
    the previous commit. PLATE_OCR_COMMIT, when set, is what the records say."""
    accuracy = _load("accuracy")
    monkeypatch.setenv("PLATE_OCR_COMMIT", "abc1234")
    assert accuracy._commit() == "abc1234"
    monkeypatch.delenv("PLATE_OCR_COMMIT")
    assert accuracy._commit() not in ("abc1234", "")


def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path, monkeypatch):
    """Three seeds launched at once shared one run folder, and each recorded the metrics of
    whichever training finished last."""
    accuracy = _load("accuracy")
    monkeypatch.setattr(accuracy.time, "strftime", lambda _: "2026-11-26_04-30-00")
    folders = {accuracy._batch_folder(tmp_path, "tag") for _ in range(3)}
    assert len(folders) == 3 and all(f.is_dir() and f.parent == tmp_path / "tag" for f in folders)
    assert all(f.name.startswith("2026-11-26_04-30-00_") for f in folders)


@pytest.mark.parametrize("ratio", [0.0, 0.2, 1.0])
def test_an_extra_experiment_does_not_change_the_ratio_a_run_trains_at(ratio):
    """Ratio 1 came from experiment=real_only, and an extra experiment=quickstart replaced
    it: the real-only run trained 80/20 and was recorded as real-only."""
    from hydra import compose, initialize_config_dir

    accuracy = _load("accuracy")
    args = argparse.Namespace(real_dir="crops", workers=1, extra=["experiment=accurate_gpu"])
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=accuracy._overrides(ratio, 2, args))
    assert cfg.data.real_ratio == ratio and cfg.data.real_fold == 2
    assert cfg.data.epoch_size == 24000  # the extra experiment did apply
    if ratio == 1:  # real-only: no synthetic plate, not even in the weights it starts from
        assert cfg.data.synthetic_epochs == 0 and cfg.init_from is None


@pytest.mark.slow  # a subprocess or every LPA crop: the full suite runs it
def test_latency_benchmark_prints_a_row_per_engine_beside_the_previous_ones(run_script):
    command = ["benchmarks/latency.py", "--models", "pretrained,crnn_small",
               "--inputs", "32x128", "--seconds", "0.01"]  # fmt: skip
    done = run_script(*command)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for model, size in (("pretrained", "32x160"), ("crnn_small", "32x128")):
        rows = [line for line in lines if line.startswith(f"| {model} | {size} |")]
        engines = [row.split(" | ")[3] for row in rows if " | cpu | " in row]
        assert engines == ["pytorch", "onnxruntime", "onnxruntime-int8 convs only (before)",
                           "onnxruntime-int8"]  # fmt: skip
        assert all(float(row.split(" | ")[5]) > 0 for row in rows)
    orders = [line.split(" | ")[0] for line in lines if line.startswith("| grey, then")]
    assert orders and any(line.startswith("| resize, then grey (before) |") for line in lines)


@pytest.mark.slow  # a subprocess or every LPA crop: the full suite runs it
def test_train_speed_benchmark_prints_a_row_per_model(run_script):
    command = ["benchmarks/train_speed.py",
               "--models", "crnn_small,crnn_small_bilstm",
               "--input", "16x96", "--batch", "4", "--seconds", "0.01",
               "--precision", "32-true,bf16-mixed"]  # fmt: skip
    done = run_script(*command)
    assert done.returncode == 0, done.stderr
    rows = [line.split(" | ") for line in done.stdout.splitlines() if line.startswith("| crnn")]
    assert [(row[0], row[1]) for row in rows] == [
        ("| crnn_small", "32-true"), ("| crnn_small", "bf16-mixed"),
        ("| crnn_small_bilstm", "32-true"), ("| crnn_small_bilstm", "bf16-mixed"),
    ]  # fmt: skip
    assert all(float(row[6].rstrip(" |")) > 0 for row in rows)


def test_synth_speed_benchmark_prints_the_cold_and_steady_rates(run_script):
    command = ["benchmarks/synth_speed.py", "--n", "10", "--warmup", "10",
               "--size", "32x128"]  # fmt: skip
    done = run_script(*command)
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    assert [row.split("  ")[0] for row in rows] == [
        "first plates of a process (cold caches)",
        "dataset[i] (label sampling + rendering)",
        "render_plate only",
    ]
    assert all(float(row.split("plates/s CPU")[0].split()[-1]) > 0 for row in rows)


def test_reading_benchmark_reads_each_run_once_in_the_four_ways(
    tmp_path, real_folder, tiny_checkpoint, run_script
):
    from plate_ocr.data.folder import PlateFolder
    from plate_ocr.data.real_split import RealSplit
    from plate_ocr.reader import PlateReader

    run_dir = tmp_path / "runs" / "r0.2_fold1"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "last.ckpt").write_bytes(tiny_checkpoint.read_bytes())
    results = tmp_path / "results"
    results.mkdir()
    runs = [
        {"tag": "t", "ratio": 0.2, "fold": 1, "extra": ["seed=1"], "run_dir": str(run_dir)},
        {"tag": "other", "ratio": 0.2, "fold": 1, "extra": [], "run_dir": str(tmp_path / "x")},
        # a zero-shot run's checkpoint scored on another fold is read on that fold too
        {"tag": "t", "ratio": 0.2, "fold": 2, "extra": ["seed=1"], "run_dir": str(run_dir),
         "scored_from": str(run_dir)},
        {"tag": "t", "ratio": 0.2, "fold": 1, "extra": [], "run_dir": str(tmp_path / "gone")},
    ]  # fmt: skip
    (results / "accuracy_runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs))
    command = ["benchmarks/reading.py", "--tag", "t",
               "--real-dir", str(real_folder), "--results", str(results)]  # fmt: skip
    first = run_script(*command)
    assert first.returncode == 0, first.stdout + first.stderr
    record, scored = [json.loads(line) for line in (results / "reading_runs.jsonl").open()]
    assert record["run_dir"] == str(run_dir) and record["fold"] == 1
    assert scored["run_dir"] == str(run_dir) and scored["fold"] == 2
    assert "2 runs to read, 0 read, 1 skipped: checkpoint gone" in first.stdout
    assert list(record["seq_acc"]) == list(_load("reading").OPTIONS)
    # each number is what reading the fold's held-out crops that way gives
    crops = PlateFolder(RealSplit(str(real_folder), 1).splits()["validation"])
    assert record["plates"] == len(crops.labels) > 0
    voted = PlateReader(run_dir / "checkpoints" / "last.ckpt", constrained=True, vote=True)
    right = sum(r.text == t for r, t in zip(voted(crops.images), crops.labels, strict=True))
    assert record["seq_acc"]["constrained, vote"] == pytest.approx(right / len(crops.labels))
    assert "| t | constrained, vote | 2 |" in first.stdout
    assert list(record["ms_per_plate"]) == list(record["seq_acc"])
    # every misread is there by error class, with the crop's properties
    wrong = len(crops.labels) - right
    assert sum(record["errors"]["constrained, vote"].values()) == wrong
    voted_wrong = [m for m in record["misreads"] if "constrained, vote" in m["class"]]
    assert len(voted_wrong) == wrong and record["ratio"] == 0.2
    assert all({"label", "read", "height", "tilt", "contrast"} <= set(m) for m in voted_wrong)
    assert "| t@0.2 | constrained, vote | 2 |" in first.stdout  # the class table
    assert all(ms > 0 for ms in record["ms_per_plate"].values())
    again = run_script(*command)
    assert again.returncode == 0 and "0 runs to read, 2 read, 1 skipped" in again.stdout


def test_ensemble_benchmark_reads_each_fold_with_its_runs_together_once(
    tmp_path, real_folder, tiny_checkpoint, other_tiny_checkpoint, run_script
):
    from plate_ocr.data.folder import PlateFolder
    from plate_ocr.data.real_split import RealSplit
    from plate_ocr.reader import PlateReader

    runs = []
    for name, checkpoint, fold in [("a", tiny_checkpoint, 1), ("b", other_tiny_checkpoint, 1),
                                   ("c", tiny_checkpoint, 2)]:  # fmt: skip
        run_dir = tmp_path / "runs" / name
        (run_dir / "checkpoints").mkdir(parents=True)
        (run_dir / "checkpoints" / "last.ckpt").write_bytes(checkpoint.read_bytes())
        runs.append({"tag": "t", "ratio": 0.2, "fold": fold, "extra": [], "run_dir": str(run_dir)})
    runs.append({"tag": "t", "ratio": 0.2, "fold": 2, "extra": [], "run_dir": str(tmp_path / "x")})
    runs.append({"tag": "u", "ratio": 0.2, "fold": 1, "extra": [], "run_dir": runs[0]["run_dir"]})
    results = tmp_path / "results"
    results.mkdir()
    (results / "accuracy_runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs))
    command = ["benchmarks/ensemble.py", "--tag", "t",
               "--real-dir", str(real_folder), "--results", str(results)]  # fmt: skip
    first = run_script(*command)
    assert first.returncode == 0, first.stdout + first.stderr
    (record,) = [json.loads(line) for line in (results / "ensemble_runs.jsonl").open()]
    assert "fold 2: 1 run on disk, no ensemble" in first.stdout  # its other run is gone
    assert record["fold"] == 1 and [m["run_dir"] for m in record["members"]] == [
        runs[0]["run_dir"],
        runs[1]["run_dir"],
    ]
    crops = PlateFolder(RealSplit(str(real_folder), 1).splits()["validation"])
    paths = [Path(m["run_dir"]) / "checkpoints" / "last.ckpt" for m in record["members"]]

    def share(model, **options) -> float:
        readings = PlateReader(model, **options)(crops.images)
        return sum(r.text == t for r, t in zip(readings, crops.labels, strict=True)) / len(
            crops.labels
        )

    assert record["ensemble"]["constrained, vote"] == pytest.approx(share(paths, vote=True))
    assert record["alone"]["greedy"] == pytest.approx([share(p, constrained=False) for p in paths])
    assert "| constrained, vote | 1 |" in first.stdout
    again = run_script(*command)
    assert again.returncode == 0 and "0 folds read, 1 read before" in again.stdout


def test_headline_writes_its_table_between_the_markers_and_keeps_the_rest(tmp_path):
    headline = _load("headline")
    document = tmp_path / "README.md"
    document.write_text("intro\n<!-- headline -->\nold table\n<!-- /headline -->\noutro\n")
    table = "| recipe |\n|---|\n| default |\n"
    headline.write_between_markers(document, table)
    assert document.read_text() == f"intro\n<!-- headline -->\n{table}<!-- /headline -->\noutro\n"
    headline.write_between_markers(document, table)  # again: the same file
    assert document.read_text().count("| default |") == 1
    bare = tmp_path / "bare.md"
    bare.write_text("no markers\n")
    with pytest.raises(SystemExit, match="no <!-- headline -->"):
        headline.write_between_markers(bare, table)
    assert bare.read_text() == "no markers\n"


def test_the_documents_have_the_headline_markers():
    for document in _load("headline").DOCUMENTS:
        text = document.read_text()
        assert text.count("<!-- headline -->") == 1 and text.count("<!-- /headline -->") == 1
        assert text.count("<!-- card -->") == 1 and text.count("<!-- /card -->") == 1
        assert text.count("<!-- trust -->") == 1 and text.count("<!-- /peers -->") == 1


def test_trust_and_peers_blocks_come_from_the_records(tmp_path):
    headline = _load("headline")
    calibrated = {"accepted@0.005": 0.8, "error@0.005": 0.004, "accepted@0.01": 0.9,
                  "error@0.01": 0.008}  # fmt: skip
    options = {"constrained": {"calibrated": calibrated}, "constrained, vote": {
        "calibrated": calibrated | {"accepted@0.005": 0.85}}}  # fmt: skip
    records = {
        "confidence_runs.jsonl": [{"tag": "pretrained", "fold": f, "options": options}
                                  for f in (0, 1)],
        "peers_runs.jsonl": [{"engine": e, "fold": f, "seq_acc": a, "ms_per_crop": 2.0}
                             for e, a in (("plate-ocr", 0.9), ("rapidocr", 0.7)) for f in (0, 1)],
    }  # fmt: skip
    for name, lines in records.items():
        (tmp_path / name).write_text("".join(json.dumps(line) + "\n" for line in lines))
    trust = headline.trust_markdown(tmp_path).splitlines()
    assert len(trust) == 4  # header, rule, the shipped reader's two readings; no default runs
    assert "| constrained | 2 × 1 | 0.800 ± 0.000 | 0.004 ± 0.000 | 0.900 ± 0.000 |" in trust[2]
    assert "0.850 ± 0.000" in trust[3]
    peers = headline.peers_markdown(tmp_path).splitlines()
    assert "shipped reader" in peers[2] and "0.900 ± 0.000" in peers[2]
    assert "RapidOCR" in peers[3] and "0.700 ± 0.000" in peers[3] and "Tesseract" not in peers[-1]


def test_the_confidence_benchmark_never_scores_a_plate_with_a_calibrator_fitted_on_it(monkeypatch):
    confidence = _load("confidence")
    import plate_ocr.confidence as library
    from plate_ocr.model.codec import Reading

    labels = [f"07300111{i:02d}" for i in range(40)]
    readings = [Reading(label if i % 4 else "0", 0.9) for i, label in enumerate(labels)]
    fitted_on = []
    real_fit = library.Calibrator.fit

    def spy(readings_, right):
        fitted_on.append({r.text for r in readings_})
        return real_fit(readings_, right)

    monkeypatch.setattr(library.Calibrator, "fit", staticmethod(spy))
    probability, taken = confidence.split_half(readings, labels)
    halves = [confidence._half(label) for label in labels]
    assert set(halves) == {0, 1} and len(fitted_on) == 2
    for side, texts in zip((0, 1), fitted_on, strict=True):
        scored = {labels[i] for i, h in enumerate(halves) if h == side and i % 4}
        assert not scored & texts  # the half it scores is not what it was fitted on
    assert len(probability) == len(labels) and set(taken) == {0.005, 0.01}


@pytest.mark.slow
def test_quickstart_time_prints_each_precision_side_by_side(run_script):
    tiny = ["trainer=cpu", "trainer.max_epochs=1", "+trainer.limit_train_batches=2",
            "+trainer.limit_val_batches=1", "data.image_size=[32,96]", "data.num_workers=0",
            "data.synthetic_val_size=8", "data.synthetic_test_size=8", "test=false",
            "init_from=null"]  # fmt: skip
    done = run_script("benchmarks/quickstart_time.py", "--real-dir", "",
                      "--precisions", "32-true,bf16-mixed", "--", *tiny)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {line.split(" | ")[0]: line.split(" | ")[1:] for line in done.stdout.splitlines()}
    assert rows["| seconds (minutes in row 1)"] == ["32-true", "bf16-mixed |"]
    assert all(float(cell.strip(" |")) > 0 for cell in rows["| minutes"])
    assert all(float(cell.strip(" |")) > 0 for cell in rows["|   backward"])
    assert "%" in rows["| cores busy"][0]


@pytest.mark.slow
def test_reading_as_exported_records_the_engine_and_onnx_reads_as_pytorch(
    tmp_path, real_folder, tiny_checkpoint
):
    reading = _load("reading")
    run = {
        "tag": "t",
        "fold": 1,
        "extra": [],
        "run_dir": str(tmp_path),
        "model": str(tiny_checkpoint),
    }
    pytorch, onnx, int8 = (
        reading.read_runs([run], real_folder, engine=engine)[0]
        for engine in ("pytorch", "onnx", "int8")
    )
    assert "engine" not in pytorch and onnx["engine"] == "onnxruntime"
    assert int8["engine"] == "onnxruntime-int8" and list(int8["seq_acc"]) == list(reading.OPTIONS)
    assert onnx["seq_acc"] == pytorch["seq_acc"] and onnx["plates"] == int8["plates"] > 0


def test_headline_rows_read_runs_and_ensembles_from_the_records(tmp_path, monkeypatch):
    headline = _load("headline")
    monkeypatch.setattr(
        headline,
        "ROWS",
        [("one", "`a`", "1", ["t"]), ("two together", "`b`", "2", ["ensemble:t"]),
         ("a ratio of a sweep", "`c`", "1", ["s@0.2"])],
    )  # fmt: skip
    seq = {"greedy": 0.9, "constrained": 0.91, "greedy, vote": 0.92, "constrained, vote": 0.93}
    both = {k: v + 0.01 for k, v in seq.items()}
    records = {
        "reading_runs.jsonl": [{"tag": "t", "fold": f, "seq_acc": seq} for f in (0, 1)]
        + [{"tag": "t", "fold": 0, "seq_acc": both, "engine": "onnxruntime-int8"}]
        + [{"tag": "s", "ratio": r, "fold": 0, "seq_acc": both} for r in (0.1, 0.2)],
        "accuracy_runs.jsonl": [{"tag": "t", "fold": f, "minutes": 4.0} for f in (0, 1)]
        + [{"tag": "s", "ratio": r, "fold": 0, "minutes": 10 * r} for r in (0.1, 0.2)],
        "ensemble_runs.jsonl": [
            {"tags": ["t"], "fold": f, "members": [{}, {}], "ensemble": both} for f in (0, 1)
        ],
    }
    for name, lines in records.items():
        (tmp_path / name).write_text("".join(json.dumps(line) + "\n" for line in lines))
    alone, together, one_ratio = headline.rows(tmp_path)
    assert (one_ratio["runs"], one_ratio["minutes"]) == ("1 × 1", "2")  # 0.2's run alone
    assert alone["values"]["greedy"] == [0.9, 0.9]  # the int8 reading is not PyTorch's
    assert (alone["runs"], alone["minutes"]) == ("2 × 1", "4")
    assert together["values"]["+ vote"] == pytest.approx([0.94, 0.94])
    assert (together["runs"], together["minutes"]) == ("2 × 2 together", "8")


def test_a_run_trained_on_corrected_labels_is_read_on_the_crops_its_own_split_held_out(
    tmp_path, real_folder
):
    from plate_ocr.data.real_split import RealSplit, fold_of

    reading = _load("reading")
    held = RealSplit(str(real_folder), 0).splits()["validation"]
    path, label = held[0]
    moved = next(t for t in ("0730011107", "12345611616", "11111111616") if fold_of(t, 5) != 0)
    fixes = tmp_path / "fixes.csv"
    fixes.write_text(f"file,text\n{path.relative_to(real_folder).as_posix()},{moved}\n")
    run = {"extra": ["seed=1", f"data.label_fixes={fixes}"]}
    assert reading.fixes_trained_with(run) == str(fixes)
    assert reading.fixes_trained_with({"extra": ["seed=1"]}) is None

    def crops(fold, scored, trained):
        folder = reading.held_out(real_folder, fold, scored, trained)
        return dict(zip(folder.paths, folder.labels, strict=True))

    # the published split holds it out of fold 0; trained on the fix, it moves to its new fold,
    # scored there against the label as published or as corrected
    assert crops(0, None, None)[path] == label and path not in crops(0, None, str(fixes))
    new_fold = fold_of(moved, 5)
    assert crops(new_fold, None, str(fixes))[path] == label
    assert crops(new_fold, fixes, str(fixes))[path] == moved
