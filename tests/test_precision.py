"""trainer.precision: bfloat16 on a GPU that computes it natively; float32 on CPUs."""

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

import plate_ocr.training  # noqa: F401  (registers the gpu_precision resolver)
from plate_ocr.model.precision import gpu_precision

CONF = Path(__file__).parents[1] / "conf"


@pytest.mark.parametrize(
    ("cuda", "bf16", "expected"),
    [(True, True, "bf16-mixed"), (True, False, "32-true"), (False, False, "32-true")],
)
def test_a_gpu_trains_in_bfloat16_only_where_it_is_native(monkeypatch, cuda, bf16, expected):
    """(True, False): a V100 or T4, which would emulate bfloat16 slowly."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: bf16)
    assert gpu_precision() == expected


def _trainer(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("train", overrides=list(overrides)).trainer


def test_cpu_trainers_stay_in_float32_and_an_override_wins():
    """bf16-mixed steps faster on this CPU but read no more in the same minutes (README)."""
    for trainer in ("default", "cpu", "debug"):
        assert _trainer(f"trainer={trainer}").precision == "32-true"
    # the opt-in the README gives, without Hydra's "+"
    assert _trainer("trainer=cpu", "trainer.precision=bf16-mixed").precision == "bf16-mixed"
    assert _trainer("trainer=gpu").precision == gpu_precision()
    assert _trainer("trainer=gpu", "trainer.precision=32-true").precision == "32-true"
