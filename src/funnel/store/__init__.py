"""The store: the only code that speaks SQL. Callers write `from funnel import store` and use
the names below (`store.leads(db)`, `store.write(db)`, `store.StoreError`); the modules behind
this face each hold one concern:

- `connection`: opening and probing a store file, the two-library lock, `write()` and the
  revisions every UI cache is keyed on, the audit trail;
- `migrations`: the schema, m001 to m004 in the order they run;
- `schema`: whether a store file is sound (its schema and its rows);
- `frames`: readers, the tables as typed Polars frames;
- `pipeline_writes`: pipelines, stages and deals; `records`: model versions, decisions,
  scenarios, sales' answers; `undo`: reverting the last change;
- `bulk`: the threaded bulk import engine, and the whole store replaced through it (the demo
  seed); `backups`: backup, restore and clear;
- `errors`: what can go wrong, in words the user can act on.

No module is named after a name of this face (`store.pipelines` and `store.backup` are
functions), so `from funnel.store import bulk` always gives the module; `store.migrations` is
the migration set itself, defined in `migrations`. A test that changes a module's setting or
wraps one of its functions (`bulk.IMPORT_PART_ROWS`, `records.audit`) changes it in that
module: a name re-exported here is a second binding, not the setting itself.
"""

from __future__ import annotations

from funnel.models import BANT
from funnel.store.backups import backup, backup_bytes, clear, file_problems, replace_from
from funnel.store.bulk import (
    alive,
    external_ids,
    import_deals,
    import_leads,
    import_targets,
    insert_frame,
    replace_data,
)
from funnel.store.connection import (
    answers_revision,
    audit,
    connect,
    db_file,
    default_path,
    held,
    leads_revision,
    opened,
    revision,
    schema_version,
    write,
)
from funnel.store.errors import (
    NotAFunnelStoreError,
    NothingToSaveError,
    StaleVersionError,
    StoreError,
    failure_message,
)
from funnel.store.frames import (
    COUNTED,
    answers_mark,
    answers_since,
    audit_log,
    counts,
    deals,
    decisions,
    holds_outside_data,
    last_data_date,
    lead_count,
    leads,
    model_versions,
    named_leads,
    pipelines,
    read_frame,
    sal_answers,
    scenarios,
    score_scales,
    stage_history,
    stages,
)
from funnel.store.migrations import migrations
from funnel.store.pipeline_writes import (
    clear_deal_probabilities,
    create_pipeline,
    delete_pipeline,
    import_stage_lists,
    move_deal,
    pipeline_version,
    rename_pipeline,
    save_stages,
    stage_list,
    stage_names,
)
from funnel.store.records import (
    half_life,
    latest_model_version,
    record_decision,
    record_sal,
    rules,
    save_model,
    save_scenario,
)
from funnel.store.schema import row_problems, schema_problems
from funnel.store.snapshot import Leads, derived, kept
from funnel.store.undo import last_change, undo_last, undo_target, undo_targets

__all__ = [
    "BANT",
    "COUNTED",
    "Leads",
    "NotAFunnelStoreError",
    "NothingToSaveError",
    "StaleVersionError",
    "StoreError",
    "alive",
    "answers_mark",
    "answers_revision",
    "answers_since",
    "audit",
    "audit_log",
    "backup",
    "backup_bytes",
    "clear",
    "clear_deal_probabilities",
    "connect",
    "counts",
    "create_pipeline",
    "db_file",
    "deals",
    "decisions",
    "default_path",
    "delete_pipeline",
    "derived",
    "external_ids",
    "failure_message",
    "file_problems",
    "half_life",
    "held",
    "holds_outside_data",
    "import_deals",
    "import_leads",
    "import_stage_lists",
    "import_targets",
    "insert_frame",
    "kept",
    "last_change",
    "last_data_date",
    "latest_model_version",
    "lead_count",
    "leads",
    "leads_revision",
    "migrations",
    "model_versions",
    "move_deal",
    "named_leads",
    "opened",
    "pipeline_version",
    "pipelines",
    "read_frame",
    "record_decision",
    "record_sal",
    "rename_pipeline",
    "replace_data",
    "replace_from",
    "revision",
    "row_problems",
    "rules",
    "sal_answers",
    "save_model",
    "save_scenario",
    "save_stages",
    "scenarios",
    "schema_problems",
    "schema_version",
    "score_scales",
    "stage_history",
    "stage_list",
    "stage_names",
    "stages",
    "undo_last",
    "undo_target",
    "undo_targets",
    "write",
]
