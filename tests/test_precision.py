"""trainer.precision: bfloat16 where it pays and the device computes it natively."""

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

import plate_ocr.training  # noqa: F401  (registers the native_precision resolver)
from plate_ocr.model import precision
from plate_ocr.model.precision import native_precision

CONF = Path(__file__).parents[1] / "conf"


@pytest.mark.parametrize(
    ("cuda", "bf16", "expected"),
    [(True, True, "bf16-mixed"), (True, False, "32-true"), (False, False, "32-true")],
)
def test_a_gpu_trains_in_bfloat16_only_where_it_is_native(monkeypatch, cuda, bf16, expected):
    """(True, False): a V100 or T4, which would emulate bfloat16 slowly."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: bf16)
    monkeypatch.setattr(precision, "_cpu_computes_bfloat16", lambda: False)
    assert native_precision("gpu") == expected
    assert native_precision("auto") == expected  # auto picks the GPU when there is one


@pytest.mark.parametrize("native", [True, False])
def test_a_cpu_trains_in_bfloat16_only_where_it_is_native(monkeypatch, native):
    """A CPU without AVX512-BF16 or AMX would emulate bfloat16, slower than float32."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # trainer=cpu beside a GPU
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: not native)
    monkeypatch.setattr(precision, "_cpu_computes_bfloat16", lambda: native)
    assert native_precision("cpu") == ("bf16-mixed" if native else "32-true")


def _trainer(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("train", overrides=list(overrides)).trainer


def test_the_default_network_trains_in_float32_on_a_cpu_and_an_override_wins():
    """bf16-mixed ran the default 1.3x faster on this CPU and read a little less."""
    for trainer in ("default", "cpu", "debug"):
        assert _trainer(f"trainer={trainer}").precision == "32-true"
    assert _trainer("trainer=cpu", "trainer.precision=bf16-mixed").precision == "bf16-mixed"
    assert _trainer("trainer=gpu").precision == native_precision("gpu")
    assert _trainer("trainer=gpu", "trainer.precision=32-true").precision == "32-true"


@pytest.mark.parametrize("model", ["crnn_base", "crnn_large"])
def test_the_larger_networks_train_in_bfloat16_where_it_is_native(model):
    assert _trainer(f"model={model}").precision == native_precision("auto")
    assert _trainer(f"model={model}", "trainer=cpu").precision == native_precision("cpu")
    assert _trainer(f"model={model}", "trainer.precision=32-true").precision == "32-true"
    assert _trainer("model=crnn_small_bilstm").precision == "32-true"
