"""Train a plate reader: python train.py [group=option ...] [key=value ...] (see conf/)."""

import sys

import hydra
from omegaconf import DictConfig

from plate_ocr.entry import checked_arguments, run_entry
from plate_ocr.resumed_run import with_saved_overrides


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float:
    from plate_ocr.training import train  # here: --help need not load Lightning

    return run_entry(train, cfg, "train")


if __name__ == "__main__":
    sys.argv[1:] = with_saved_overrides(checked_arguments(sys.argv[1:]))
    main()
