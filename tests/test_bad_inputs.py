"""Bad input, by class: nothing read wrong in silence, nothing lost, no traceback for a user's
mistake. Each case gives the input, the exit status, the words the message must hold, and
checks that nothing already there changed."""

import json
import os
import re
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import REPO, one_line_exit_2

from plate_ocr.cli import main
from plate_ocr.data.folder import find_splits, scan_folder
from plate_ocr.data.images import read_rgb
from plate_ocr.errors import UserError
from plate_ocr.reader import PlateReader, _as_rgb


def _png_declaring(width: int, height: int) -> bytes:
    """A valid PNG header for a huge image, with (almost) no pixel data: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


# 1. Read wrong in silence


def test_arrays_of_known_ranges_read_as_their_pixels_and_the_rest_are_refused():
    pixels = np.random.default_rng(0).integers(0, 256, (24, 80, 3)).astype(np.uint8)
    assert (_as_rgb(pixels.astype(np.float32) / 255, "rgb") == pixels).all()
    assert (_as_rgb(pixels.astype(np.uint16) * 257, "rgb") == pixels).all()
    for array, words in [
        (pixels.astype(np.float64), "values in [0, 1]"),  # 0-255 floats: a missing / 255
        (np.full((24, 80, 3), np.nan, np.float32), "non-finite"),
        (pixels.astype(np.int32) - 128, "int32 crop array"),
        (pixels.astype(np.int64), "int64 crop array"),
    ]:
        with pytest.raises(ValueError, match=re.escape(words)):
            _as_rgb(array, "rgb")
    # nothing to read, or not a crop at all: said, never an "object" array read as garbage
    for thing, words in [
        (np.zeros((0, 80, 3), np.uint8), "an empty crop array"),
        (None, "a NoneType is not a crop"),
        (b"\xff\xd8", "a bytes is not a crop"),
        (object(), "a object is not a crop"),
    ]:
        with pytest.raises(ValueError, match=re.escape(words)):
            _as_rgb(thing, "rgb")


def test_a_generator_of_crops_is_refused_not_read_as_one_crop(tiny_checkpoint):
    from plate_ocr.reader import PlateReader

    pixels = np.zeros((24, 80, 3), np.uint8)
    with pytest.raises(ValueError, match="pass a list"):
        PlateReader(tiny_checkpoint)(p for p in [pixels])


def test_an_exif_rotated_jpeg_reads_alike_from_its_path_and_as_a_pil_image(tmp_path):
    from PIL import Image

    pixels = np.zeros((40, 120, 3), np.uint8)
    pixels[:, :30] = 255
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to show
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif.tobytes())
    from_path, from_pil = _as_rgb(path, "rgb"), _as_rgb(Image.open(path), "rgb")
    assert from_path.shape == from_pil.shape == (120, 40, 3)
    assert np.abs(from_path.astype(int) - from_pil).max() <= 2  # one decoder's rounding


# 2. Memory and time before a refusal


def test_a_small_file_declaring_a_huge_image_is_refused_before_decoding(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_declaring(30_000, 30_000))
    start = time.perf_counter()
    with pytest.raises(UserError, match="bomb.png: its header declares"):
        read_rgb(bomb)
    photo = tmp_path / "photo.png"
    photo.write_bytes(_png_declaring(6000, 4000))
    with pytest.raises(UserError, match=r"photo.png: 6000x4000 px is not a plate crop"):
        read_rgb(photo)
    assert time.perf_counter() - start < 1  # decoding 900 M pixels took 21 s and 5.7 GB


def test_a_huge_file_is_refused_unread_and_the_rest_of_a_batch_reads(
    tmp_path, tiny_checkpoint, capsys
):
    folder = tmp_path / "crops"
    folder.mkdir()
    cv2.imwrite(str(folder / "a_good.png"), np.full((30, 100, 3), 90, np.uint8))
    with (folder / "b_huge.jpg").open("wb") as huge:  # sparse: 40 MB on paper, nothing on disk
        huge.truncate(40 * 2**20)
    (folder / "c_bomb.png").write_bytes(_png_declaring(30_000, 30_000))
    cv2.imwrite(str(folder / "d_good.png"), np.full((30, 100, 3), 160, np.uint8))
    with pytest.raises(UserError, match=r"b_huge.jpg: 40 MB is not a plate crop"):
        read_rgb(folder / "b_huge.jpg")
    assert main(["predict", str(tiny_checkpoint), str(folder)]) == 1  # skipped, and said
    out, err = capsys.readouterr()
    assert [line.split("\t")[0] for line in out.splitlines()] == [
        str(folder / "a_good.png"),
        str(folder / "d_good.png"),
    ]
    assert "b_huge.jpg" in err and "c_bomb.png" in err


# 3. Data that silently does not count


def test_a_folder_beside_the_split_folders_is_refused_by_name(tmp_path, write_crop):
    write_crop(tmp_path / "train" / "12345611616.jpg")
    write_crop(tmp_path / "val" / "0730011107.jpg")  # meant as validation, would go unread
    with pytest.raises(UserError, match=r"/val: ignored: beside the split folders"):
        find_splits(tmp_path)


def test_crops_in_a_sub_folder_of_a_flat_folder_are_named(tmp_path, write_crop):
    write_crop(tmp_path / "12345611616.jpg")
    write_crop(tmp_path / "more" / "0730011107.jpg")
    problems = scan_folder(tmp_path).problems
    assert [(p.path.name, "not read" in p.reason) for p in problems] == [("more", True)]


def test_one_image_listed_twice_under_two_spellings_is_refused(tmp_path, write_crop):
    write_crop(tmp_path / "a.jpg")
    (tmp_path / "labels.csv").write_text("filename,text\na.jpg,12345611616\n./a.jpg,0730011107\n")
    with pytest.raises(UserError, match=r"listed twice in labels.csv, as 'a.jpg' on line 2"):
        find_splits(tmp_path)


def test_other_image_types_are_read_or_named(tmp_path, write_crop):
    for name in ("12345611616.bmp", "12345611716.webp", "12345611816.tif"):
        write_crop(tmp_path / name)
    (tmp_path / "0730011107.gif").write_bytes(b"GIF89a")
    scanned = scan_folder(tmp_path)
    assert sum(len(split) for split in scanned.splits.values()) == 3
    assert [p.path.name for p in scanned.problems] == ["0730011107.gif"]


def test_predict_follows_a_symlinked_folder_and_names_what_it_cannot_read(
    tmp_path, tiny_checkpoint, capsys, write_crop
):
    crops = tmp_path / "crops"
    write_crop(tmp_path / "elsewhere" / "12345611616.jpg")
    write_crop(crops / "0730011107.jpg")
    (crops / "linked").symlink_to(tmp_path / "elsewhere")
    (crops / "loop").symlink_to(crops)  # followed once, not for ever
    (crops / "animated.gif").write_bytes(b"GIF89a")
    assert main(["predict", str(tiny_checkpoint), str(crops)]) == 1
    out, err = capsys.readouterr()
    assert sorted(Path(line.split("\t")[0]).name for line in out.splitlines()) == [
        "0730011107.jpg",
        "12345611616.jpg",
    ]
    assert "animated.gif: .gif images are not decoded" in err


# 4. Words that mean the opposite


@pytest.mark.parametrize("word", ["off", "no", "0n"])
def test_a_switch_is_true_or_false(tmp_path, run_script, train_py, tiny_checkpoint, word):
    for key in ("framing_vote", "constrained_decoding"):
        run = run_script(
            "evaluate.py", f"ckpt_path={tiny_checkpoint}", f"{key}={word}",
            f"hydra.run.dir={tmp_path / key}", "data.synthetic_test_size=4",
        )  # fmt: skip
        one_line_exit_2(run, f"{key}={word}: use true or false")
    one_line_exit_2(train_py(f"data.skip_bad={word}"), f"data.skip_bad={word}: use true or false")


# 5. Work lost


def test_a_second_run_into_a_folder_that_holds_one_is_refused(tmp_path, train_py):
    assert train_py().returncode == 0
    before = (tmp_path / "metrics.json").read_bytes()
    one_line_exit_2(train_py(), "already holds a run (metrics.json", "choose a new folder")
    assert (tmp_path / "metrics.json").read_bytes() == before


def test_a_refused_run_leaves_no_folder_behind(tmp_path, train_py):
    outputs = tmp_path / "outputs"
    one_line_exit_2(
        train_py("data.real_ratio=2", folder=outputs / "2026-12-07" / "10-00-00"),
        "data.real_ratio",
    )
    assert not outputs.exists()  # not the run folder, nor the date folder made for it
    kept = tmp_path / "kept"
    kept.mkdir()
    one_line_exit_2(train_py("data.real_ratio=2", folder=kept / "run"), "data.real_ratio")
    assert kept.is_dir() and not any(kept.iterdir())  # a folder that was there stays


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_a_gpu_trainer_without_a_gpu_is_one_line_and_writes_nothing(tmp_path, train_py):
    one_line_exit_2(
        train_py("trainer=gpu", folder=tmp_path / "run"), "torch sees no GPU", "trainer=default"
    )
    assert not (tmp_path / "run").exists()


def test_two_runs_started_into_one_folder_cannot_both_claim_it(tmp_path):
    """Checked, then made, two runs started together both passed and overwrote each other."""
    import fcntl

    from plate_ocr import entry

    (tmp_path / "run").mkdir()
    other = os.open(tmp_path / "run", os.O_RDONLY)  # another process holds it
    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(SystemExit) as refused:
            entry._claim_folder("hydra.run.dir", str(tmp_path / "run"), None)
        assert refused.value.code == 2
    finally:
        os.close(other)


def test_two_renderings_into_one_folder_cannot_both_claim_it(tmp_path, capsys):
    """Each deleted the other's partial files."""
    import fcntl

    out = tmp_path / "synth"
    out.mkdir()
    other = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main(["synth", str(out), "--train", "2", "--val", "0", "--test", "0"]) == 2
    finally:
        os.close(other)
    assert "being rendered into by another plate-ocr synth" in capsys.readouterr().err
    assert main(["synth", str(out), "--train", "2", "--val", "0", "--test", "0"]) == 0


