"""Score a checkpoint: python evaluate.py ckpt_path=PATH [data.real_dir=DIR] [data.real_split=S]."""

import logging
import sys

import hydra
from omegaconf import DictConfig

from plate_ocr.errors import user_error
from plate_ocr.evaluation import evaluate


@hydra.main(version_base="1.3", config_path="conf", config_name="eval")
def main(cfg: DictConfig) -> None:
    try:
        evaluate(cfg)
    except Exception as error:
        cause = user_error(error)
        if cause is None:
            raise  # a bug: the traceback is wanted
        logging.getLogger("evaluate").error("%s", cause)
        sys.exit(2)


if __name__ == "__main__":
    main()
