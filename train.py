"""Train a plate reader: python train.py [group=option ...] [key=value ...] (see conf/)."""

import logging
import sys

import hydra
from omegaconf import DictConfig

from plate_ocr.errors import UserError
from plate_ocr.training import train


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float:
    try:
        return train(cfg)
    except UserError as error:
        logging.getLogger("train").error("%s", error)
        sys.exit(2)


if __name__ == "__main__":
    main()