def test_an_evaluation_into_a_training_runs_folder_is_refused(tmp_path, train_py, run_script):
    """Its ckpt_path lies inside the folder, which let it in as a resume: it overwrote the
    training's .hydra/config.yaml, the record a resume reads."""
    assert train_py().returncode == 0
    record = (tmp_path / ".hydra" / "config.yaml").read_bytes()
    run = run_script(
        "evaluate.py",
        f"ckpt_path={tmp_path / 'checkpoints' / 'last.ckpt'}",
        f"hydra.run.dir={tmp_path}",
        "data.synthetic_test_size=4",
    )
    one_line_exit_2(run, "already holds a run", "choose a new folder")
    assert (tmp_path / ".hydra" / "config.yaml").read_bytes() == record


def test_an_ensemble_evaluated_into_a_folder_that_holds_a_report_is_refused(
    tmp_path, tiny_checkpoint, other_tiny_checkpoint, run_script
):
    """The folder check once raised on a list of checkpoints, which Hydra only warned about:
    the ensemble's report overwrote the earlier one."""
    (tmp_path / "report.json").write_text("an earlier report")
    run = run_script(
        "evaluate.py",
        f"ckpt_path=[{tiny_checkpoint},{other_tiny_checkpoint}]",
        f"hydra.run.dir={tmp_path}",
        "data.synthetic_test_size=4",
    )
    one_line_exit_2(run, "already holds a run (report.json", "choose a new folder")
    assert (tmp_path / "report.json").read_text() == "an earlier report"


