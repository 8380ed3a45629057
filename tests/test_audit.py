"""The audit trail: readable changes, filters, a spreadsheet-safe export, and undo as a new change."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlite_utils import Database

from funnel import audit, store
from funnel.models import Rule, Stage

STAGES = [Stage("Demo", 30.0), Stage("Proposal", 60.0), Stage("Won", 100.0, "won")]
RULES = [Rule("fit", "company_size", "at_least", 50.0, 20.0, "50+ staff")]


@pytest.fixture
def pipeline(fresh_db: Database) -> int:
    return store.create_pipeline(fresh_db, "Direct sales", STAGES, who="Anna")


def _log(db: Database) -> pl.DataFrame:
    return audit.readable(store.audit_log(db))


def test_probability_change_reads_as_one_sentence(fresh_db: Database, pipeline: int) -> None:
    demo, proposal, won = store.stage_list(fresh_db, pipeline)
    edited = [Stage("Demo", 40.0, id=demo.id), proposal, won]
    store.save_stages(fresh_db, pipeline, edited, expected_version=1, who="Ben")
    log = _log(fresh_db)
    assert log.select("who", "object", "action", "what").row(0) == (
        "Ben",
        f"Stages {pipeline}",
        "save",
        "'Demo' 30 % -> 40 %",
    )
    assert log["what"][1] == "created 'Direct sales' with 3 stages"


def test_stage_added_removed_renamed_and_reordered_are_each_said() -> None:
    before = [
        {"id": 1, "name": "Demo", "probability": 30, "kind": "open", "rot_days": None},
        {"id": 2, "name": "Proposal", "probability": 60, "kind": "open", "rot_days": None},
        {"id": 3, "name": "Trial", "probability": 20, "kind": "open", "rot_days": None},
    ]
    after = [
        {"id": 2, "name": "Offer", "probability": 60, "kind": "open", "rot_days": None},
        {"id": 1, "name": "Demo", "probability": 30, "kind": "open", "rot_days": 14},
        {"id": 4, "name": "Won", "probability": 100, "kind": "won", "rot_days": None},
    ]
    assert audit.describe("stages", "save", before, after) == (
        "added 'Won' (100 %); removed 'Trial'; renamed 'Proposal' -> 'Offer'; "
        "'Demo' limit None -> 14 days; reordered"
    )


def test_filters_by_entity_person_and_inclusive_dates() -> None:
    log = pl.DataFrame(
        {
            "id": [3, 2, 1],
            "at": [
                "2026-11-23T10:00:00+00:00",
                "2026-11-20T09:00:00+00:00",
                "2026-11-19T23:59:59+00:00",
            ],
            "who": ["Anna", "Ben", "Anna"],
            "entity": ["decision", "stages", "stages"],
            "entity_id": [1, 1, 1],
            "action": ["record", "save", "save"],
            "before": [None, None, None],
            "after": [None, None, None],
        }
    ).with_columns(pl.col("at").str.to_datetime(time_zone="UTC"))
    assert audit.filter_log(log, entities=["stages"])["id"].to_list() == [2, 1]
    assert audit.filter_log(log, who=["Anna"])["id"].to_list() == [3, 1]
    assert audit.filter_log(log, start=date(2026, 11, 20), end=date(2026, 11, 23))["id"].to_list() == [
        3,
        2,
    ]
    assert audit.filter_log(log, entities=["stages"], who=["Anna"], end=date(2026, 11, 19))[
        "id"
    ].to_list() == [1]
    assert_frame_equal(audit.filter_log(log), log)


def test_export_neutralises_cells_a_spreadsheet_would_run(fresh_db: Database) -> None:
    store.create_pipeline(fresh_db, '=HYPERLINK("http://x")', STAGES, who="@anna")
    csv = audit.history_csv(_log(fresh_db)).decode()
    assert "'=HYPERLINK" in csv and "'@anna" in csv
    assert "\n=" not in csv and ",=" not in csv and ",@" not in csv


def test_undo_restores_the_stage_list_as_a_new_logged_change(fresh_db: Database, pipeline: int) -> None:
    demo, proposal, won = store.stage_list(fresh_db, pipeline)
    store.save_stages(fresh_db, pipeline, [Stage("Demo", 45.0, id=demo.id), won], 1, who="Ben")
    store.undo_last(fresh_db, "pipeline", pipeline, who="Anna")
    assert store.stage_list(fresh_db, pipeline) == [demo, proposal, won]
    assert store.pipeline_version(fresh_db, pipeline) == 3
    latest = store.audit_log(fresh_db).row(0, named=True)
    assert (latest["who"], latest["entity"], latest["action"]) == ("Anna", "stages", "undo")
    assert _log(fresh_db)["what"][0] == "added 'Proposal' (60 %); 'Demo' 45 % -> 30 %"


def test_each_undo_goes_one_change_further_back(fresh_db: Database, pipeline: int) -> None:
    demo, proposal, won = store.stage_list(fresh_db, pipeline)
    store.save_stages(fresh_db, pipeline, [Stage("Demo", 45.0, id=demo.id), proposal, won], 1)
    store.save_stages(fresh_db, pipeline, [Stage("Demo", 50.0, id=demo.id), proposal, won], 2)
    store.rename_pipeline(fresh_db, pipeline, "Enterprise", expected_version=3)
    probabilities = []
    for _ in range(3):
        store.undo_last(fresh_db, "pipeline", pipeline, who="Anna")
        probabilities.append([s.probability for s in store.stage_list(fresh_db, pipeline)])
    # The rename first, then the 50 %, then the 45 %: back to the 30 % the pipeline began with.
    assert probabilities == [[50.0, 60.0, 100.0], [45.0, 60.0, 100.0], [30.0, 60.0, 100.0]]
    assert store.pipelines(fresh_db)["name"].to_list() == ["Direct sales"]
    target = store.undo_target(fresh_db, "pipeline", pipeline)
    assert target is not None and target["action"] == "create"  # the one change left


def test_the_scoring_model_undoes_step_by_step_too(fresh_db: Database) -> None:
    second = [Rule("fit", "company_size", "between", (10.0, 49.0), 5.0, "small")]
    third = [Rule("fit", "company_size", "at_least", 50.0, 9.0, "big")]
    store.save_model(fresh_db, RULES, 14.0, based_on=None, who="Anna")
    store.save_model(fresh_db, second, 14.0, based_on=1, who="Ben")
    store.save_model(fresh_db, third, 14.0, based_on=2, who="Ben")
    store.undo_last(fresh_db, "scoring_model", None, who="Anna")
    store.undo_last(fresh_db, "scoring_model", None, who="Anna")
    assert store.latest_model_version(fresh_db) == 5
    assert (store.rules(fresh_db, 4), store.rules(fresh_db, 5)) == (second, RULES)
    # The History names the rules each version added and removed.
    assert _log(fresh_db)["what"][2] == (
        "version 3 from version 2; added or changed 'big'; removed or replaced 'small'; "
        "half-life 14 days"
    )


def test_a_deal_move_names_its_stages(fresh_db: Database, pipeline: int) -> None:
    demo, proposal, _ = store.stage_list(fresh_db, pipeline)
    with store.write(fresh_db):
        fresh_db.conn.execute(
            "INSERT INTO deals (pipeline_id, stage_id, name) VALUES (?, ?, 'Acme')", [pipeline, demo.id]
        )
    store.move_deal(fresh_db, 1, int(proposal.id or 0), who="Anna")
    log = audit.readable(store.audit_log(fresh_db), stage_names=store.stage_names(fresh_db))
    assert log["what"][0] == "moved 'Demo' -> 'Proposal'"


def test_undo_of_a_rename_and_of_a_creation(fresh_db: Database, pipeline: int) -> None:
    store.rename_pipeline(fresh_db, pipeline, "Enterprise", expected_version=1)
    store.undo_last(fresh_db, "pipeline", pipeline, who="Anna")
    assert store.pipelines(fresh_db)["name"].to_list() == ["Direct sales"]
    other = store.create_pipeline(fresh_db, "Trial pipeline", STAGES)
    store.undo_last(fresh_db, "pipeline", other, who="Anna")
    assert store.pipelines(fresh_db)["name"].to_list() == ["Direct sales"]


def test_undo_refused_when_someone_changed_it_since_it_was_looked_at(
    fresh_db: Database, pipeline: int
) -> None:
    seen = store.last_change(fresh_db, "pipeline", pipeline)
    assert seen is not None
    store.rename_pipeline(fresh_db, pipeline, "Enterprise", expected_version=1, who="Ben")
    with pytest.raises(store.StaleVersionError, match=r"changed again .* by Ben"):
        store.undo_last(fresh_db, "pipeline", pipeline, "Anna", expected_audit_id=seen["id"])
    assert store.pipelines(fresh_db)["name"].to_list() == ["Enterprise"]


def test_undo_of_the_scoring_model_saves_the_previous_rules_as_a_new_version(
    fresh_db: Database,
) -> None:
    store.save_model(fresh_db, RULES, 14.0, based_on=None, who="Anna")
    edited = [Rule("fit", "company_size", "between", (10.0, 49.0), 5.0, "small")]
    store.save_model(fresh_db, edited, 30.0, based_on=1, who="Ben")
    store.undo_last(fresh_db, "scoring_model", None, who="Anna")
    assert store.latest_model_version(fresh_db) == 3
    assert store.rules(fresh_db, 3) == RULES
    assert store.half_life(fresh_db, 3) == 14.0
    assert store.rules(fresh_db, 2) == edited
    assert store.audit_log(fresh_db)["action"][0] == "undo"


def test_nothing_to_undo_says_so(fresh_db: Database) -> None:
    with pytest.raises(store.StoreError, match="no recorded change"):
        store.undo_last(fresh_db, "scoring_model", None, who="Anna")
    store.save_model(fresh_db, RULES, 0.0, based_on=None)
    with pytest.raises(store.StoreError, match="no earlier version"):
        store.undo_last(fresh_db, "scoring_model", None, who="Anna")
    with pytest.raises(store.StoreError, match="Only a pipeline or the scoring model"):
        store.undo_last(fresh_db, "decision", 1, who="Anna")


def test_leads_import_reads_as_file_and_counts(fresh_db: Database) -> None:
    leads = pl.DataFrame({"external_id": ["L1", "L2"], "created": [date(2026, 11, 2)] * 2})
    store.import_leads(fresh_db, leads, who="Anna", source="hubspot.csv")
    store.import_leads(fresh_db, leads.head(1), who="Anna", source="hubspot.csv")
    assert _log(fresh_db).select("object", "what").rows() == [
        ("Leads", "imported 'hubspot.csv': 0 added, 1 updated"),
        ("Leads", "imported 'hubspot.csv': 2 added, 0 updated"),
    ]


def test_undo_offers_the_latest_changed_object_first(fresh_db: Database, pipeline: int) -> None:
    assert store.undo_targets(fresh_db) == [("pipeline", pipeline)]
    other = store.create_pipeline(fresh_db, "Partners", STAGES)
    store.save_model(fresh_db, RULES, 0.0, based_on=None)
    store.rename_pipeline(fresh_db, pipeline, "Enterprise", expected_version=1)
    assert store.undo_targets(fresh_db) == [
        ("pipeline", pipeline),
        ("scoring_model", None),
        ("pipeline", other),
    ]


def test_undo_that_would_strand_deals_in_a_stage_is_refused(fresh_db: Database, pipeline: int) -> None:
    demo, proposal, won = store.stage_list(fresh_db, pipeline)
    store.save_stages(fresh_db, pipeline, [demo, Stage("Trial", 45.0), proposal, won], 1)
    trial = store.stage_list(fresh_db, pipeline)[1]
    with store.write(fresh_db):
        fresh_db.conn.execute(
            "INSERT INTO deals (pipeline_id, stage_id, name, value) VALUES (?, ?, 'Acme', 1000)",
            [pipeline, trial.id],
        )
    with pytest.raises(store.StoreError, match="stage 'Trial', which now holds 1 deal:"):
        store.undo_last(fresh_db, "pipeline", pipeline, who="Anna")
    assert [s.name for s in store.stage_list(fresh_db, pipeline)] == ["Demo", "Trial", "Proposal", "Won"]


def test_clearing_deals_own_probabilities_reads_as_a_sentence(fresh_db: Database, pipeline: int) -> None:
    demo = store.stage_list(fresh_db, pipeline)[0]
    with store.write(fresh_db):
        for name, own in (("Acme", 35.0), ("Globex", None)):
            fresh_db.conn.execute(
                "INSERT INTO deals (pipeline_id, stage_id, name, value, probability)"
                " VALUES (?, ?, ?, 1000, ?)",
                [pipeline, demo.id, name, own],
            )
    assert store.clear_deal_probabilities(fresh_db, [1, 2], who="Anna") == 1
    assert store.deals(fresh_db)["probability"].to_list() == [None, None]
    assert _log(fresh_db)["what"][0] == (
        "own probability cleared on 1 deals, their stage's applies again (deals 1)"
    )
    assert store.clear_deal_probabilities(fresh_db, [1, 2], who="Anna") == 0


def test_sal_decision_and_restore_read_as_sentences() -> None:
    # The keys `store.record_sal` writes into the audit trail.
    sal = {"sal_status": "accepted", "budget": True, "authority": False, "need": True}
    sal |= {"timeline": False}
    assert audit.describe("lead", "sal", {}, sal) == "accepted by sales (BANT met: budget, need)"
    assert (
        audit.describe("store", "restore", None, {"from": "funnel-backup-2026-11-20.db"})
        == "restored from backup 'funnel-backup-2026-11-20.db'"
    )


def test_a_pipeline_change_names_the_pipeline_when_its_name_is_known(
    fresh_db: Database, pipeline: int
) -> None:
    demo, proposal, won = store.stage_list(fresh_db, pipeline)
    store.save_stages(fresh_db, pipeline, [Stage("Demo", 40.0, id=demo.id), proposal, won], 1)
    log = audit.readable(store.audit_log(fresh_db), {pipeline: "Direct sales"})
    assert log["object"].to_list() == ["Stages of 'Direct sales'", "Pipeline 'Direct sales'"]
