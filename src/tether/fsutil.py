"""File writes that a kill cannot tear: temp file in the same directory, then rename."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` in one rename; keeps the old mode unless given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tether-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


# --- writes that never follow a symlink ----------------------------------------------
#
# Restores, rollbacks and the file tools write model-chosen paths with tether's own
# rights, outside the sandbox. Every path component is opened relative to its parent
# with O_NOFOLLOW, so a symlink anywhere in the path (say `src` -> /etc) is refused
# instead of followed; the last component is replaced by a rename, which replaces a
# link itself, never its target.


class UnsafePath(OSError):
    """A component of the path is a symlink, a file, or '..': tether will not go there."""


def _open_parent(root: Path, rel: str, create: bool) -> tuple[int, str]:
    parts = rel.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise UnsafePath(f"{rel!r} is not a plain relative path")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            try:
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, 0o777, dir_fd=fd)
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError:  # ELOOP (a symlink) or ENOTDIR (a file)
                raise UnsafePath(f"{rel!r}: {part!r} is a symlink or not a folder") from None
            os.close(fd)
            fd = child
        return fd, parts[-1]
    except BaseException:
        os.close(fd)
        raise


def safe_write(root: Path, rel: str, data: bytes, mode: int | None = None) -> None:
    """``atomic_write`` of ``root/rel``, following no symlink on the way."""
    fd, name = _open_parent(root, rel, create=True)
    try:
        if mode is None:
            try:
                mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode & 0o777
            except FileNotFoundError:
                mode = 0o666 & ~_umask()
        tmp = f".{name[:200]}.{os.getpid()}.tether-tmp"
        out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600, dir_fd=fd)
        try:
            with os.fdopen(out, "wb") as handle:
                handle.write(data)
                os.fchmod(handle.fileno(), mode)
            os.rename(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=fd)
            raise
    finally:
        os.close(fd)


def safe_symlink(root: Path, rel: str, target: str) -> None:
    """Make ``root/rel`` a symlink to ``target`` (the link, not what it points to)."""
    fd, name = _open_parent(root, rel, create=True)
    try:
        tmp = f".{name[:200]}.{os.getpid()}.tether-link"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=fd)
        os.symlink(target, tmp, dir_fd=fd)
        os.rename(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
    finally:
        os.close(fd)


def safe_unlink(root: Path, rel: str) -> bool:
    """Remove the file or link ``root/rel`` and the folders it leaves empty; False if
    there was nothing to remove."""
    try:
        fd, name = _open_parent(root, rel, create=False)
    except FileNotFoundError:
        return False
    try:
        os.unlink(name, dir_fd=fd)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return False
    finally:
        os.close(fd)
    parts = rel.split("/")[:-1]
    while parts:
        try:
            fd, name = _open_parent(root, "/".join(parts), create=False)
        except OSError:
            break
        try:
            os.rmdir(name, dir_fd=fd)
        except OSError:
            break
        finally:
            os.close(fd)
        parts.pop()
    return True


def read_regular(path: Path, limit: int | None = None) -> bytes:
    """The bytes of a regular file; never blocks on a FIFO or reads a device."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafePath(f"{path} is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read() if limit is None else handle.read(limit)
    finally:
        os.close(fd)


def read_input(path: Path, where: str | None = None) -> str:
    """A file the user writes (tether.toml, PLAN.md, VERIFY.md, AGENTS.md) as text: a
    UTF-8 byte-order mark is dropped; invalid UTF-8 or a NUL byte is a clear error at
    file:line, never a traceback."""
    from tether.errors import UsageError

    name = where or str(path)
    try:
        data = read_regular(path)
    except UnsafePath:
        raise UsageError(f"{name} is not a regular file") from None
    except OSError as exc:
        raise UsageError(f"{name} cannot be read: {exc.strerror or exc}") from None
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UsageError(
            f"byte {data[exc.start]:#04x} is not valid UTF-8",
            where=f"{name}:{line}",
            hint="save the file as UTF-8",
        ) from None
    if "\0" in text:
        line = text.count("\n", 0, text.index("\0")) + 1
        raise UsageError("the file holds a NUL byte", where=f"{name}:{line}", hint="remove it")
    return text