def test_export_keeps_an_existing_onnx_file(tmp_path, tiny_checkpoint, capsys):
    onnx = tmp_path / "plate.onnx"
    onnx.write_bytes(b"an earlier export")
    assert main(["export", str(tiny_checkpoint), "--onnx", str(onnx)]) == 2
    assert "exists: pass --force" in capsys.readouterr().err
    assert onnx.read_bytes() == b"an earlier export"


# 6. Tracebacks where a sentence belongs


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ("seed=-1", "seed=-1: use a whole number"),
        ("data.num_workers=-1", "data.num_workers=-1: use a whole number, 0 or more"),
        ("data.synthetic_val_size=-1", "data.synthetic_val_size=-1"),
        ("model.optimizer.lr=-1", "model.optimizer.lr=-1: give a learning rate above 0"),
        ("model.optimizer.lr=inf", "model.optimizer.lr=inf: give a learning rate above 0"),
        ("model.optimizer.lr=abc", "model.optimizer.lr=abc: give a learning rate above 0"),
        # types, from one schema, before any work (they once ran truncated or failed late)
        ("data.real_fold=1.5", "data.real_fold=1.5: use a whole number, 0 or more, or null"),
        ("data.image_size=32", "data.image_size=32: use [height, width] in whole pixels"),
        ("data.image_size=[a,b]", "data.image_size=[a,b]: use [height, width]"),
        ("data.image_size=[32.9,128.7]", "data.image_size=[32.9,128.7]: use [height, width]"),
        ("data.real_folds=abc", "data.real_folds=abc: use a whole number, 2 or more"),
        ("trainer.precision=foo", "trainer.precision=foo: use one of 32-true"),
        ("optimized_metric=val/seq_ac", "optimized_metric=val/seq_ac: name a logged metric"),
        ("data.real_ratio_schedule=[0.1,0.5]", "data.real_ratio_schedule=[0.1,0.5]: write"),
        ("data.channels=2", "data.channels=2: use 1 (grey) or 3"),
        ("trainer.max_epochs=-1", "trainer.max_epochs=-1: give a number of epochs"),
    ],
)
def test_bad_numbers_are_one_line_naming_the_key(train_py, override, words):
    overrides = [override] if "max_epochs" not in override else ["trainer=cpu", override]
    one_line_exit_2(train_py(*overrides), words)


def test_predict_names_a_device_it_cannot_use(tiny_checkpoint, real_folder, capsys):
    crop = str(next((real_folder / "test").glob("*.jpg")))
    devices = ["foo", *([] if torch.cuda.is_available() else ["cuda"])]
    for device in devices:
        assert main(["predict", str(tiny_checkpoint), crop, "--device", device]) == 2
        assert f"device '{device}'" in capsys.readouterr().err


def test_damaged_checkpoints_are_one_line(tmp_path, tiny_checkpoint, capsys):
    from plate_ocr.model.checkpoint import load_network

    bare = tmp_path / "bare.ckpt"
    torch.save(torch.zeros(3), bare)
    with pytest.raises(UserError, match="bare.ckpt: not a plate-ocr checkpoint"):
        load_network(bare)
    edited = torch.load(tiny_checkpoint, weights_only=True)
    edited["net_config"]["hidden"] = 32  # the weights are for 16
    torch.save(edited, tmp_path / "edited.ckpt")
    with pytest.raises(UserError, match="edited.ckpt: its net_config describes .* damaged or"):
        load_network(tmp_path / "edited.ckpt")
    assert main(["predict", str(tmp_path / "edited.ckpt"), str(tmp_path)]) == 2
    assert "Traceback" not in capsys.readouterr().err
    # a config that would allocate tens of GB is refused before anything is built
    edited["net_config"]["hidden"] = 60000
    torch.save(edited, tmp_path / "huge.ckpt")
    with pytest.raises(UserError, match="huge.ckpt: its net_config describes"):
        load_network(tmp_path / "huge.ckpt")
    # weights that are not tensors, or not a mapping
    for name, weights in (("list", [1, 2]), ("words", {"net.w": "x"})):
        torch.save(edited | {"state_dict": weights}, tmp_path / f"{name}.ckpt")
        with pytest.raises(UserError, match="state_dict is not a set of weights"):
            load_network(tmp_path / f"{name}.ckpt")


