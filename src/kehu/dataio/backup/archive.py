"""The archive file: a gzipped tar written under a temporary name (mode 0600) and renamed when
complete, every member hashed as it is written; read back member by member into a directory,
each member's size and SHA-256 checked against the manifest, the member being read named when
the archive is damaged."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

MANIFEST = "manifest.json"
NAME_RE = re.compile(r"^kehu-backup-(?P<stamp>\d{8}T\d{6}Z)(?:-(?P<n>\d+))?\.tar\.gz$")
CHUNK = 1024 * 1024


class HashingReader(io.RawIOBase):
    """Reads from a file and hashes exactly what was read."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        self.count += len(data)
        return data


@dataclass
class ArchiveWriter:
    """Members go in one by one; ``close`` adds the manifest last, then renames the file."""

    final: Path
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        handle, temporary = tempfile.mkstemp(dir=self.final.parent, prefix=f".{self.final.name}.", suffix=".part")
        os.fchmod(handle, 0o600)
        self.temporary = Path(temporary)
        self.raw = os.fdopen(handle, "wb")
        self.tar = tarfile.open(fileobj=self.raw, mode="w:gz", compresslevel=6)  # noqa: SIM115

    def add_file(self, name: str, path: Path) -> dict[str, Any]:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = size, 0o600, int(path.stat().st_mtime)
            reader = HashingReader(handle)
            self.tar.addfile(info, reader)  # type: ignore[arg-type]
        self.files[name] = {"size": size, "sha256": reader.digest.hexdigest()}
        return self.files[name]

    def close(self, manifest: dict[str, Any]) -> Path:
        data = json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode, info.mtime = len(data), 0o600, int(manifest.get("created_ts", 0))
        self.tar.addfile(info, io.BytesIO(data))
        self.tar.close()
        self.raw.flush()
        os.fsync(self.raw.fileno())
        self.raw.close()
        os.replace(self.temporary, self.final)
        directory = os.open(self.final.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return self.final

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # the file is removed anyway
            self.tar.close()
        self.raw.close()
        self.temporary.unlink(missing_ok=True)


@dataclass
class Extracted:
    """What reading an archive found: the manifest (None when missing or unreadable), the
    directory holding the members, and every problem (one line each)."""

    directory: Path
    manifest: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    found: dict[str, dict[str, Any]] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        return self.directory / name


def safe_member_name(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts


def extract(archive: Path, directory: Path) -> Extracted:
    """Unpack ``archive`` into ``directory`` (regular files only, mode 0600), hashing every
    member, then compare with the manifest's file list."""
    result = Extracted(directory=directory)
    current = "(the start of the archive)"
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for member in tar:
                current = member.name
                if not member.isfile() or not safe_member_name(member.name):
                    result.problems.append(f"{member.name}: unexpected member (not a plain file), ignored")
                    continue
                source = tar.extractfile(member)
                if source is None:
                    continue
                digest, size = hashlib.sha256(), 0
                target = directory / member.name
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as out:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                result.found[member.name] = {"size": size, "sha256": digest.hexdigest()}
                current = f"(after {member.name})"
            # Read the compressed stream to its end, so that gzip checks its CRC there too.
            assert tar.fileobj is not None
            while tar.fileobj.read(CHUNK):
                pass
    except (tarfile.TarError, zlib.error, EOFError, OSError) as error:
        result.problems.append(f"{current}: the archive is damaged here: {error}")
    manifest_path = directory / MANIFEST
    if MANIFEST in result.found:
        try:
            result.manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except ValueError as error:
            result.problems.append(f"{MANIFEST}: not readable JSON: {error}")
    else:
        result.problems.append(f"{MANIFEST}: missing — not a Kehu backup archive, or a damaged one")
    if result.manifest is not None:
        result.problems.extend(compare_files(result.manifest.get("files", {}), result.found))
    return result


def compare_files(expected: dict[str, dict[str, Any]], found: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    for name in sorted(expected):
        want, got = expected[name], found.get(name)
        if got is None:
            problems.append(f"{name}: missing from the archive")
        elif got["size"] != want.get("size"):
            problems.append(f"{name}: {got['size']} bytes, the manifest says {want.get('size')}")
        elif got["sha256"] != want.get("sha256"):
            problems.append(f"{name}: SHA-256 differs from the manifest (the file is damaged)")
    for name in sorted(set(found) - set(expected) - {MANIFEST}):
        problems.append(f"{name}: not listed in the manifest")
    return problems


def archive_names(directory: Path) -> list[Path]:
    """The archives in ``directory`` whose names follow the pattern, oldest first."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = NAME_RE.match(path.name)
        if match and path.is_file():
            found.append((match["stamp"], int(match["n"] or 0), path))
    return [path for _stamp, _n, path in sorted(found)]


def files_under(root: Path) -> Iterable[tuple[str, Path]]:
    """Regular files below ``root`` as (relative POSIX name, path), sorted; symlinks skipped."""
    if not root.is_dir():
        return []
    found = []
    for directory, subdirs, names in os.walk(root):
        subdirs.sort()
        for name in sorted(names):
            path = Path(directory) / name
            if path.is_file() and not path.is_symlink():
                found.append((path.relative_to(root).as_posix(), path))
    return found
