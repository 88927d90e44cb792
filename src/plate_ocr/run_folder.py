"""What a run leaves in its output folder, by name: written by training and by the entry
points, read by sweep summaries."""

from pathlib import Path

from plate_ocr.errors import UserError

METRICS_FILE = "metrics.json"  # a finished run's metrics, settings and best checkpoint
FAILED_FILE = "FAILED"  # in a multirun job's folder: why the job failed
REPORT_JSON = "report.json"  # an evaluation's scores per source


def output_folder(folder: str | Path) -> Path:
    """``paths.output_dir``, made before any work: one that cannot be made failed only at
    the end of a training, or in a traceback."""
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(
            f"paths.output_dir={path}: cannot create it ({error.strerror or error}); "
            "choose a writable folder"
        ) from None
    return path
