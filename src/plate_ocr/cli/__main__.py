"""``python -m plate_ocr.cli VERB ...``, the same as ``plate-ocr VERB ...``."""

import sys

from plate_ocr.cli import main

sys.exit(main())
