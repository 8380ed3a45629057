"""A CRM export (CSV or XLSX) -> a validated frame of our fields + a report, then one commit.

Why this shape: a user's file is read once, as text only (every column a string), so nothing is
guessed behind their back; each of our fields is then parsed with vectorised Polars expressions
that also say, row by row, why a value was refused. The dry run is that validation; the commit
writes the validated frame in one transaction (`store.import_leads` / `store.import_deals`), so a
rejected file leaves the store exactly as it was.

This module is the face of the package: `importers.read_table`, `importers.validate`,
`importers.import_bytes` and the records keep their names whichever room they live in.
`read` reads a file (`csv_file` a CSV in bounded steps, `table` the limits and checks every
table passes), `mapping` suggests which column is which field,
`report` holds what a dry run was asked and found, `parse` the cell parsers, `stage_plan` how
deal stages meet a pipeline, `stage_history` the days deals entered them, `validate` the dry run
and `commit` the write.

>>> raw = read_table(b"Lead ID,Create Date\\nL1,2026-11-02\\n", name="leads.csv")
>>> suggest_mapping(raw.columns, "leads")
{'external_id': 'Lead ID', 'created': 'Create Date'}
"""

from funnel.importers.commit import commit, import_bytes, import_path
from funnel.importers.mapping import FIELDS, PRESETS, Kind, detect_preset, preset_note, suggest_mapping
from funnel.importers.parse import LIFECYCLE_RULE, one_sided_outcomes, parse_range, price_list
from funnel.importers.read import read_path, read_table
from funnel.importers.report import (
    DateOrder,
    Options,
    Prepared,
    Report,
    StagePlan,
    UnknownStages,
    plural,
)
from funnel.importers.stage_history import history_file
from funnel.importers.stage_plan import (
    MAX_NEW_STAGES,
    NO_VALUE_COLUMN,
    parse_stage_order,
    pipeline_id,
    pipeline_ids,
    pipeline_stage_names,
    stage_kind,
    stage_lists,
    stages_from_names,
    typical_order,
)
from funnel.importers.table import (
    LIMITS,
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    MAX_FILE_MB,
    MAX_LINE_MB,
    MAX_ROWS,
    MAX_SHEET_ROWS,
    MAX_UPLOAD_MB,
    MAX_XLSX_EXPANDED_MB,
    MB,
    Cells,
    ImportRejectedError,
    RawTable,
)
from funnel.importers.validate import Progress, scores_only, validate

__all__ = [
    "FIELDS",
    "LIFECYCLE_RULE",
    "LIMITS",
    "MAX_CELL_CHARS",
    "MAX_COLUMNS",
    "MAX_FILE_MB",
    "MAX_LINE_MB",
    "MAX_NEW_STAGES",
    "MAX_ROWS",
    "MAX_SHEET_ROWS",
    "MAX_UPLOAD_MB",
    "MAX_XLSX_EXPANDED_MB",
    "MB",
    "NO_VALUE_COLUMN",
    "PRESETS",
    "Cells",
    "DateOrder",
    "ImportRejectedError",
    "Kind",
    "Options",
    "Prepared",
    "Progress",
    "RawTable",
    "Report",
    "StagePlan",
    "UnknownStages",
    "commit",
    "detect_preset",
    "history_file",
    "import_bytes",
    "import_path",
    "one_sided_outcomes",
    "parse_range",
    "parse_stage_order",
    "pipeline_id",
    "pipeline_ids",
    "pipeline_stage_names",
    "plural",
    "preset_note",
    "price_list",
    "read_path",
    "read_table",
    "scores_only",
    "stage_kind",
    "stage_lists",
    "stages_from_names",
    "suggest_mapping",
    "typical_order",
    "validate",
]
