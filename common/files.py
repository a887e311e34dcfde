"""Writing files a user names, safely: never over the store, the runtime folder or the input,
never over an existing file unless asked, and never half-written (temp file, then rename).

    >>> target = check_output(Path("out.csv"), home=settings.home, inputs=[Path("in.csv")])
    >>> write_atomically(target, lambda tmp: frame.to_csv(tmp, index=False))
"""

from __future__ import annotations

import os
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
                 flag: str = "--output") -> Path:  # fmt: skip
    """``path`` resolved, if it is safe to write: not inside ShopLens's runtime folder
    ``home`` (the store, models, secrets, Label Studio's data), not one of ``inputs``, not a
    folder, and not an existing file unless ``overwrite``."""
    target = Path(path).expanduser()
    resolved = target.resolve()
    home = Path(home).resolve()
    if _inside(resolved, home):
        raise InputError(
            f"{flag} {str(path)[:200]!r} is inside ShopLens's runtime folder ({home}), which "
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


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Let ``write(tmp)`` fill a temporary file beside ``path``, then rename it into place (mode
    600): a crash leaves the old file, or none, never half of the new one."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o600)
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
