"""Where reports and inventories go, written the way a Unix tool writes its output.

`-` is standard output, and so are /dev/stdout and /proc/self/fd/1 (any /dev/fd/N is
written through that descriptor). A regular file (or a symlink to one, or a path not there yet) is
replaced atomically: a temporary file beside the target, renamed onto it, so a reader never
sees half a report and a symlink keeps pointing where it did. Anything else that already
exists (a FIFO, `/dev/stdout`, `/dev/null`, a terminal) is opened and written as it is,
never replaced. Every path is checked before any work is done; a write that fails later is
an OutputError (one line, exit 5) and leaves no temporary file behind.

The reports of one scan are a set: they are all rendered and staged before the first one
replaces anything, so a crash or Ctrl-C while rendering leaves the previous reports intact;
then the files are put in place, and last what goes to standard output, FIFOs and devices.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from auditor.errors import OutputError, UsageError

STDOUT = "-"
_STAGED: set[str] = set()  # the temporary files on disk now (remove_staged)


# A report whole, or in pieces written in turn, never joined: text, or UTF-8 bytes written as
# they are (a piece of bytes may end inside a character that the next one completes).
Text = str | Iterable[str | bytes]


@dataclass(frozen=True)
class Target:
    """One output: what the user wrote, where it lands, and how it is written."""

    given: str
    path: Path | None  # the resolved file; None for a file descriptor
    replace: bool      # a regular file (renamed into place) rather than written as it is
    fd: int | None = None  # `-` and /dev/stdout: 1; /dev/stderr, /dev/fd/N: N

    @property
    def is_stdout(self) -> bool:
        return self.fd == 1


def plan(outputs: Mapping[str, Path | str | None]) -> dict[str, Target]:
    """Check every output path before any work is done (UsageError, exit 2).

    `outputs` maps what the output is (`--json`, `--save-inventory`) to its path. Two outputs
    on the same file (after symlinks) or on standard output are refused.
    """
    targets = {what: target(str(path)) for what, path in outputs.items() if path is not None}
    seen: dict[object, str] = {}
    for what, found in targets.items():
        key = _identity(found)
        if key in seen:
            where = found.path or ("standard output" if found.is_stdout else found.given)
            raise UsageError(f"{seen[key]} and {what} would both write {where}; "
                             "give each output its own place")
        seen[key] = what
    return targets


def target(given: str) -> Target:
    """Resolve one output path, or say why it cannot be written."""
    fd = 1 if given == STDOUT else _descriptor(given)
    if fd is not None:
        if fd != 1:  # standard output is checked when it is written (a test captures it)
            try:
                os.fstat(fd)
            except OSError as exc:
                raise UsageError(f"cannot write {given}: {exc.strerror}") from None
        return Target(given, None, replace=False, fd=fd)
    path = Path(os.path.realpath(given))
    try:
        mode: int | None = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise UsageError(f"cannot write {given}: {exc.strerror}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise UsageError(f"cannot write {given}: it is a folder")
    if mode is not None and stat.S_ISSOCK(mode):
        raise UsageError(f"cannot write {given}: it is a socket")
    if mode is not None and not stat.S_ISREG(mode):  # FIFO, device: written as it is
        if not os.access(path, os.W_OK):
            raise UsageError(f"cannot write {given}: permission denied")
        return Target(given, path, replace=False)
    folder = path.parent
    if not folder.is_dir():
        shown = folder if os.path.islink(given) else Path(given).parent
        raise UsageError(f"cannot write {given}: folder {shown} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (mode is not None
                                                    and not os.access(path, os.W_OK)):
        raise UsageError(f"cannot write {given}: permission denied")
    return Target(given, path, replace=True)


_FD_LINK = re.compile(rf"/(?:dev|proc/self|proc/{os.getpid()})/fd/([0-9]+)")


def _descriptor(given: str) -> int | None:
    """The file descriptor a path names (/dev/stdout -> /proc/self/fd/1), or None.

    Written through the descriptor itself: resolving it would find the file the shell opened
    (`> out.txt`) and replace it, or write over what our own stdout writes there."""
    path = given
    for _ in range(40):  # the kernel's own limit on a chain of symlinks
        found = _FD_LINK.fullmatch(os.path.normpath(path))
        if found:
            return int(found[1])
        if not os.path.islink(path):
            return None
        path = os.path.join(os.path.dirname(path), os.readlink(path))
    return None


def is_stdout(given: str) -> bool:
    """`-`, /dev/stdout, /proc/self/fd/1 ..."""
    return given == STDOUT or _descriptor(given) == 1


def _identity(found: Target) -> object:
    if found.path is None:
        return ("fd", found.fd)
    try:
        info = found.path.stat()
    except OSError:
        return str(found.path)
    return (info.st_dev, info.st_ino)


def write_stdout(stream: TextIO, text: Text) -> None:
    """Write and flush standard output; a failure (a closed pipe, a full disk) is an
    OutputError, not a traceback at exit."""
    try:
        _write(stream, text)
        stream.flush()
    except OSError as exc:
        raise OutputError("standard output", exc.strerror or str(exc), stdout=True) from None


@dataclass
class ReportSet:
    """Outputs staged now and put in place together by `commit`."""

    stdout: TextIO
    _staged: list[tuple[Target, str]] = field(default_factory=list)  # (target, temp file)
    _direct: list[tuple[Target, Text]] = field(default_factory=list)  # (target, text)

    def add(self, where: Target, text: Text) -> None:
        """A file is staged at once, piece by piece; other outputs wait for `commit`."""
        if where.replace:
            self._staged.append((where, _stage(where, text)))
        else:
            self._direct.append((where, text if isinstance(text, str) else list(text)))

    def commit(self) -> None:
        """Files first: a reader that goes away (`| head`) must not cost the files."""
        for where, temp in self._staged:
            assert where.path is not None
            try:
                os.replace(temp, where.path)
            except OSError as exc:
                raise OutputError(where.given, exc.strerror or str(exc)) from None
            _STAGED.discard(temp)
        self._staged.clear()
        for where, text in self._direct:
            if where.is_stdout:
                write_stdout(self.stdout, text)
            else:
                _write_direct(where, text)

    def discard(self) -> None:
        for _, temp in self._staged:
            Path(temp).unlink(missing_ok=True)
            _STAGED.discard(temp)
        self._staged.clear()


@contextmanager
def report_set(stdout: TextIO) -> Iterator[ReportSet]:
    """Stage outputs in the block; commit at its end, or discard every one on any error."""
    reports = ReportSet(stdout)
    try:
        yield reports
        reports.commit()
    finally:
        reports.discard()


def write_output(where: Target, text: Text, stdout: TextIO) -> None:
    """Write one output on its own (an inventory)."""
    with report_set(stdout) as reports:
        reports.add(where, text)


def _stage(where: Target, text: Text) -> str:
    """The text in a temporary file beside the target, with the mode the file would get."""
    assert where.path is not None
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{where.path.name}.", suffix=".tmp",
                                    dir=where.path.parent)
    except OSError as exc:
        raise OutputError(where.given, exc.strerror or str(exc)) from None
    _STAGED.add(temp)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            _write(handle, text)
        os.chmod(temp, _file_mode(where.path))  # mkstemp made it 0600
    except BaseException as exc:
        Path(temp).unlink(missing_ok=True)
        _STAGED.discard(temp)
        if isinstance(exc, OSError):
            raise OutputError(where.given, exc.strerror or str(exc)) from None
        raise
    return temp


def remove_staged() -> None:
    """Remove every temporary file still on disk. For a run ended at once (a second Ctrl-C,
    auditor/cli/interrupts.py), which skips the unwinding that removes them otherwise."""
    for temp in list(_STAGED):
        Path(temp).unlink(missing_ok=True)
    _STAGED.clear()


def _write_direct(where: Target, text: Text) -> None:
    """A FIFO or a device opened as it is, or a descriptor we hold (a copy, left open)."""
    try:
        target: Path | int = where.path if where.path is not None else os.dup(where.fd or 0)
        with open(target, "w", encoding="utf-8", newline="") as handle:
            _write(handle, text)
    except OSError as exc:
        raise OutputError(where.given, exc.strerror or str(exc)) from None


def _write(stream: TextIO, text: Text, piece: int = 1 << 20) -> None:
    """A piece at a time, so that a 100 MB report is not encoded into a second copy whole;
    bytes through the stream's binary buffer (decoded only for a stream without one)."""
    decoder = None
    for part in [text] if isinstance(text, str) else text:
        if isinstance(part, bytes):
            buffer = getattr(stream, "buffer", None)
            if buffer is not None:
                stream.flush()
                buffer.write(part)
                continue
            decoder = decoder or codecs.getincrementaldecoder("utf-8")()
            part = decoder.decode(part)
        for start in range(0, len(part), piece):
            stream.write(part[start:start + piece])


def _file_mode(path: Path) -> int:
    """The replaced file's mode, or what open() would give a new file under the umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask
