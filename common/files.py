"""Writing files a user names, safely: never over the store, the runtime folder or the input,
never over an existing file unless asked, and never half-written (temp file, then rename).

    >>> target = check_output(Path("out.csv"), home=settings.home, inputs=[Path("in.csv")])
    >>> write_atomically(target, lambda tmp: frame.to_csv(tmp, index=False))
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from common.errors import InputError


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def check_output(path: Path, *, home: Path, inputs: Iterable[Path] = (), overwrite: bool = False,
                 flag: str = "--output", protected: Iterable[Path] = ()) -> Path:  # fmt: skip
    """``path`` resolved, if it is safe to write: not inside ShopLens's runtime folder
    ``home`` (the store, models, secrets, Label Studio's data) nor inside any ``protected``
    path (a store or model folder kept elsewhere), not one of ``inputs``, not a folder, and not
    an existing file unless ``overwrite``."""
    target = Path(path).expanduser()
    resolved = target.resolve()
    for kept in (Path(home), *map(Path, protected)):
        kept = kept.expanduser().resolve()
        inside = resolved == kept or _inside(resolved, kept)
        # a store file's write-ahead log and temp files (store.duckdb.wal, ...) count as the store
        companion = (
            not kept.is_dir()
            and resolved.parent == kept.parent
            and (resolved.name.startswith(kept.name + "."))
        )
        if inside or companion:
            raise InputError(
                f"{flag} {str(path)[:200]!r} is inside ShopLens's runtime data ({kept}), which "
                "holds the store, the models and the secrets; write the file somewhere else."
            )
    for source in inputs:
        if Path(source).expanduser().resolve() == resolved:
            raise InputError(f"{flag} {str(path)[:200]!r} is the input file; choose another name.")
    if resolved.is_dir():
        raise InputError(f"{flag} {str(path)[:200]!r} is a folder; give a file name.")
    if resolved.exists() and not overwrite:
        raise InputError(
            f"{flag} {str(path)[:200]!r} exists already; choose another name or pass --overwrite."
        )
    if not resolved.parent.is_dir():
        raise InputError(
            f"{flag} {str(path)[:200]!r}: the folder {resolved.parent} does not exist."
        )
    return resolved


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Let ``write(tmp)`` fill a temporary file beside ``path``, then rename it into place (mode
    600): a crash leaves the old file, or none, never half of the new one."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o600)
        write(tmp)
        os.chmod(tmp, 0o600)  # a writer may have replaced the file (DuckDB's COPY does)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def make_private(home: Path, also: Iterable[Path] = ()) -> int:
    """Make ShopLens's runtime data owner-only: create ``home`` with mode 700, take group and
    other access away from everything already in it (and from the ``also`` paths, e.g. a store
    kept elsewhere), and set this process's umask to 077 so every file it and its children
    (Label Studio, jobs) create later is owner-only too. Symlinks are left alone (never
    followed). Returns how many paths had their mode narrowed."""
    os.umask(0o077)
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    fixed = 0
    for path in (home, *home.rglob("*"), *(Path(p) for p in also if Path(p).exists())):
        try:
            info = path.lstat()
        except FileNotFoundError:  # removed while we walked (a finished job's temp file)
            continue
        if stat.S_ISLNK(info.st_mode) or not info.st_mode & 0o077:
            continue
        os.chmod(path, stat.S_IMODE(info.st_mode) & 0o700)
        fixed += 1
    return fixed


def secret_key(path: Path, size: int = 32) -> bytes:
    """The random key stored at ``path`` (created owner-only on first use): for keyed hashes
    that must stay the same across runs, such as the pseudonyms of ids in exports."""
    path = Path(path)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return path.read_bytes()
        with os.fdopen(fd, "wb") as fh:
            fh.write(os.urandom(size))
    return path.read_bytes()