def test_a_checkpoint_that_unpacks_to_gigabytes_is_refused_unread(tmp_path, monkeypatch):
    import zipfile

    from plate_ocr.model import checkpoint

    bomb = tmp_path / "bomb.ckpt"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data/0", b"\0" * (4 << 20))  # 4 MB of zeros, a few KB packed
    monkeypatch.setattr(checkpoint, "MAX_CHECKPOINT_BYTES", 1 << 20)
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(UserError, match="bomb.ckpt: holds over 1 MB unpacked"):
        checkpoint.load_checkpoint(bomb)


def _exported(tmp_path, tiny_checkpoint) -> Path:
    from plate_ocr.export import export_onnx
    from plate_ocr.model.checkpoint import load_network

    return export_onnx(load_network(tiny_checkpoint), tmp_path / "good.onnx")


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda config: "{not json", "metadata is not a network config"),
        (lambda config: json.dumps({k: v for k, v in config.items() if k != "in_channels"}),
         "metadata is not a network config"),
        (lambda config: json.dumps(config | {"image_size": [48, 160]}),
         "its metadata says input (1, 48, 160) but the graph takes"),
        (lambda config: json.dumps(config | {"in_channels": 3}), "metadata says input (3,"),
    ],
)  # fmt: skip
def test_onnx_metadata_that_disagrees_with_its_graph_is_refused(
    tmp_path, tiny_checkpoint, edit, words
):
    import onnx

    from plate_ocr.reader import ONNX_CONFIG_KEY

    proto = onnx.load(str(_exported(tmp_path, tiny_checkpoint)))
    entry = next(e for e in proto.metadata_props if e.key == ONNX_CONFIG_KEY)
    entry.value = edit(json.loads(entry.value))
    onnx.save(proto, str(tmp_path / "edited.onnx"))
    with pytest.raises(UserError, match=re.escape(words)):
        PlateReader.load(tmp_path / "edited.onnx")


def test_resuming_a_run_of_another_input_size_is_one_line(tmp_path, train_py):
    one_epoch = ["trainer=cpu", "trainer.max_epochs=1", "+trainer.limit_train_batches=1"]
    first = train_py(*one_epoch, "+trainer.limit_val_batches=1", folder=tmp_path / "first")
    assert first.returncode == 0
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    run = train_py(f"ckpt_path={last}", "data.image_size=[32,128]", folder=tmp_path / "second")
    one_line_exit_2(run, "the checkpoint's network differs in image_size [32, 96]")


def test_a_nul_byte_in_labels_csv_names_its_line(tmp_path, write_crop):
    write_crop(tmp_path / "a.jpg")
    (tmp_path / "labels.csv").write_bytes(b"filename,text\na.jpg,1234\x0061161\n")
    with pytest.raises(UserError, match=r"labels.csv line 2: a NUL byte"):
        find_splits(tmp_path)


def test_a_folder_that_cannot_be_listed_is_one_line(tmp_path, write_crop, monkeypatch):
    write_crop(tmp_path / "train" / "12345611616.jpg")
    listing = Path.iterdir

    def refuse(self):
        if self.name == "train":
            raise PermissionError(13, "Permission denied")
        return listing(self)

    monkeypatch.setattr(Path, "iterdir", refuse)  # as root, chmod would not stop us
    with pytest.raises(UserError, match=r"train: cannot list the folder \(Permission denied\)"):
        find_splits(tmp_path)


def test_synth_names_a_damaged_manifest_and_a_sheet_that_is_not_an_image(tmp_path, capsys):
    (tmp_path / "synth.json").write_text('{"seed": 0, "si')
    assert main(["synth", str(tmp_path), "--train", "1", "--val", "0", "--test", "0"]) == 2
    assert "synth.json is not the JSON" in capsys.readouterr().err
    assert main(["synth", "--preview", str(tmp_path / "sheet.txt"), "--count", "1"]) == 2
    assert "name the sheet *.png" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synth.json"]


def test_export_names_an_opset_it_cannot_write(tmp_path, tiny_checkpoint, capsys):
    onnx = tmp_path / "plate.onnx"
    assert main(["export", str(tiny_checkpoint), "--onnx", str(onnx), "--opset", "99"]) == 2
    assert "--opset 99: export failed" in capsys.readouterr().err and not onnx.exists()


