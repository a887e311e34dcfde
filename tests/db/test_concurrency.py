"""Two processes, one DuckDB file: the dashboard keeps reading while a job writes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from db.store import Store

pytestmark = pytest.mark.integration

BATCH = 500
BATCHES = 20

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from db.store import Store

    store = Store(Path(sys.argv[1]), lock_timeout_s=30)
    for batch in range({batches}):
        with store.write() as con:
            con.execute(
                "INSERT INTO events SELECT (hash(?, i) >> 1)::BIGINT, 's', 'u' || i, 's' || i, "
                "NULL, NULL, 'view', NULL, TIMESTAMP '2024-05-01' + INTERVAL (i) SECOND, ? "
                "FROM range(?) t(i)",
                [batch, batch, {batch}],
            )
        time.sleep(0.02)
    print("writer done", flush=True)
    """
).format(batches=BATCHES, batch=BATCH)


def test_reader_keeps_answering_while_another_process_writes(store: Store, tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    repo = Path(__file__).resolve().parents[2]
    writer = subprocess.Popen(
        [sys.executable, str(script), str(store.db_path)],
        cwd=repo,
        env={"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[int] = []
    read_times: list[float] = []
    try:
        while writer.poll() is None:
            started = time.perf_counter()
            with store.read() as con:
                seen.append(con.execute("SELECT count(*) FROM events").fetchone()[0])
            read_times.append(time.perf_counter() - started)
    finally:
        out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err[-2000:]
    assert "writer done" in out
    # the reader got many answers while the writer ran, never a partial batch, never going back
    assert len(seen) >= 5
    assert all(n % BATCH == 0 for n in seen)
    assert seen == sorted(seen)
    assert max(read_times) < 10
    assert store.table_counts()["events"] == BATCH * BATCHES


def test_writer_waits_for_a_reader_then_succeeds(store: Store) -> None:
    other = Store(store.db_path, lock_timeout_s=5)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from db.store import Store\n"
            "with Store(Path(sys.argv[1])).read() as con:\n"
            "    print('holding', flush=True); time.sleep(1.5)",
            str(store.db_path),
        ],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "holding"
    started = time.perf_counter()
    with other.write() as con:
        con.execute("INSERT INTO shops VALUES ('late', 'Late', now()::TIMESTAMP)")
    waited = time.perf_counter() - started
    holder.wait(timeout=30)
    assert waited > 0.3  # it had to wait for the other process's read to finish
    assert other.table_counts()["shops"] == 1
