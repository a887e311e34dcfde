"""Files a user names are written safely: never over the store, the runtime folder or the input,
never over an existing file unless asked, and never half-written."""

from __future__ import annotations

import pytest

from common.errors import InputError
from common.files import check_output, write_atomically

pytestmark = pytest.mark.unit


def test_refuses_runtime_data_inputs_folders_and_existing_files(tmp_path):
    home, elsewhere = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    elsewhere.mkdir()
    store = tmp_path / "db" / "shop.duckdb"
    store.parent.mkdir()
    store.write_text("store")
    source = elsewhere / "in.csv"
    source.write_text("text\nhi\n")
    cases = {
        home / "shoplens.duckdb": "runtime data",
        home / "models" / "x.csv": "runtime data",
        store: "runtime data",
        store.with_name("shop.duckdb.wal"): "runtime data",
        source: "exists already",
        elsewhere: "is a folder",
        elsewhere / "missing" / "out.csv": "does not exist",
    }
    for target, message in cases.items():
        with pytest.raises(InputError, match=message):
            check_output(target, home=home, protected=[store])
    with pytest.raises(InputError, match="is the input file"):
        check_output(source, home=home, inputs=[source], overwrite=True)
    assert check_output(elsewhere / "out.csv", home=home) == (elsewhere / "out.csv").resolve()
    assert check_output(source, home=home, overwrite=True) == source.resolve()
    assert check_output(tmp_path / "home.csv", home=home) == (tmp_path / "home.csv").resolve()


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomically(target, broken)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    write_atomically(target, lambda tmp: tmp.write_text("new"))
    assert target.read_text() == "new" and oct(target.stat().st_mode & 0o777) == "0o600"


def test_runtime_data_becomes_owner_only_and_stays_so(tmp_path):
    import os

    from common.files import make_private

    home = tmp_path / "home"
    (home / "labelstudio").mkdir(parents=True)
    store = home / "shoplens.duckdb"
    store.write_text("x")
    secret = home / "labelstudio" / "label_studio.sqlite3"
    secret.write_text("token")
    for path, mode in (
        (home, 0o755),
        (home / "labelstudio", 0o755),
        (store, 0o644),
        (secret, 0o644),
    ):
        os.chmod(path, mode)
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("not ours")
    os.chmod(outside, 0o644)
    (home / "link").symlink_to(outside)
    old = os.umask(0o022)
    try:
        assert make_private(home) == 4
        modes = {
            p.name: oct(p.stat().st_mode & 0o777)
            for p in (home, home / "labelstudio", store, secret)
        }
        assert set(modes.values()) <= {"0o700", "0o600"}
        assert oct(outside.stat().st_mode & 0o777) == "0o644"  # a symlink is never followed
        (home / "new.csv").write_text("later")
        assert oct((home / "new.csv").stat().st_mode & 0o777) == "0o600"
        assert make_private(home) == 0
    finally:
        os.umask(old)
