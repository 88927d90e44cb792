"""benchmarks/realism.py: its AUC, and one tiny run end to end."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "realism.py"
spec = importlib.util.spec_from_file_location("realism", SCRIPT)
realism = importlib.util.module_from_spec(spec)
spec.loader.exec_module(realism)


def test_roc_auc_known_values():
    labels = np.array([0, 0, 1, 1])
    assert realism.roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), labels) == 1.0
    assert realism.roc_auc(np.array([0.9, 0.8, 0.2, 0.1]), labels) == 0.0
    assert realism.roc_auc(np.full(4, 0.5), labels) == 0.5
    assert realism.roc_auc(np.array([0.1, 0.5, 0.5, 0.9]), labels) == 0.875  # one tie: half


def test_tiny_run_end_to_end(real_folder, tmp_path):
    results = tmp_path / "results" / "realism_runs.jsonl"
    argv = ["--real-dir", str(real_folder), "--image-size", "16", "48", "--epochs", "1"]
    record = realism.main([*argv, "--folds-to-run", "0", "1", "--results", str(results)])
    assert [run["fold"] for run in record["runs"]] == [0, 1]
    for key in ("accuracy", "auc"):  # the record's figure is the folds' mean
        assert record[key] == np.mean([run[key] for run in record["runs"]])
    (line,) = results.read_text().splitlines()
    assert json.loads(line)["image_size"] == [16, 48]
    assert json.loads(line)["commit"] != "unknown"
