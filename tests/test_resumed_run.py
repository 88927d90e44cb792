from plate_ocr.resumed_run import with_saved_overrides


def _run_folder(tmp_path, *overrides):
    (tmp_path / ".hydra").mkdir(parents=True)
    (tmp_path / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    (tmp_path / "checkpoints").mkdir()
    return tmp_path / "checkpoints" / "last.ckpt"


def test_a_resumed_run_takes_its_own_settings_and_todays_win(tmp_path, capsys):
    last = _run_folder(
        tmp_path,
        "data.real_dir=/crops",
        "data.real_fold=2",
        "trainer.max_epochs=6",
        "hydra.run.dir=old",
        "ckpt_path=older.ckpt",
    )
    given = [f"ckpt_path={last}", "trainer.max_epochs=8"]
    assert with_saved_overrides(given) == ["data.real_dir=/crops", "data.real_fold=2", *given]
    assert "data.real_dir=/crops data.real_fold=2" in capsys.readouterr().err


def test_fresh_runs_multiruns_and_lone_checkpoints_are_left_alone(tmp_path):
    last = _run_folder(tmp_path, "data.real_fold=2")
    assert with_saved_overrides(["seed=1"]) == ["seed=1"]
    assert with_saved_overrides(["-m", f"ckpt_path={last}"]) == ["-m", f"ckpt_path={last}"]
    lone = [f"ckpt_path={tmp_path / 'elsewhere.ckpt'}"]
    assert with_saved_overrides(lone) == lone
    (tmp_path / ".hydra" / "overrides.yaml").write_bytes(b"\xff\xfe")  # damaged: ignored
    assert with_saved_overrides([f"ckpt_path={last}"]) == [f"ckpt_path={last}"]
