"""trainer.precision: bfloat16 only where the accelerator computes it natively."""

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

import plate_ocr.training  # noqa: F401  (registers the fastest_precision resolver)
from plate_ocr.model import precision
from plate_ocr.model.precision import fastest_precision

CONF = Path(__file__).parents[1] / "conf"


@pytest.fixture
def machine(monkeypatch):
    """Set what the CPU and the GPU can do: machine(cpu_bf16=..., cuda=..., cuda_bf16=...)."""

    def set_machine(cpu_bf16: bool, cuda: bool = False, cuda_bf16: bool = False) -> None:
        monkeypatch.setattr(precision, "cpu_has_bfloat16", lambda: cpu_bf16)
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: cuda_bf16)

    return set_machine


def test_a_cpu_trains_in_bfloat16_only_with_native_instructions(machine):
    machine(cpu_bf16=True)
    assert fastest_precision("cpu") == fastest_precision("auto") == "bf16-mixed"
    machine(cpu_bf16=False)  # an AVX2 laptop: emulated bfloat16 would be slower
    assert fastest_precision("cpu") == fastest_precision("auto") == "32-true"
    assert fastest_precision("mps") == "32-true"


def test_auto_follows_the_gpu_when_there_is_one(machine):
    machine(cpu_bf16=False, cuda=True, cuda_bf16=True)
    assert fastest_precision("auto") == fastest_precision("gpu") == "bf16-mixed"
    machine(cpu_bf16=True, cuda=True, cuda_bf16=False)  # e.g. a V100: no bfloat16
    assert fastest_precision("auto") == fastest_precision("gpu") == "32-true"
    assert fastest_precision("cpu") == "bf16-mixed"


def test_this_cpu_answers_without_error():
    assert precision.cpu_has_bfloat16() in (True, False)


@pytest.mark.parametrize(
    ("trainer", "accelerator"), [("default", "auto"), ("cpu", "cpu"), ("gpu", "gpu")]
)
def test_trainer_configs_resolve_it_and_an_override_wins(trainer, accelerator):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        chosen = compose("train", overrides=[f"trainer={trainer}"])
        forced = compose("train", overrides=[f"trainer={trainer}", "trainer.precision=32-true"])
    assert chosen.trainer.precision == fastest_precision(accelerator)
    assert forced.trainer.precision == "32-true"
