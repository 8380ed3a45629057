"""The Streamlit side every page shares: `import ui`, then `ui.X`.

frames.py: which store is open and the frames read from it, cached on its revisions (read once
per run); mql_view.py: the MQL page's frames for one filter, which sales' answers move in
place; messages.py: text from users and files escaped, errors as their sentence; widgets.py:
column configs, confirmations, choices, progress, and `attempt`, the one way a page writes;
shell.py: the run through app.py, the sidebar, who signs; warm.py: the warm-up serve.py runs
at start, filling the caches the pages' first open reads.

A page's big sections live beside them, one module each, named for what it holds and imported
by the page itself (`from ui.sal_queue import sal_queue`), not through this face: importing.py
and restoring.py (Data), scoring_model.py, sal_queue.py and cutoff_decisions.py (MQL),
stage_editor.py, pipeline_admin.py and period_figures.py (Stages), what_if.py (Forecast).
"""

from ui.frames import (
    Model,
    backtest_leads,
    backtested,
    checked,
    connection,
    data_health,
    db_path,
    deals,
    explained,
    failures_explained,
    lead,
    measured,
    model,
    points_fit,
    revision,
    score_scales,
    scored_leads,
    scored_with,
    slider_steps,
    stage_history,
    stages,
)
from ui.messages import as_text, show_error
from ui.mql_view import filter_options, mql_figures, mql_queue
from ui.shell import WHO_COOKIE, cookie_script, run_page, sidebar, through_app, who
from ui.warm import warm_up
from ui.widgets import (
    CORE_ERRORS,
    Done,
    attempt,
    choice,
    column_config,
    confirm_dialog,
    pick,
    progress,
    session,
    show_report,
    show_toast,
)

__all__ = [
    "CORE_ERRORS",
    "WHO_COOKIE",
    "Done",
    "Model",
    "as_text",
    "attempt",
    "backtest_leads",
    "backtested",
    "checked",
    "choice",
    "column_config",
    "confirm_dialog",
    "connection",
    "cookie_script",
    "data_health",
    "db_path",
    "deals",
    "explained",
    "failures_explained",
    "filter_options",
    "lead",
    "measured",
    "model",
    "mql_figures",
    "mql_queue",
    "pick",
    "points_fit",
    "progress",
    "revision",
    "run_page",
    "score_scales",
    "scored_leads",
    "scored_with",
    "session",
    "show_error",
    "show_report",
    "show_toast",
    "sidebar",
    "slider_steps",
    "stage_history",
    "stages",
    "through_app",
    "warm_up",
    "who",
]
