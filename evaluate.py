"""Score a checkpoint: python evaluate.py ckpt_path=PATH [data.real_dir=DIR] [data.real_split=S].

ckpt_path=[PATH,PATH,...] scores an ensemble of them.
"""

import sys

import hydra
from omegaconf import DictConfig

from plate_ocr.entry import checked_arguments, run_entry


@hydra.main(version_base="1.3", config_path="conf", config_name="eval")
def main(cfg: DictConfig) -> None:
    from plate_ocr.evaluation import evaluate  # here: --help need not load torch

    run_entry(evaluate, cfg, "evaluate")


if __name__ == "__main__":
    sys.argv[1:] = checked_arguments(sys.argv[1:])
    main()
