"""The ``plate-ocr`` console script: one verb per job a plate-OCR user does by hand.

One thin module per verb in this package, each with ``add_arguments(parser)`` and
``run(args) -> int``, over the library; library modules never import from here. Only the
chosen verb's module is imported, so ``plate-ocr inspect`` does not pay for the training
stack.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from plate_ocr import __version__
from plate_ocr.errors import UserError, sigterm_as_ctrl_c

VERBS = {
    "synth": ("plate_ocr.cli.synth", "render synthetic plates to disk, or a preview sheet"),
    "inspect": ("plate_ocr.cli.inspect", "check a folder of real crops and summarise it"),
    "audit": ("plate_ocr.cli.audit", "rank the crops of a folder whose labels look wrong"),
    "preview": ("plate_ocr.cli.preview", "write a grid of augmented samples per source"),
    "predict": ("plate_ocr.cli.predict", "read plates from image files with a checkpoint or ONNX"),
    "calibrate": (
        "plate_ocr.cli.calibrate",
        "fit a model's confidence on real crops it never trained on",
    ),
    "export": ("plate_ocr.cli.export", "export a checkpoint to ONNX and check it"),
    "sweep-report": ("plate_ocr.cli.sweep_report", "summarise a Hydra multirun, best first"),
}


class _WithDefaults(argparse.HelpFormatter):
    """Each option's default in its help, where the help does not already say it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        given = action.default not in (None, False, argparse.SUPPRESS, [])
        if action.option_strings and given and "default" not in text:
            text += " (default: %(default)s)"
        return text


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="plate-ocr", description="Plate-OCR by hand: one verb per job."
    )
    parser.add_argument("--version", action="version", version=f"plate-ocr {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    chosen = None
    for name, (module_name, help_text) in VERBS.items():
        sub = verbs.add_parser(
            name, help=help_text, description=help_text, formatter_class=_WithDefaults
        )
        if argv and argv[0] == name:
            module = importlib.import_module(module_name)
            module.add_arguments(sub)
            sub.set_defaults(run=module.run, verb=name)
            chosen = sub
    # A verb's options may come between its positionals (`preview OUT --real-dir D KEY=VALUE`);
    # without one (--version, --help, no or an unknown verb) the top parser answers.
    args = parser.parse_args(argv) if chosen is None else chosen.parse_intermixed_args(argv[1:])
    try:
        with sigterm_as_ctrl_c():  # its temporary files are removed either way
            return args.run(args)
    except UserError as error:
        print(f"plate-ocr {args.verb}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"plate-ocr {args.verb}: interrupted; nothing half-written is left", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
