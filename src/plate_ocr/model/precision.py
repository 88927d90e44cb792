"""The precision a run trains at where bfloat16 pays: bf16-mixed where the device computes it.

``trainer=gpu`` and the larger networks (``model=crnn_base``, ``crnn_large``) train in
bf16-mixed where the GPU or CPU computes bfloat16 natively (GPUs from the A100 on; CPUs with
AVX512-BF16 or AMX), several times faster; where it would be emulated (a V100 or T4, older
CPUs) it is slower than float32, so they train in float32 there. The default network stays in
float32 on a CPU: bf16-mixed saves it less and read a little less (docs/results.md).
``trainer.precision=...`` overrides either.
"""

from __future__ import annotations

import torch


def _cpu_computes_bfloat16() -> bool:
    cpu = torch.cpu  # private probes: a torch without them is taken to have no native bf16
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(cpu, probe, lambda: False)() for probe in probes)


def native_precision(accelerator: str = "auto") -> str:
    """``bf16-mixed`` where the device Lightning picks for ``accelerator`` (auto: a GPU when
    there is one, else the CPU) computes bfloat16 natively, else ``32-true``."""
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    if on_gpu:
        native = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    else:
        native = _cpu_computes_bfloat16()
    return "bf16-mixed" if native else "32-true"
