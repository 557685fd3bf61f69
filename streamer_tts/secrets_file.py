"""Secret files (API token, Twitch tokens): owner-only, atomic, never via a symlink.

A secret is written to a fresh temp file in the same directory (exclusive
create, `O_NOFOLLOW`, mode 0600 from the first byte), synced, then moved into
place: a reader sees the old file or the new one, never half of one, and a
symlink planted at either name is never followed. `create_secret_file` only
creates: of two processes racing at a first start, one wins and both read
the winner's content.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["SecretFileError", "create_secret_file", "read_secret_file", "write_secret_file"]

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class SecretFileError(OSError):
    """A secret file that cannot be used safely (a symlink, not a regular file)."""


def _temp(path: Path, data: bytes) -> Path:
    """`data` in a new synced 0600 temp file beside `path`."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, _FLAGS, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask may only have removed bits; make it exact
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    return tmp


def _sync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_secret_file(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically, mode 0600 (a symlink there is replaced,
    not followed)."""
    tmp = _temp(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_dir(path.parent)


def create_secret_file(path: Path, data: bytes) -> bool:
    """Create `path` holding `data` unless something is already there (True if
    this call created it). The content appears whole: it is linked into place."""
    tmp = _temp(path, data)
    try:
        os.link(tmp, path, follow_symlinks=False)
    except FileExistsError:
        return False
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    _sync_dir(path.parent)
    return True


def read_secret_file(path: Path) -> bytes:
    """The content of a regular file at `path`; a symlink or anything else is refused."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if e.errno == errno.ELOOP:  # the last component is a symlink
            raise SecretFileError(
                f"{path} is a symlink; refusing to read a secret through it"
            ) from None
        raise
    with os.fdopen(fd, "rb") as fp:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SecretFileError(f"{path} is not a regular file")
        return fp.read()
