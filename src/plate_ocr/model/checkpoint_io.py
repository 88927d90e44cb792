"""How Lightning writes checkpoints here: apart from loading them (``checkpoint``), which a
reader does without Lightning's import cost."""

from __future__ import annotations

from lightning_fabric.plugins import TorchCheckpointIO

from plate_ocr.atomic import replacing
from plate_ocr.errors import UserError


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written whole or not at all: to a temporary file, then renamed over the
    old one, so a full disk or a kill mid-write never leaves a truncated ``last.ckpt``."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        weights = checkpoint.get("state_dict", {})
        broken = [k for k, v in weights.items() if v.is_floating_point() and not v.isfinite().all()]
        if broken:  # a diverged network is never saved as if it were a result
            raise UserError(
                f"the weights are no longer finite ({broken[0]}, ...): the run diverged and "
                "nothing is saved; lower model.optimizer.lr"
            )
        with replacing(path) as temporary:
            super().save_checkpoint(checkpoint, temporary, storage_options)