def test_preview_names_an_option_that_does_not_exist(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert main(["preview", str(tmp_path / "sheet.png"), "model=nope"]) == 2
    assert "model=nope" in capsys.readouterr().err and not (tmp_path / "sheet.png").exists()


def test_sweep_report_names_a_damaged_metrics_file_and_sums_up_the_rest(tmp_path, capsys):
    for run, text in (("0", '{"metrics": {"val/seq_acc": 0.5}, "config": {}}'), ("1", '{"met')):
        (tmp_path / run / ".hydra").mkdir(parents=True)
        (tmp_path / run / "metrics.json").write_text(text)
    main(["sweep-report", str(tmp_path)])
    out = capsys.readouterr().out
    assert "0.5000" in out and "metrics.json is damaged" in out


@pytest.mark.slow  # a process of its own: its stdout is the full device
def test_predict_to_a_full_device_is_one_line(tiny_checkpoint, real_folder):
    crop = str(next((real_folder / "test").glob("*.jpg")))
    with open("/dev/full", "w") as full:
        run = subprocess.run(
            [sys.executable, "-m", "plate_ocr.cli", "predict", str(tiny_checkpoint), crop],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert run.returncode == 2 and "cannot write the readings (No space left" in run.stderr
    assert "Traceback" not in run.stderr and "Exception ignored" not in run.stderr


def _as_from_a_terminal() -> None:
    """Ctrl-C as a terminal delivers it: a suite started in the background (``cmd &``, nohup)
    hands its children SIGINT ignored, and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm-to-the-group"])
def test_ctrl_c_during_training_stops_in_one_line_and_keeps_last_ckpt(tmp_path, stop):
    """SIGTERM to the process group (a scheduler, ``timeout``) once ended in a loader
    worker's traceback, and ``kill PID`` in exit 0 with no results: both stop as Ctrl-C."""
    # a run that cannot end by itself (no early stopping, 1,000 epochs): only Ctrl-C ends it
    command = [sys.executable, "train.py", "trainer=cpu", "trainer.max_epochs=1000",
               "callbacks.early_stopping=null",
               "data.image_size=[32,96]", "data.epoch_size=64", "data.batch_size=16",
               "data.num_workers=2", "data.synthetic_val_size=16", "data.synthetic_test_size=16",
               f"hydra.run.dir={tmp_path}"]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=os.environ | {"OMP_NUM_THREADS": "1"}, preexec_fn=_as_from_a_terminal,
        start_new_session=stop != "ctrl-c",
    )  # fmt: skip
    last = tmp_path / "checkpoints" / "last.ckpt"
    deadline = time.time() + 240
    while not last.is_file() and time.time() < deadline:
        time.sleep(0.5)
    if stop == "ctrl-c":
        process.send_signal(signal.SIGINT)
    else:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        output = process.communicate(timeout=120)[0]
    finally:
        process.kill()
    assert last.is_file() and "Traceback" not in output, output[-3000:]
    assert f"resume with ckpt_path={last}" in output
    assert process.returncode != 0 and not (tmp_path / "metrics.json").exists()


# 7. Output that input can forge


def test_text_output_escapes_a_file_name_that_would_forge_a_row(
    tmp_path, tiny_checkpoint, capsys, write_crop
):
    forged = write_crop(tmp_path / "a\t12345611616\t1.0000\nb.jpg")
    assert main(["predict", str(tiny_checkpoint), str(forged)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].count("\t") == 2
    assert lines[0].startswith(str(tmp_path) + "/a\\t12345611616\\t1.0000\\nb.jpg\t")


# 8. What the README says must work, does


@pytest.mark.slow  # an int8 quantisation and its check: the full suite runs it
def test_an_int8_check_has_enough_plates_to_resolve_its_threshold(tmp_path, tiny_checkpoint):
    from plate_ocr import export as verb  # where the verb looks it up when it runs

    plates_checked = []
    real_accuracy = verb.accuracy

    def counting(reader, plates):
        plates_checked.append(len(plates))
        return real_accuracy(reader, plates)

    verb.accuracy = counting
    try:
        main(["export", str(tiny_checkpoint), "--onnx", str(tmp_path / "q.onnx"), "--int8",
              "--check-synthetic", "16", "--max-loss", "0.04"])  # fmt: skip
    finally:
        verb.accuracy = real_accuracy
    assert plates_checked and min(plates_checked) >= 4 / 0.04  # a loss of 0.04 is 4 plates


# 9. Third round: hostile files, numbers and names


def test_a_fifo_named_like_an_image_is_named_not_waited_on(tmp_path, tiny_checkpoint, capsys):
    import os as _os

    folder = tmp_path / "crops"
    folder.mkdir()
    _os.mkfifo(folder / "pipe.jpg")
    assert main(["predict", str(tiny_checkpoint), str(folder)]) == 1  # returns: no hang
    err = capsys.readouterr().err
    assert "pipe.jpg: not a regular file" in err
    with pytest.raises(UserError, match="not a regular file"):
        from plate_ocr.data.images import read_rgb

        read_rgb(folder / "pipe.jpg")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["synth", "--preview", "{tmp}/s.png", "--seed", "-1"], "--seed -1: use a whole number"),
        (["inspect", "{tmp}", "--seed", "-3"], "--seed -3: use a whole number"),
        (["audit", "{tmp}", "--top", "-3"], "--top -3: show at least 1"),
        (["synth", "{tmp}/out", "--size", "20000x60000"], "--size 20000x60000 is too large"),
        (["preview", "{tmp}/kept.png"], "kept.png exists: pass --force"),
        (["synth", "--preview", "{tmp}/kept.png"], "kept.png exists: pass --force"),
    ],
)
def test_verbs_refuse_bad_numbers_and_keep_existing_pictures(tmp_path, capsys, argv, words):
    kept = tmp_path / "kept.png"
    kept.write_bytes(b"an earlier picture")
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
    assert kept.read_bytes() == b"an earlier picture"


