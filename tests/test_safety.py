"""Bad settings and untrusted files: refused with one line, nothing run, nothing saved."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import one_line_exit_2 as _one_line_exit_2

from plate_ocr.errors import UserError, user_error
from plate_ocr.model import CRNN
from plate_ocr.model.checkpoint import load_checkpoint, load_network

REPO = Path(__file__).parents[1]


@pytest.mark.parametrize(
    "url", ["http://example.invalid/x.ckpt", "https://h/x.ckpt", "s3://bucket/x.ckpt"]
)
def test_remote_checkpoints_are_refused_before_any_download(url):
    with pytest.raises(UserError, match="remote checkpoints are refused"):
        load_checkpoint(url)


def test_resuming_from_a_url_is_refused(train_py):
    _one_line_exit_2(train_py("ckpt_path=http://127.0.0.1:9/x.ckpt"), "remote")


def test_a_too_narrow_input_is_refused_at_start(train_py):
    run = train_py("data.image_size=[16,32]")
    _one_line_exit_2(run, "data.image_size=[16, 32]", "at least 84")


def test_a_diverged_run_stops_with_a_message(tmp_path, train_py):
    steps = ["trainer=cpu", "trainer.max_epochs=1", "+trainer.limit_train_batches=4"]
    steps += ["+trainer.limit_val_batches=1", "data.epoch_size=32"]  # step 2 meets NaN weights
    run = train_py(*steps, "model.optimizer.lr=1e30", "test=false")
    _one_line_exit_2(run, "the run diverged", "model.optimizer.lr")
    assert not (tmp_path / "metrics.json").exists()  # no result is reported


def test_non_finite_weights_are_refused(tmp_path, tiny_checkpoint):
    checkpoint = torch.load(tiny_checkpoint, weights_only=True)
    name = next(k for k in checkpoint["state_dict"] if k.endswith("weight"))
    checkpoint["state_dict"][name] = torch.full_like(checkpoint["state_dict"][name], float("nan"))
    torch.save(checkpoint, tmp_path / "nan.ckpt")
    with pytest.raises(UserError, match="weights are not finite"):
        load_network(tmp_path / "nan.ckpt")


def test_user_errors_are_found_inside_wrapped_errors():
    try:
        try:
            raise UserError("data.x=1: fix it")
        except UserError as inner:
            raise RuntimeError("Error in call to target 'X'") from inner
    except RuntimeError as outer:
        assert str(user_error(outer)) == "data.x=1: fix it"
    assert user_error(ValueError("a bug")) is None


def test_crnn_says_which_sizes_work():
    with pytest.raises(UserError, match="multiple of 16"):
        CRNN(image_size=(30, 128))
    CRNN(image_size=(32, 84))  # the narrowest that holds 11 digits


@pytest.mark.parametrize(
    "override, words",
    [
        ("data.real_ratio=abc", ["data.real_ratio=abc", "between 0 and 1"]),
        ("data.batch_size=0", ["data.batch_size=0"]),
        ("data.image_size=[0,0]", ["data.image_size=[0,0]"]),
        ("+data.synthetic_factors.glyph_jitter=1.5", ["glyph_jitter=1.5", "from 0 to 0.5"]),
        ("+data.synthetic_factors.wilaya_weights={99: 1}", ["wilaya_weights=", "01-69"]),
    ],
)
def test_bad_settings_are_one_line_naming_the_key(train_py, override, words):
    _one_line_exit_2(train_py(override), *words)


def test_an_empty_checkpoint_is_named(tmp_path, train_py):
    empty = tmp_path / "empty.ckpt"
    empty.write_bytes(b"")
    with pytest.raises(UserError, match="empty.ckpt: the checkpoint is empty"):
        load_checkpoint(empty)
    _one_line_exit_2(train_py(f"ckpt_path={empty}", folder=tmp_path / "run"), "empty (0 bytes)")


def test_weights_alone_are_not_a_run_to_resume(train_py):
    """The shipped reader has no optimizer state: resuming from it would fail deep in
    Lightning, so the message points at init_from."""
    _one_line_exit_2(train_py("ckpt_path=pretrained"), "holds weights only", "init_from=")


def test_zero_epochs_are_refused(train_py):
    _one_line_exit_2(train_py("trainer=cpu", "trainer.max_epochs=0"), "trainer.max_epochs=0")


def test_evaluate_a_missing_model_names_it(tmp_path, run_script):
    run = run_script("evaluate.py", f"hydra.run.dir={tmp_path}", "ckpt_path=nowhere.ckpt")
    _one_line_exit_2(run, "nowhere.ckpt: checkpoint not found")


def test_a_failed_checkpoint_write_keeps_the_old_file_and_names_the_path(tmp_path, monkeypatch):
    """A full disk mid-write: the old last.ckpt stays whole, no temporary file is left, and
    the error names the checkpoint."""
    from lightning_fabric.plugins import TorchCheckpointIO

    from plate_ocr.model.checkpoint_io import AtomicCheckpointIO

    last = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"epoch": 1}, last)

    def full_disk(self, checkpoint, path, storage_options=None):
        Path(path).write_bytes(b"half a checkpo")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(TorchCheckpointIO, "save_checkpoint", full_disk)
    with pytest.raises(UserError, match="last.ckpt: could not write it"):
        AtomicCheckpointIO().save_checkpoint({"epoch": 2}, last)
    assert torch.load(last, weights_only=True) == {"epoch": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]


def test_an_unwritable_output_folder_is_one_line(tmp_path, run_script):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    # train.py in a real process, end to end: Hydra's own start-up is what is checked
    run = subprocess.run(
        [sys.executable, "train.py", f"hydra.run.dir={blocker / 'run'}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    _one_line_exit_2(run, "hydra.run.dir=", "cannot create the output folder")
    run = run_script("evaluate.py", "ckpt_path=x.ckpt", f"hydra.run.dir={blocker / 'run'}")
    _one_line_exit_2(run, "hydra.run.dir=", "cannot create the output folder")


def test_weights_that_are_no_longer_finite_are_never_saved(tmp_path):
    from plate_ocr.errors import UserError
    from plate_ocr.model.checkpoint_io import AtomicCheckpointIO

    last = tmp_path / "last.ckpt"
    broken = {"epoch": 1, "state_dict": {"w": torch.tensor([1.0, float("inf")])}}
    with pytest.raises(UserError, match="no longer finite"):
        AtomicCheckpointIO().save_checkpoint(broken, last)
    assert not last.exists()
