"""What a run leaves in its output folder, by name: written by training and by the entry
points, read by sweep summaries."""

METRICS_FILE = "metrics.json"  # a finished run's metrics, settings and best checkpoint
FAILED_FILE = "FAILED"  # in a multirun job's folder: why the job failed
REPORT_JSON = "report.json"  # an evaluation's scores per source