def test_an_empty_real_folder_setting_is_refused_not_trained_without(train_py, monkeypatch):
    monkeypatch.setenv("PLATE_OCR_REAL_DIR", "")
    one_line_exit_2(train_py(), "data.real_dir is empty (PLATE_OCR_REAL_DIR")


def test_one_checkpoint_listed_twice_is_not_reported_as_an_ensemble(
    tmp_path, tiny_checkpoint, run_script
):
    run = run_script(
        "evaluate.py",
        f"ckpt_path=[{tiny_checkpoint},{tiny_checkpoint}]",
        f"hydra.run.dir={tmp_path / 'report'}",
        "data.synthetic_test_size=4",
    )
    one_line_exit_2(run, "is listed 2 times: an ensemble needs different models")
    assert not (tmp_path / "report").exists()


def test_evaluate_checks_its_settings_from_the_same_schema(tmp_path, tiny_checkpoint, run_script):
    run = run_script(
        "evaluate.py",
        f"ckpt_path={tiny_checkpoint}",
        "data.batch_size=abc",
        f"hydra.run.dir={tmp_path / 'report'}",
    )
    one_line_exit_2(run, "data.batch_size=abc: use a whole number, 1 or more")


@pytest.mark.parametrize("row", ["../outside/12345611616.jpg", "{abs}"])
def test_labels_csv_names_only_files_inside_its_folder(tmp_path, write_crop, row):
    """A row naming ../x or an absolute path read an image from outside into training."""
    from plate_ocr.data.folder import scan_folder

    outside = write_crop(tmp_path / "outside" / "12345611616.jpg")
    folder = tmp_path / "crops"
    write_crop(folder / "0730011107.jpg")
    name = row.format(abs=outside)
    (folder / "labels.csv").write_text(
        f"filename,text\n0730011107.jpg,0730011107\n{name},12345611616\n"
    )
    scanned = scan_folder(folder)
    assert [p for p, _ in scanned.splits["train"] + scanned.splits["validation"]] == [
        folder / "0730011107.jpg"
    ]
    assert any(
        "outside" in p.reason and "list only its own files" in p.reason for p in scanned.problems
    )


