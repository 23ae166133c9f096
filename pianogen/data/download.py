"""Download and safely extract the MAESTRO MIDI archive.

The download streams to ``DEST/NAME.part``, resumes a partial file with an HTTP Range
request, verifies a SHA-256 checksum (or, when none is given, the CRC of every zip
member), then extracts. Extraction checks every member first and refuses the whole
archive if any would land outside ``DEST`` (absolute paths, ``..``, links).
A marker ``DEST/NAME.verified.json`` records a finished run so a re-run does nothing.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import socket
import stat
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from pianogen.io import write_json

log = logging.getLogger(__name__)

MAESTRO_URL = "https://storage.googleapis.com/magentadata/datasets/maestro/v3.0.0/maestro-v3.0.0-midi.zip"
# The dataset page publishes no checksum for the archive; pass --sha256 to pin one.
# Without it every zip member's CRC-32 is checked before extraction.
MAESTRO_SHA256: str | None = None
CHUNK = 1 << 16


class DownloadError(RuntimeError):
    """The archive could not be fetched, verified or safely extracted."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fetch(url: str, part: Path, timeout: float, progress: bool) -> None:
    """Append the rest of ``url`` to ``part`` (Range request when part is non-empty)."""
    from tqdm import tqdm

    offset = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left to fetch: the part is complete
            return
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    with resp:
        if offset and resp.status != 206:
            log.info("server ignored the Range request; starting over")
            offset = 0
        length = resp.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        with open(part, "ab" if offset else "wb") as f, tqdm(
            total=total, initial=offset, unit="B", unit_scale=True, desc=part.name, disable=not progress, file=sys.stderr
        ) as bar:
            while block := resp.read(CHUNK):
                f.write(block)
                bar.update(len(block))
    got = part.stat().st_size
    if total is not None and got < total:
        raise http.client.IncompleteRead(b"", total - got)


def _check_members(zf: zipfile.ZipFile, archive: Path, dest: Path) -> list[str]:
    """Names of regular files to extract; refuse the archive if any member is unsafe."""
    root = dest.resolve()
    names = []
    for info in zf.infolist():
        name = info.filename
        mode = info.external_attr >> 16
        unsafe = (
            name.startswith(("/", "\\"))
            or (len(name) > 1 and name[1] == ":")
            or ".." in PurePosixPath(name.replace("\\", "/")).parts
            or stat.S_ISLNK(mode)
            or not (root / name).resolve().is_relative_to(root)
        )
        if unsafe:
            raise DownloadError(f"{archive}: refusing to extract member {name!r}: it would land outside {dest} (absolute path, '..' or link)")
        if not info.is_dir():
            names.append(name)
    return names


def _extract(archive: Path, dest: Path) -> list[str]:
    """Extract into a temporary folder inside ``dest``, then move files into place."""
    with zipfile.ZipFile(archive) as zf:
        names = _check_members(zf, archive, dest)
        tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
        try:
            zf.extractall(tmp, members=names)
            for name in names:
                target = dest / name
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp / name, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return names


def _already_done(marker: Path, dest: Path, sha256: str | None) -> bool:
    import json

    if not marker.is_file():
        return False
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if sha256 and info.get("sha256") != sha256.lower():
        return False
    return all((dest / m).is_file() for m in info.get("members", []))


def download_maestro(
    dest: str | os.PathLike = "data/maestro",
    url: str = MAESTRO_URL,
    sha256: str | None = MAESTRO_SHA256,
    retries: int = 5,
    timeout: float = 60.0,
    progress: bool = True,
) -> Path:
    """Download ``url`` into ``dest``, verify it and extract it; return ``dest``.

    A dropped connection is resumed (HTTP Range) up to ``retries`` times; a partial
    file left by an earlier run is resumed too. A checksum mismatch raises
    :class:`DownloadError`, removes the bad download and extracts nothing.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    name = PurePosixPath(urllib.parse.urlparse(url).path).name or "download.zip"
    archive, part, marker = dest / name, dest / f"{name}.part", dest / f"{name}.verified.json"
    if _already_done(marker, dest, sha256):
        log.info("%s: already downloaded, verified and extracted; nothing to do", archive)
        return dest

    if not archive.is_file():
        for attempt in range(retries + 1):
            try:
                _fetch(url, part, timeout, progress)
                break
            except (http.client.IncompleteRead, ConnectionError, socket.timeout, urllib.error.URLError, http.client.HTTPException) as exc:
                have = part.stat().st_size if part.exists() else 0
                if isinstance(getattr(exc, "reason", None), socket.gaierror):  # no such host, or no network: retrying cannot help
                    raise DownloadError(f"{url}: cannot resolve the host ({exc.reason}); check the address and the network") from None
                if attempt == retries:
                    resume = f"run again to resume from {part}" if have else "nothing was downloaded; run again when the connection is back"
                    raise DownloadError(f"{url}: download interrupted at {have} bytes ({exc!r}); {resume}") from None
                log.warning("%s: connection lost at %d bytes (%s); resuming", url, have, type(exc).__name__)
                time.sleep(min(2**attempt * 0.1, 5))
        os.replace(part, archive)

    digest = sha256_file(archive)
    if sha256 and digest != sha256.lower():
        archive.unlink()
        raise DownloadError(f"{archive}: checksum mismatch (expected sha256 {sha256.lower()}, got {digest}); the download was removed, nothing was extracted")
    try:
        with zipfile.ZipFile(archive) as zf:
            bad = zf.testzip()
    except zipfile.BadZipFile as exc:
        archive.unlink()
        raise DownloadError(f"{archive}: not a valid zip archive ({exc}); the download was removed") from None
    if bad is not None:
        archive.unlink()
        raise DownloadError(f"{archive}: member {bad!r} fails its CRC check; the download was removed")
    if not sha256:
        log.warning("%s: no --sha256 given; zip CRCs verified, sha256 is %s", archive, digest)

    members = _extract(archive, dest)
    write_json(marker, {"url": url, "sha256": digest, "archive": name, "members": members, "time": time.strftime("%Y-%m-%dT%H:%M:%S")})
    log.info("%s: verified (sha256 %s) and extracted %d files into %s", archive, digest, len(members), dest)
    return dest

