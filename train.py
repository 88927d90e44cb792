"""Train a plate reader: python train.py [group=option ...] [key=value ...] (see conf/)."""

import logging
import sys

import hydra
from omegaconf import DictConfig

from plate_ocr.errors import user_error
from plate_ocr.training import train


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float:
    try:
        return train(cfg)
    except Exception as error:
        cause = user_error(error)
        if cause is None:
            raise  # a bug: the traceback is wanted
        logging.getLogger("train").error("%s", cause)
        sys.exit(2)


if __name__ == "__main__":
    main()
