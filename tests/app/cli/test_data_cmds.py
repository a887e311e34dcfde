from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main

pytestmark = pytest.mark.integration

EVENTS = "user_id,action,when\nu1,pv,1714557600\nu1,buy,1714557700\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ingest_with_maps_then_status_json(shoplens_home: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "log.csv"
    path.write_text(EVENTS)
    code, out, _ = run(
        capsys,
        "ingest",
        str(path),
        "--kind",
        "events",
        "--shop",
        "acme",
        "--map",
        "action=event_type",
        "--map",
        "when=ts",
    )
    assert code == 0 and "2 events added to shop 'acme'" in out
    code, out, _ = run(capsys, "status", "--json")
    status = json.loads(out)
    assert code == 0
    assert status["shops"]["acme"]["rows"]["events"] == 2
    assert status["shops"]["acme"]["rows"]["users"] == 1
    assert status["shops"]["acme"]["models"] == {}  # models are per shop; acme has none yet
    assert status["labelstudio"]["state"] in {"up", "down"}
    assert "message" in status["labelstudio"]


def test_bad_file_exits_2_with_report_and_no_traceback(
    shoplens_home: Path, tmp_path: Path, capsys
) -> None:
    path = tmp_path / "log.csv"
    path.write_text("user_id,event_type,ts\nu1,view,yesterday\n")
    code, out, err = run(capsys, "ingest", str(path), "--kind", "events")
    assert code == 2
    assert "row 1, column 'ts'" in err and "Traceback" not in err
    assert not (shoplens_home / "shoplens.duckdb").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--shop", "../../etc"], "not a valid shop id"),
        (["--map", "no-equals-sign"], "expected SOURCE=FIELD"),
        (["--value", "event_type-buy"], "expected FIELD:FROM=TO"),
        (["--shop", "x" * 100_000], "not a valid shop id"),
    ],
)
def test_bad_arguments_say_what_to_fix(
    shoplens_home: Path, tmp_path: Path, capsys, argv: list[str], message: str
) -> None:
    path = tmp_path / "log.csv"
    path.write_text(EVENTS)
    code, _, err = run(capsys, "ingest", str(path), "--kind", "events", *argv)
    assert code == 2 and message in err


def test_cli_kind_choices_match_the_ingestion_kinds() -> None:
    from app.cli.data_cmds import KINDS as CLI_KINDS
    from db.ingest_specs import KINDS

    assert tuple(sorted(KINDS)) == CLI_KINDS


def test_a_closed_pipe_is_not_an_error(shoplens_home: Path) -> None:
    """`shoplens status --json | head` : the reader going away ends the command quietly."""
    import os
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "status", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "SHOPLENS_HOME": str(shoplens_home)},
    )  # fmt: skip
    proc.stdout.close()  # the reader is gone before the first write
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert b"Broken pipe" not in err and b"Traceback" not in err and b"error" not in err
