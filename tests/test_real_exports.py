"""Golden figures on exports in the shapes real CRMs write (tests/corpus/real/).

Each file is imported the way a new user would, then every figure a page shows is checked
against an independent computation written plainly in Polars on the file itself, not through
the app's functions.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from streamlit.testing.v1 import AppTest

from funnel import clock, exports, importers, scales, sheets, stages, store
from tests.conftest import ROOT, open_page
from tests.test_mql_page import PAGE as MQL_PAGE
from tests.test_mql_page import metric

pytestmark = pytest.mark.dates

REAL = ROOT / "tests" / "corpus" / "real"
CONTACTS = REAL / "hubspot_contacts_scores.csv"


def contacts_mapping() -> dict[str, str]:
    """The suggested mapping of the HubSpot contacts export, plus its outcome column."""
    raw = importers.read_table(CONTACTS.read_bytes(), CONTACTS.name)
    return {**importers.suggest_mapping(raw.frame.columns, "leads"), "outcome": "Lead Status"}


def import_contacts(db_path: Path) -> importers.Report:
    options = importers.Options(contacts_mapping())
    with store.opened(db_path) as db:
        report = importers.import_bytes(db, CONTACTS.read_bytes(), "leads", CONTACTS.name, options)
    assert report.committed, report.text()
    return report


def contacts() -> pl.DataFrame:
    """The file as a spreadsheet reads it: empty score cells are nulls."""
    scores = {"Fit Score": pl.Float64, "Engagement Score": pl.Float64}
    return pl.read_csv(CONTACTS, schema_overrides=scores)


@pytest.fixture
def contacts_app(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import_contacts(db_path)
    monkeypatch.setenv("FUNNEL_DB", str(db_path))
    monkeypatch.chdir(ROOT)
    return db_path


def test_the_import_report_counts_the_contacts_that_will_have_no_score(db_path: Path) -> None:
    file = contacts()
    unscored = file.filter(pl.col("Fit Score").is_null() | pl.col("Engagement Score").is_null())
    assert unscored.height == 26  # of 60: 43 %, as in a real export with a partial score column
    report = import_contacts(db_path)
    assert (
        f"{unscored.height} leads of {file.height} will have no score ('Fit Score' / "
        "'Engagement Score' empty, and no value in any field the scoring rules read)"
    ) in " ".join(report.warnings)
    assert any("saves one with no rules (v1)" in n for n in report.notes)


def test_a_store_of_ready_made_scores_opens_on_the_mql_page_with_its_golden_figures(
    contacts_app: Path,
) -> None:
    at = open_page(MQL_PAGE, {"F": "50", "I": "50"})
    assert not any("no scoring model yet" in i.value for i in at.info)
    assert not at.error
    file = contacts().rename({"Fit Score": "fit", "Engagement Score": "interest"})
    scored = file.filter(pl.col("fit").is_not_null() & pl.col("interest").is_not_null())
    known = scored.filter(pl.col("Lead Status").is_in(["Customer", "Lost"]))
    mql = (pl.col("fit") >= 50) & (pl.col("interest") >= 50)
    won = pl.col("Lead Status") == "Customer"
    mqls, known_mqls = scored.filter(mql), known.filter(mql)
    conversions, kept = known.filter(won).height, known_mqls.filter(won).height
    unscored = file.height - scored.height
    assert [i.value for i in at.info if "no score" in i.value] == [
        f"{unscored} of {file.height} leads have no score: left out of these figures."
    ]
    health = f"Data health: {unscored} of {file.height} leads have no score."
    assert health in [c.value for c in at.caption]
    assert metric(at, "MQLs") == str(mqls.height)
    note = next(m.delta for m in at.metric if m.label == "MQLs")
    assert note == f"{mqls.height / scored.height:.1%} of {scored.height} scored leads"
    assert metric(at, "Conversion in MQLs") == f"{kept / known_mqls.height:.1%}"
    assert metric(at, "Conversions kept") == f"{kept / conversions:.1%}"
    base = conversions / known.height
    assert metric(at, "Lift") == f"{kept / known_mqls.height / base:.2f}×"
    assert metric(at, "Conversions lost") == str(conversions - kept)
    assert any(
        c.value.startswith(f"Back-test on the {known.height} scored leads with a known outcome")
        for c in at.caption
    )
    # Nobody without a score in the file is offered to sales.
    offered = at.selectbox(key="mql_sal_lead").options
    assert len(offered) == mqls.height


def test_the_explainer_says_a_lead_has_no_score_in_the_file(contacts_app: Path) -> None:
    at = open_page(MQL_PAGE)
    first_unscored = contacts().with_row_index("id", offset=1).filter(pl.col("Fit Score").is_null())
    at.number_input(key="mql_explain_lead").set_value(int(first_unscored["id"][0])).run()
    assert not at.exception, at.exception
    assert any(t.value.startswith("No score in the file") for t in at.text)


def test_the_leads_export_writes_an_empty_cell_for_an_unscored_lead(contacts_app: Path) -> None:
    with store.opened(contacts_app) as db:
        table, _ = exports.leads_table(db, clock.today())
    exported = pl.read_csv(sheets.to_csv(table), schema_overrides={"fit": pl.Float64})
    file = contacts()
    empty = file.filter(pl.col("Fit Score").is_null() | pl.col("Engagement Score").is_null())
    ids = empty["Record ID"].cast(pl.String).implode()
    unscored = exported.filter(pl.col("external_id").cast(pl.String).is_in(ids))
    assert unscored.height == empty.height
    assert unscored["fit"].null_count() == unscored.height
    assert unscored["interest"].null_count() == unscored.height
    assert unscored["quadrant"].null_count() == unscored.height
    assert not unscored["mql"].any()


def test_an_app_test_smoke_of_every_page_on_the_contacts_store(contacts_app: Path) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    for page in ("pages/stages.py", "pages/mql.py", "pages/forecast.py", "pages/data.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)


OPPORTUNITIES = REAL / "salesforce_opportunities.csv"


def opportunities() -> pl.DataFrame:
    """The Salesforce export as a spreadsheet reads it, amounts as numbers."""
    file = pl.read_csv(OPPORTUNITIES)
    return file.with_columns(pl.col("Amount").str.replace_all(",", "").cast(pl.Float64))


def import_opportunities(db_path: Path, pipeline: str = "From Salesforce") -> importers.Report:
    raw = importers.read_table(OPPORTUNITIES.read_bytes(), OPPORTUNITIES.name)
    options = importers.Options(
        importers.suggest_mapping(raw.frame.columns, "deals"),
        stages=importers.StagePlan(unknown="create", new_pipeline=pipeline),
    )
    with store.opened(db_path) as db:
        report = importers.import_bytes(db, OPPORTUNITIES.read_bytes(), "deals", "sf.csv", options)
    assert report.committed, report.text()
    return report


@pytest.fixture
def opportunities_app(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import_opportunities(db_path)
    monkeypatch.setenv("FUNNEL_DB", str(db_path))
    monkeypatch.chdir(ROOT)
    return db_path


def health_as_of_today(line: str | None, db_path: Path) -> str | None:
    """The health line `line` (None: none) as the page words it on the clock's day: when every
    closed deal of the file closed before the last 8 full quarters (these files are of 2026;
    `make test` also runs on 2031-01-01), the line adds that they are outside today's windows."""
    with store.opened(db_path) as db:
        closed = store.deals(db).get_column("closed_at").drop_nulls()
    today = clock.today()
    months = today.year * 12 + 3 * ((today.month - 1) // 3) - 24  # 8 quarters before this one
    start = date(months // 12, months % 12 + 1, 1)
    if closed.is_empty() or closed.max() >= start:
        return line
    note = (
        f"all {closed.len()} closed deals closed before {start.year} Q{(start.month - 1) // 3 + 1}, "
        "outside today's baseline windows"
    )
    return f"{line.removesuffix('.')}; {note}." if line else f"Data health: {note}."


def health_lines(at: AppTest) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith("Data health")]


def stages_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/stages.py").run()
    assert not at.exception, at.exception
    return at


def test_salesforce_opportunities_without_history_golden_figures_on_the_stages_page(
    opportunities_app: Path,
) -> None:
    at = stages_page()
    file = opportunities()
    won = file.filter(pl.col("Stage") == "Closed Won")
    lost = file.filter(pl.col("Stage") == "Closed Lost")
    open_ = file.filter(~pl.col("Stage").is_in(["Closed Won", "Closed Lost"]))
    weighted = open_.select((pl.col("Amount") * pl.col("Probability (%)") / 100).sum()).item()
    figures = {m.label: m.value for m in at.metric}
    assert figures["Closed won"] == f"${won['Amount'].sum():,.0f}"
    assert figures["Open pipeline"] == f"${open_['Amount'].sum():,.0f}"
    assert figures["Weighted pipeline"] == f"${weighted:,.0f}"
    closed = won.height + lost.height
    line = next(i.value for i in at.info if i.value.startswith("Overall win rate"))
    assert line.startswith(
        f"Overall win rate {won.height / closed:.1%} ({won.height} won of {closed} closed deals). "
        "No closed deal has stage history"
    )
    health = f"Data health: {closed} of {closed} closed deals have no stage history."
    assert health_lines(at) == [health_as_of_today(health, opportunities_app)]
    # Nothing measured, nothing to adopt: no open stage reads 100 %.
    assert at.button(key="stages_adopt_all").disabled
    learned = next(d.value for d in at.dataframe if "empirical" in d.value.columns)
    assert learned["empirical"].isna().all()
    assert learned["n"].tolist() == [0] * len(learned)


HUBSPOT_DEALS = REAL / "hubspot_deals.csv"


def hubspot_deals() -> pl.DataFrame:
    """The HubSpot deals export; Polars keeps the doubled quotes of a quoted header, undone here."""
    file = pl.read_csv(HUBSPOT_DEALS, schema_overrides={"Amount": pl.Float64})
    return file.rename(lambda c: c.replace('""', '"'))


@pytest.fixture
def hubspot_deals_app(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    raw = importers.read_table(HUBSPOT_DEALS.read_bytes(), HUBSPOT_DEALS.name)
    options = importers.Options(
        importers.suggest_mapping(raw.frame.columns, "deals"),
        stages=importers.StagePlan(unknown="create", new_pipeline="Sales Pipeline"),
    )
    with store.opened(db_path) as db:
        report = importers.import_bytes(db, HUBSPOT_DEALS.read_bytes(), "deals", "hs.csv", options)
    assert report.committed, report.text()
    monkeypatch.setenv("FUNNEL_DB", str(db_path))
    monkeypatch.chdir(ROOT)
    return db_path


def test_hubspot_deals_open_deals_without_a_value_are_counted_and_can_be_valued_at_the_median(
    hubspot_deals_app: Path,
) -> None:
    at = stages_page()
    file = hubspot_deals()
    closed = pl.col("Deal Stage").is_in(["Closed Won", "Closed Lost"])
    open_ = file.filter(~closed)
    unvalued = open_.filter(pl.col("Amount").is_null()).height
    assert unvalued == 7
    figures = {m.label: m.value for m in at.metric}
    assert figures["Open pipeline"] == f"${open_['Amount'].sum():,.0f}"
    # Its Date entered columns are the history: only the missing values limit the figures.
    health = f"Data health: {unvalued} of {open_.height} open deals have no value."
    assert health_lines(at) == [health_as_of_today(health, hubspot_deals_app)]
    assert any(
        c.value.startswith(f"{unvalued} open deals have no value: counted as deals, as $0")
        for c in at.caption
    )
    median = file.filter(pl.col("Deal Stage") == "Closed Won")["Amount"].median()
    assert isinstance(median, float)
    at.radio(key="stages_fill").set_value("median").run()
    assert not at.exception, at.exception
    filled = open_["Amount"].fill_null(median).sum()
    assert {m.label: m.value for m in at.metric}["Open pipeline"] == f"${filled:,.0f}"
    assert any(f"median won value of this pipeline, ${median:,.0f}" in c.value for c in at.caption)
    # The stages come in funnel order, not in the order the file first names them.
    with store.opened(hubspot_deals_app) as db:
        names = [s.name for s in store.stage_list(db, 1)]
    assert names == [
        "Appointment Scheduled",
        "Qualified To Buy",
        "Presentation Scheduled",
        "Decision Maker Bought-In",
        "Contract Sent",
        "Closed Won",
        "Closed Lost",
    ]


HUBSPOT_STAGES = [
    "Appointment Scheduled",
    "Qualified To Buy",
    "Presentation Scheduled",
    "Decision Maker Bought-In",
    "Contract Sent",
    "Closed Won",
]


def test_hubspot_date_entered_columns_are_the_stage_history_the_probabilities_learn_from(
    hubspot_deals_app: Path,
) -> None:
    at = stages_page()
    file = hubspot_deals().filter(pl.col("Deal Stage").is_in(["Closed Won", "Closed Lost"]))
    entered = [f'Date entered "{s} (Sales Pipeline)"' for s in HUBSPOT_STAGES]
    # Furthest stage each closed deal entered (Closed Lost aside): it got past every one before.
    furthest = file.select(
        pl.col("Deal Stage"),
        pl.max_horizontal(
            pl.when(pl.col(c).is_not_null()).then(pl.lit(i)) for i, c in enumerate(entered)
        ).alias("furthest"),
    )
    won = file.filter(pl.col("Deal Stage") == "Closed Won").height
    line = next(i.value for i in at.info if i.value.startswith("Overall win rate"))
    assert line == (
        f"Overall win rate {won / file.height:.1%} ({won} won of {file.height} closed deals). "
        f"{file.height} of {file.height} closed deals have stage history: per-stage rates are "
        "measured on all of them."
    )
    learned = next(d.value for d in at.dataframe if "empirical" in d.value.columns)
    for i, stage in enumerate(HUBSPOT_STAGES[:5]):
        reached = furthest.filter(pl.col("furthest") >= i)
        n, wins = reached.height, reached.filter(pl.col("Deal Stage") == "Closed Won").height
        row = learned[learned["stage"] == stage].iloc[0]
        assert (row["n"], row["won"]) == (n, wins), stage
        assert row["empirical"] == pytest.approx(wins / n * 100), stage
    assert not at.button(key="stages_adopt_all").disabled


OPPORTUNITY_HISTORY = REAL / "salesforce_opportunity_history.csv"
SALESFORCE_OPEN = [
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
]


@pytest.fixture
def opportunities_with_history_app(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    raw = importers.read_table(OPPORTUNITIES.read_bytes(), OPPORTUNITIES.name)
    history = importers.read_table(OPPORTUNITY_HISTORY.read_bytes(), OPPORTUNITY_HISTORY.name)
    options = importers.Options(
        importers.suggest_mapping(raw.frame.columns, "deals"),
        stages=importers.StagePlan(unknown="create", new_pipeline="From Salesforce"),
    )
    with store.opened(db_path) as db:
        prepared = importers.validate(db, raw, "deals", options, history=history)
        assert importers.commit(db, prepared).committed
    monkeypatch.setenv("FUNNEL_DB", str(db_path))
    monkeypatch.chdir(ROOT)
    return db_path


def test_salesforce_history_file_golden_probabilities_and_time_in_stage(
    opportunities_with_history_app: Path,
) -> None:
    at = stages_page()
    deals = opportunities().select("Opportunity ID", "Stage")
    history = (
        pl.read_csv(OPPORTUNITY_HISTORY)
        .with_columns(pl.col("Created Date").str.to_date("%m/%d/%Y"))
        .sort("Opportunity ID", "Created Date")
    )
    closed = deals.filter(pl.col("Stage").is_in(["Closed Won", "Closed Lost"]))
    won = closed.filter(pl.col("Stage") == "Closed Won").height
    line = next(i.value for i in at.info if i.value.startswith("Overall win rate"))
    assert line == (
        f"Overall win rate {won / closed.height:.1%} ({won} won of {closed.height} closed deals). "
        f"{closed.height} of {closed.height} closed deals have stage history: per-stage rates are "
        "measured on all of them."
    )
    learned = next(d.value for d in at.dataframe if "empirical" in d.value.columns)
    entered = history.join(closed, on="Opportunity ID")
    for stage in SALESFORCE_OPEN:
        # Every path in this export is stage after stage, so reaching a stage is entering it.
        reached = entered.filter(pl.col("Stage Name") == stage)
        n, wins = reached.height, reached.filter(pl.col("Stage") == "Closed Won").height
        row = learned[learned["stage"] == stage].iloc[0]
        assert (row["n"], row["won"]) == (n, wins), stage
    stays = (
        history.with_columns(left=pl.col("Created Date").shift(-1).over("Opportunity ID"))
        .drop_nulls("left")
        .filter(pl.col("Stage Name").is_in(SALESFORCE_OPEN))
        .group_by("Stage Name")
        .agg(stays=pl.len(), median=(pl.col("left") - pl.col("Created Date")).dt.total_days().median())
    )
    shown = next(d.value for d in at.dataframe if "median_days" in d.value.columns)
    for stage, count, median in stays.iter_rows():
        row = shown[shown["stage"] == stage].iloc[0]
        assert (row["stays"], row["median_days"]) == (count, pytest.approx(median)), stage


def test_a_deals_export_imports_back_into_its_pipeline_with_every_figure(
    demo_path: Path, db_path: Path
) -> None:
    with store.opened(demo_path) as db:
        pipeline = store.pipelines(db).row(0, named=True)
        own = store.stage_list(db, pipeline["id"])
        exported = exports.table(db, "deals", clock.today()).filter(
            pl.col("pipeline") == pipeline["name"]
        )
        before = stages.pipeline_figures(
            store.deals(db, pipeline["id"]), store.stages(db, pipeline["id"])
        )
    with store.opened(db_path) as db:
        # A pipeline of the same stage names first: matching stages alone would pick it.
        same = [replace(s, id=None) for s in own]
        store.create_pipeline(db, "Another one", same)
        pid = store.create_pipeline(db, pipeline["name"], same)
        report = importers.import_bytes(db, sheets.to_csv(exported), "deals", "deals.csv")
        assert report.committed, report.text()
        assert any(f"Deals go into the pipeline '{pipeline['name']}'" in n for n in report.notes)
        after = stages.pipeline_figures(store.deals(db, pid), store.stages(db, pid))
    assert after.headline() == before.headline()
    assert_frame_equal(after.table(), before.table())


PIPEDRIVE = REAL / "pipedrive_deals.csv"
PIPEDRIVE_STAGES = ["Lead In", "Contact Made", "Demo Scheduled", "Proposal Made", "Negotiations Started"]


@pytest.fixture
def pipedrive_app(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    raw = importers.read_table(PIPEDRIVE.read_bytes(), PIPEDRIVE.name)
    options = importers.Options(
        importers.suggest_mapping(raw.frame.columns, "deals"),
        stages=importers.StagePlan(unknown="create", new_pipeline="Pipedrive"),
    )
    with store.opened(db_path) as db:
        report = importers.import_bytes(db, PIPEDRIVE.read_bytes(), "deals", PIPEDRIVE.name, options)
    assert report.committed, report.text()
    monkeypatch.setenv("FUNNEL_DB", str(db_path))
    monkeypatch.chdir(ROOT)
    return db_path


def test_pipedrive_deals_golden_figures_with_the_stage_each_closed_deal_was_in(
    pipedrive_app: Path,
) -> None:
    at = stages_page()
    file = pl.read_csv(PIPEDRIVE, schema_overrides={"Deal - Value": pl.Float64})
    status, value = pl.col("Deal - Status"), pl.col("Deal - Value")
    figures = {m.label: m.value for m in at.metric}
    assert figures["Closed won"] == f"${file.filter(status == 'won')['Deal - Value'].sum():,.0f}"
    assert figures["Open pipeline"] == f"${file.filter(status == 'open')['Deal - Value'].sum():,.0f}"
    # Open deals at their stage's probability: the ladder 10 %, 30 %, 50 %, 70 %, 90 %.
    ladder = dict(zip(PIPEDRIVE_STAGES, [10, 30, 50, 70, 90], strict=True))
    weighted = file.filter(status == "open").select(
        (value * pl.col("Deal - Stage").replace_strict(ladder) / 100).sum()
    )
    assert figures["Weighted pipeline"] == f"${weighted.item():,.0f}"
    # A closed deal's stage is where it was when it closed: it got past every stage before it.
    closed = file.filter(status != "open").with_columns(
        at=pl.col("Deal - Stage").replace_strict({s: i for i, s in enumerate(PIPEDRIVE_STAGES)})
    )
    won = closed.filter(status == "won").height
    line = next(i.value for i in at.info if i.value.startswith("Overall win rate"))
    assert line.startswith(
        f"Overall win rate {won / closed.height:.1%} ({won} won of {closed.height} closed deals). "
        f"{closed.height} of {closed.height} closed deals have stage history"
    )
    learned = next(d.value for d in at.dataframe if "empirical" in d.value.columns)
    for i, stage in enumerate(PIPEDRIVE_STAGES):
        reached = closed.filter(pl.col("at") >= i)
        wins = reached.filter(status == "won").height
        row = learned[learned["stage"] == stage].iloc[0]
        assert (row["n"], row["won"]) == (reached.height, wins), stage
    expected = health_as_of_today(None, pipedrive_app)
    assert health_lines(at) == ([] if expected is None else [expected])


def test_scores_on_an_11_to_20_scale_are_cut_exactly_where_the_file_says(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A lead-scoring export whose scores run 11..20: read on 0..20, a whole file point is 5.
    profile = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 16, 15]
    activity = [20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 15, 16]
    report = import_scores(db_path, ("Profile Score", profile), ("Activity Score", activity))
    assert any("read on a 0..20 scale" in n for n in report.notes)
    monkeypatch.setenv("FUNNEL_DB", str(db_path))
    monkeypatch.chdir(ROOT)
    at = open_page(MQL_PAGE, {"F": "80", "I": "75"})
    expected = sum(1 for p, a in zip(profile, activity, strict=True) if p >= 16 and a >= 15)
    assert metric(at, "MQLs") == str(expected)
    assert (
        "fit ≥ 80, i.e. 'Profile Score' ≥ 16 in the file's units (0..20); interest ≥ 75, i.e. "
        "'Activity Score' ≥ 15 in the file's units (0..20)."
    ) in [c.value for c in at.caption]


def import_scores(
    path: Path, fit: tuple[str, list[int]], interest: tuple[str, list[int]]
) -> importers.Report:
    """A HubSpot-like contacts export with two ready-made scores per contact (each a column
    name and its values), imported into the store at `path` with its own mapping; a third of
    the contacts lost, the others customers."""
    (fit_name, fits), (interest_name, interests) = fit, interest
    rows = "".join(
        f"C-{i},2026-0{1 + i % 9}-1{i % 9},{p},{e},{'Customer' if i % 3 else 'Lost'}\n"
        for i, (p, e) in enumerate(zip(fits, interests, strict=True))
    )
    data = f"Contact ID,Create Date,{fit_name},{interest_name},Lifecycle\n{rows}".encode()
    mapping = {
        "external_id": "Contact ID",
        "created": "Create Date",
        "fit": fit_name,
        "interest": interest_name,
        "outcome": "Lifecycle",
    }
    with store.opened(path) as db:
        report = importers.import_bytes(db, data, "leads", "scores.csv", importers.Options(mapping))
    assert report.committed, report.text()
    return report


def test_every_value_of_a_score_on_an_unusual_range_is_a_cutoff_on_the_sliders(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A lead-scoring export whose "Lead Score" runs 3..250 (no usual scale holds it) beside a
    # 0..100 "Engagement": 248 file values, more than the 101 whole points of a slider.
    lead_score = [3, 41, 97, 128, 133, 133, 134, 170, 201, 222, 249, 250]
    engagement = [90, 10, 55, 70, 60, 40, 80, 65, 20, 75, 50, 95]
    report = import_scores(db_path, ("Lead Score", lead_score), ("Engagement", engagement))
    note = next(n for n in report.notes if n.startswith("'Lead Score'"))
    assert "read on a 3..250 scale (from the observed values)" in note
    assert "the MQL sliders move in its own steps of 1 (248 positions)" in note
    monkeypatch.setenv("FUNNEL_DB", str(db_path))
    monkeypatch.chdir(ROOT)
    at = open_page(MQL_PAGE, {"F": "0", "I": "50"})
    fit = at.select_slider(key="mql_fit_cutoff")
    assert fit.label == "Fit cutoff F, in 'Lead Score' (3..250)"
    assert fit.help == (
        "The least 'Lead Score' an MQL has, in the file's units (3..250); the figures count it "
        "as fit on 0..100."
    )
    assert "(0..100" in at.slider(key="mql_interest_cutoff").help  # whole points keep theirs
    assert fit.options == [str(v) for v in range(3, 251)]  # every file value, in its own units
    assert at.slider(key="mql_interest_cutoff").value == 50  # 0..100: whole points, as ever
    steps = scales.axis_steps(scales.ScoreScale("Lead Score", 3.0, 250.0, 1.0))
    for wanted in (133, 134, 250):
        at.select_slider(key="mql_fit_cutoff").set_value(steps[wanted - 3]).run()
        assert not at.exception, at.exception
        expected = sum(1 for p, e in zip(lead_score, engagement, strict=True) if p >= wanted and e >= 50)
        assert metric(at, "MQLs") == str(expected), wanted
        assert f"i.e. 'Lead Score' ≥ {wanted} in the file's units (3..250)" in "".join(
            c.value for c in at.caption
        )
        assert float(at.query_params["F"]) == pytest.approx((wanted - 3) / 247 * 100)
    # The address bar is a link to this cutoff: opened again, it lands on the same file value.
    again = open_page(MQL_PAGE, {"F": at.query_params["F"], "I": "50"})
    assert (
        again.select_slider(key="mql_fit_cutoff").value == at.select_slider(key="mql_fit_cutoff").value
    )
    assert metric(again, "MQLs") == metric(at, "MQLs")
    # A cutoff recorded in whole points (the default 50) opens on the first file value above it.
    halfway = open_page(MQL_PAGE, {"F": "50", "I": "50"})
    assert "i.e. 'Lead Score' ≥ 127 in" in "".join(c.value for c in halfway.caption)


def test_leads_without_creation_dates_say_capacity_cannot_be_judged(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"Lead ID,Fit Score,Engagement Score\nL1,80,70\nL2,20,90\nL3,65,55\n"
    with store.opened(db_path) as db:
        report = importers.import_bytes(db, data, "leads", "undated.csv")
    assert report.committed, report.text()
    monkeypatch.setenv("FUNNEL_DB", str(db_path))
    monkeypatch.chdir(ROOT)
    at = open_page(MQL_PAGE, {"F": "50", "I": "50"})
    assert metric(at, "MQLs") == "2"
    day = f"{clock.today():%d %b %Y}"
    assert any(i.value.startswith(f"All 3 leads have the same creation date, {day}") for i in at.info)
    assert not [s for s in at.success if s.value.startswith("Within capacity")]
    assert "Data health: all 3 leads share one creation date." in [c.value for c in at.caption]
    # Under the filters: the period filter and the decay cannot tell these leads apart either.
    assert (
        f"All 3 leads share one creation date, {day}, and have no activity date (a file without "
        "them is dated at its import): the period filter has one day to offer, and interest "
        "decays alike for every lead, from that day."
    ) in [c.value for c in at.caption]


def test_unscored_leads_stay_unscored_through_an_export_and_an_import(
    contacts_app: Path, tmp_path: Path
) -> None:
    with store.opened(contacts_app) as db:
        exported = exports.table(db, "leads", clock.today())
    again = tmp_path / "again.db"
    with store.opened(again) as db:
        report = importers.import_bytes(db, sheets.to_csv(exported), "leads", "leads.csv")
        assert report.committed, report.text()
        leads = store.leads(db)
    empty = exported.filter(pl.col("fit").is_null() | pl.col("interest").is_null())
    assert empty.height == 26
    back = leads.filter(pl.col("external_id").is_in(empty["external_id"].implode()))
    assert back.height == empty.height
    assert back["fit"].null_count() == back["interest"].null_count() == empty.height
