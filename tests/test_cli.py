"""The command line: import, fields, export, backup, restore; exit codes and standard error."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from funnel import cli, store
from funnel.models import DEAL_FIELDS, LEAD_FIELDS, Stage

CORPUS = Path(__file__).parent / "corpus"
GOOD = b"Lead ID,Create Date,Employees\nL1,2026-01-02,12\nL2,2026-01-03,250\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_writes_the_rows_and_exits_zero(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "leads.csv"
    source.write_bytes(GOOD)
    code, out, err = run(capsys, "import", str(source), "--kind", "leads", "--db", str(db_path))
    assert (code, err) == (0, "")
    assert "added 2, updated 0" in out
    with store.opened(db_path) as db:
        assert store.lead_count(db) == 2


def test_rejected_file_exits_one_with_the_report_on_stderr_and_the_store_unchanged(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with store.opened(db_path) as db:
        before = store.revision(db)
    code, out, err = run(
        capsys, "import", str(CORPUS / "text_in_number.csv"), "--kind", "leads", "--db", str(db_path)
    )
    assert (code, out) == (1, "")
    assert "line 3, column 'page_views': not a number (value: 'lots')" in err
    with store.opened(db_path) as db:
        assert (store.lead_count(db), store.revision(db)) == (0, before)


def test_unreadable_file_exits_one(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "import", str(CORPUS / "zero_bytes.csv"), "--kind", "leads", "--db", str(db_path)
    )
    assert code == 1 and "is empty (0 bytes)" in err


def test_dry_run_reports_and_writes_nothing(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "leads.csv"
    source.write_bytes(GOOD)
    code, out, _ = run(
        capsys, "import", str(source), "--kind", "leads", "--db", str(db_path), "--dry-run"
    )
    assert code == 0 and "would add 2, would update 0" in out
    with store.opened(db_path) as db:
        assert store.lead_count(db) == 0


def test_mapping_file_maps_our_fields_to_the_file_columns(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "odd.csv"
    source.write_bytes(b"ref;when;staff\nA7;23/11/2026;40\n")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"external_id": "ref", "created": "when", "company_size": "staff"}))
    code, _, err = run(
        capsys, "import", str(source), "--kind", "leads", "--mapping", str(mapping), "--db", str(db_path)
    )
    assert (code, err) == (0, "")
    with store.opened(db_path) as db:
        row = store.leads(db).row(0, named=True)
    assert (row["external_id"], str(row["created"]), row["company_size"]) == ("A7", "2026-11-23", 40)


def test_mapping_to_a_missing_column_is_refused(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "leads.csv"
    source.write_bytes(GOOD)
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"created": "Created On"}))
    code, _, err = run(
        capsys, "import", str(source), "--kind", "leads", "--mapping", str(mapping), "--db", str(db_path)
    )
    assert code == 1 and "column 'Created On', which the file does not have" in err


def test_deals_create_a_pipeline_from_the_stages_found(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys,
        "import",
        str(CORPUS / "unknown_stage.csv"),
        "--kind",
        "deals",
        "--db",
        str(db_path),
        "--create-pipeline",
        "From CRM",
    )
    assert code == 0 and "added 2" in out
    with store.opened(db_path) as db:
        assert store.stages(db)["name"].to_list() == ["Proposal", "Haggling"]


def test_fields_lists_every_field_with_type_and_required(capsys: pytest.CaptureFixture[str]) -> None:
    for kind, fields in (("leads", LEAD_FIELDS), ("deals", DEAL_FIELDS)):
        code, out, _ = run(capsys, "fields", kind)
        assert code == 0
        lines = out.splitlines()[1:]
        assert [line.split()[0] for line in lines] == [f.name for f in fields]
    assert "stage           str    yes" in run(capsys, "fields", "deals")[1]


def test_export_backup_and_restore(
    demo_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run(capsys, "export", "all", "--out", str(tmp_path / "out"), "--db", str(demo_path))
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "deals.csv",
        "decisions.csv",
        "leads.csv",
        "scenarios.csv",
        "stages.csv",
    ]
    backup = tmp_path / "backup.db"
    assert run(capsys, "backup", str(backup), "--db", str(demo_path))[0] == 0
    code, _, err = run(capsys, "restore", str(tmp_path / "out" / "deals.csv"), "--db", str(demo_path))
    assert code == 2 and "Restore refused, the store is unchanged" in err
    assert run(capsys, "restore", str(backup), "--db", str(demo_path))[0] == 0


def test_python_dash_m_funnel_runs_the_import(db_path: Path, tmp_path: Path) -> None:
    source = tmp_path / "leads.csv"
    source.write_bytes(b"external_id,created\nL1,2026-01-02\nL1,2026-01-03\n")
    done = subprocess.run(
        [sys.executable, "-m", "funnel", "import", str(source), "--kind", "leads", "--db", str(db_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "line 3, column 'external_id': duplicate id (first on line 2)" in done.stderr


def test_stage_map_and_date_order_options(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with store.opened(db_path) as db:
        store.create_pipeline(db, "Sales", [Stage("Demo", 30), Stage("Won", 100, "won")])
    source = tmp_path / "deals.csv"
    source.write_bytes(b"external_id,stage,created\nD1,Demo,03/04/2026\nD2,Signed,05/06/2026\n")
    stage_map = tmp_path / "stages.json"
    stage_map.write_text(json.dumps({"Signed": "Won"}))
    argv = ["import", str(source), "--kind", "deals", "--db", str(db_path), "--pipeline", "Sales"]
    code, _, err = run(capsys, *argv)
    assert code == 1 and "every deal would be worth $0" in err
    argv.append("--no-values")
    code, _, err = run(capsys, *argv)
    assert code == 1 and "no day above 12 tells which" in err
    code, _, err = run(capsys, *argv, "--dates", "dmy", "--stage-map", str(stage_map))
    assert (code, err) == (0, ""), err
    with store.opened(db_path) as db:
        deals = store.deals(db).select("external_id", "stage", "created").rows()
    assert deals == [("D1", "Demo", date(2026, 4, 3)), ("D2", "Won", date(2026, 6, 5))]


def test_unknown_pipeline_name_is_an_error(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "deals.csv"
    source.write_bytes(b"external_id,stage\nD1,Demo\n")
    code, _, err = run(
        capsys, "import", str(source), "--kind", "deals", "--db", str(db_path), "--pipeline", "Nope"
    )
    assert code == 2 and "There is no pipeline named 'Nope'." in err


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command")
    helps = {c.dest: c.help for c in sub._choices_actions}  # type: ignore[attr-defined]
    assert set(helps) >= {"demo", "import", "fields", "export", "backup", "restore"}
    for name, text in helps.items():
        assert text, name
        assert f"python -m funnel {name}" in readme, name


def test_the_readme_names_every_page_and_says_how_to_stop_and_move_the_server() -> None:
    root = Path(__file__).parent.parent
    readme = (root / "README.md").read_text()
    titles = re.findall(r'st\.Page\([^)]*?title="([^"]+)"', (root / "app.py").read_text(), re.S)
    assert len(titles) == 5
    pages = readme.split("## The five pages", 1)[1].split("\n## ", 1)[0]
    assert all(f"**{title}**" in pages for title in titles), titles
    start = readme.split("## Start and stop", 1)[1].split("\n## ", 1)[0]
    assert "Ctrl+C" in start and "--server.port" in start
    assert readme.index("## The command line") < readme.index("## Performance")


def test_a_deals_import_takes_a_stage_history_file_and_a_stage_order(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "opps.csv"
    source.write_bytes(
        b"Opportunity ID,Stage,Amount\nO1,Closed Won,100\nO2,Closed Lost,50\nO3,Demo,80\n"
        b"O4,Discovery,10\n"
    )
    history = tmp_path / "history.csv"
    history.write_bytes(
        b"Opportunity ID,Stage Name,Created Date\nO1,Discovery,2026-01-02\nO1,Demo,2026-01-09\n"
        b"O1,Closed Won,2026-02-01\nO2,Discovery,2026-01-03\nO2,Closed Lost,2026-01-20\n"
    )
    argv = ["import", str(source), "--kind", "deals", "--db", str(db_path)]
    argv += ["--create-pipeline", "Opps", "--stage-order", "Discovery, Demo"]
    code, out, err = run(capsys, *argv, "--history", str(history))
    assert (code, err) == (0, ""), err
    assert "open stages in the order you gave: Discovery → Demo" in out
    assert "5 entries for 2 deals" in out
    with store.opened(db_path) as db:
        moves = store.stage_history(db).join(
            store.stages(db).select(pl.col("id").alias("to_stage_id"), "name"), on="to_stage_id"
        )
        by_deal = moves.group_by("deal_id", maintain_order=True).agg("name")["name"].to_list()
    # O1 and O2 follow their history; O3 and O4, not in it, get their one entry.
    assert by_deal == [
        ["Discovery", "Demo", "Closed Won"],
        ["Discovery", "Closed Lost"],
        ["Demo"],
        ["Discovery"],
    ]


def test_a_dry_run_or_a_refused_import_into_a_new_store_leaves_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "leads.csv"
    source.write_bytes(b"external_id,created\nL1,2026-01-02\nL2,not a date\n")
    new = tmp_path / "new" / "mine.db"
    code, _, err = run(capsys, "import", str(source), "--kind", "leads", "--db", str(new))
    assert code == 1 and "not a date" in err
    source.write_bytes(b"external_id,created\nL1,2026-01-02\n")
    code, out, _ = run(capsys, "import", str(source), "--kind", "leads", "--db", str(new), "--dry-run")
    assert code == 0 and "would add 1" in out
    assert not new.exists() and not list(tmp_path.glob("new/*"))
    code, out, _ = run(capsys, "import", str(source), "--kind", "leads", "--db", str(new))
    assert code == 0 and "added 1" in out
    with store.opened(new) as db:
        assert store.lead_count(db) == 1


def test_a_stages_export_imports_back_with_its_probabilities(
    demo_path: Path, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "export", "stages", "--out", str(tmp_path), "--db", str(demo_path))
    assert code == 0, err
    exported = tmp_path / "stages.csv"
    with store.opened(demo_path) as db:
        before = store.stages(db).select("pipeline_id", "position", "name", "probability", "kind")
        first = int(before["pipeline_id"][0])
        store.save_stages(
            db,
            first,
            [replace(s, probability=1) for s in store.stage_list(db, first)],
            None,
            who="someone",
        )
    # Into the store it came from: the probabilities come back, no deal moves.
    code, out, err = run(capsys, "import-stages", str(exported), "--db", str(demo_path))
    assert code == 0, err
    pipelines = before["pipeline_id"].n_unique()
    assert f"{pipelines} pipelines read; created 0, updated {pipelines}." in out
    with store.opened(demo_path) as db:
        after = store.stages(db).select("pipeline_id", "position", "name", "probability", "kind")
        assert after.equals(before)
        # The History can undo it: the hand-set 1 % comes back.
        store.undo_last(db, "pipeline", first, "someone")
        assert {s.probability for s in store.stage_list(db, first)} == {1.0}
    # Into an empty store: every pipeline is created with its stages.
    code, out, err = run(capsys, "import-stages", str(exported), "--db", str(db_path))
    assert code == 0 and f"created {pipelines}, updated 0" in out, err
    with store.opened(db_path) as db:
        fresh = store.stages(db).select("position", "name", "probability", "kind")
    assert fresh.equals(before.drop("pipeline_id"))


def test_a_stages_file_with_a_bad_probability_is_refused_whole(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "stages.csv"
    source.write_bytes(
        b"pipeline,position,name,probability,kind,rot_days\nA,1,Demo,40,open,\nA,2,Won,100,won,\n"
        b"B,1,Call,150,open,\nB,2,Won,100,won,\n"
    )
    code, _, err = run(capsys, "import-stages", str(source), "--db", str(db_path))
    assert code == 1
    assert "pipeline 'B': Row 1 (Call): probability 150 is outside 0 to 100." in err
    with store.opened(db_path) as db:
        assert store.pipelines(db).is_empty()
