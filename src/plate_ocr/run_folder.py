"""What a run leaves in its output folder, by name: written by training and by the entry
points, read by sweep summaries."""

from pathlib import Path

from plate_ocr.errors import UserError

METRICS_FILE = "metrics.json"  # a finished run's metrics, settings and best checkpoint
FAILED_FILE = "FAILED"  # in a multirun job's folder: why the job failed
REPORT_JSON = "report.json"  # an evaluation's scores per source


def output_folder(folder: str | Path, key: str = "paths.output_dir=") -> Path:
    """An output folder (``key``: how the user named it), made before any work: one that
    cannot be made failed only at the end of a training or an audit, or in a traceback."""
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(
            f"{key}{path}: cannot create it ({error.strerror or error}); choose a writable folder"
        ) from None
    return path
