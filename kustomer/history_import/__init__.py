"""The history import: past conversations copied into the mirror as history, never through the pipelines."""

from .copying import history_import_run
from .runs import (
    ImportRefused,
    import_busy,
    import_range_check,
    import_run_claim,
    import_run_enqueue,
    import_run_get_or_create,
    import_runs_queue,
    import_runs_stop,
    import_summary,
)

__all__ = [
    "ImportRefused",
    "history_import_run",
    "import_busy",
    "import_range_check",
    "import_run_claim",
    "import_run_enqueue",
    "import_run_get_or_create",
    "import_runs_queue",
    "import_runs_stop",
    "import_summary",
]