def test_content_of_another_format_under_an_image_name_is_refused_undecoded(tmp_path):
    """A Radiance HDR named .png went past the header check, and OpenCV decoded it whole."""
    from plate_ocr.data.images import read_rgb

    hdr = tmp_path / "x.hdr"
    assert cv2.imwrite(str(hdr), np.ones((40, 120, 3), np.float32))
    disguised = tmp_path / "12345611616.png"
    hdr.rename(disguised)
    with pytest.raises(UserError, match="not JPEG, PNG, BMP, WebP or TIFF by its content"):
        read_rgb(disguised)


@pytest.mark.parametrize("key", ["init_from", "ckpt_path"])
def test_an_onnx_file_or_an_image_to_start_or_resume_from_is_not_a_checkpoint(
    tmp_path, train_py, tiny_checkpoint, write_crop, key
):
    """It quoted torch's advice to retry with weights_only=False, which is unsafe."""
    from plate_ocr.cli import main as cli

    onnx = tmp_path / "m.onnx"
    assert cli(["export", str(tiny_checkpoint), "--onnx", str(onnx), "--check-synthetic", "4"]) == 0
    image = write_crop(tmp_path / "12345611616.jpg")
    for path in (onnx, image):
        run = train_py(f"{key}={path}", folder=tmp_path / f"run-{path.suffix[1:]}")
        one_line_exit_2(run, "not a PyTorch checkpoint")
        assert "weights_only" not in run.stdout + run.stderr


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["synth", "{tmp}/out", "--train", "100000000000"], "--train must be from 0 to"),
        (["export", "--onnx", "{tmp}/m.onnx", "--int8", "--max-loss", "1e-7"], "--max-loss 1e-07"),
        (["audit", "{tmp}", "--folds", "2", "--epochs", "0"], "--epochs 0 --epoch-size"),
    ],
)
def test_counts_with_no_upper_bound_are_bounded(tmp_path, capsys, argv, words):
    """They set out to render 40 M check plates, or 1e11 images, or said max_epochs=0."""
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists() and not (tmp_path / "m.onnx").exists()


@pytest.mark.slow  # a process of its own, killed while it exports
def test_an_export_killed_with_sigterm_leaves_no_temporary_file(tmp_path, tiny_checkpoint):
    import signal as signals
    import subprocess
    import time as clock

    out = tmp_path / "m.onnx"
    command = [sys.executable, "-m", "plate_ocr.cli", "export", str(tiny_checkpoint),
               "--onnx", str(out), "--check-synthetic", "4000"]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = clock.time() + 60
    while not any(tmp_path.glob(".m.onnx.*")) and clock.time() < deadline:
        clock.sleep(0.05)
    process.send_signal(signals.SIGTERM)
    err = process.communicate(timeout=60)[1]
    assert process.returncode == 130 and "interrupted" in err, err
    assert list(tmp_path.iterdir()) == []  # no hidden temporary, no half a model


def test_an_unquoted_folder_name_beyond_ascii_says_to_quote_it(run_script, tmp_path):
    folder = tmp_path / "مجلد"
    run = run_script("train.py", f"data.real_dir={folder}", f"hydra.run.dir={tmp_path / 'r'}")
    one_line_exit_2(run, "quote it", f"PLATE_OCR_REAL_DIR={folder}")
    assert "LexerNoViableAltException" not in run.stderr


def test_evaluate_into_an_output_folder_it_cannot_make_is_one_line(
    tmp_path, tiny_checkpoint, run_script
):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder would go")
    run = run_script(
        "evaluate.py",
        f"ckpt_path={tiny_checkpoint}",
        f"paths.output_dir={blocker / 'report'}",
        f"hydra.run.dir={tmp_path / 'run'}",
        "data.synthetic_test_size=4",
    )
    one_line_exit_2(run, "paths.output_dir=", "cannot create it")
    assert not (tmp_path / "run").exists()
