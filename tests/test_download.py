"""download_maestro() against archives built from the bundled corpus, served on 127.0.0.1."""

from __future__ import annotations

import hashlib
import http.server
import io
import re
import threading
import zipfile

import pytest

from conftest import CORPUS, MAESTRO_ROOT
from pianogen.data import DownloadError, download_maestro


def corpus_zip(extra: dict[str, bytes] | None = None, symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(MAESTRO_ROOT.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(CORPUS).as_posix())
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``files``; honours ``Range: bytes=N-``; can drop the connection once after ``cut_after`` bytes."""

    files: dict[str, bytes] = {}
    cut_after: int | None = None
    log: list[tuple[str, str | None]] = []

    def do_GET(self):  # noqa: N802
        data = self.files.get(self.path)
        rng = self.headers.get("Range")
        type(self).log.append((self.path, rng))
        if data is None:
            self.send_error(404)
            return
        start = int(re.match(r"bytes=(\d+)-", rng).group(1)) if rng else 0
        if start >= len(data):
            self.send_error(416)
            return
        body = data[start:]
        self.send_response(206 if rng else 200)
        if rng:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.cut_after is not None:
            cut, type(self).cut_after = self.cut_after, None
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.connection.shutdown(2)  # the connection dies mid-file
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Handler.files, Handler.cut_after, Handler.log = {}, None, []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def serve(server: str, data: bytes, name: str = "maestro-v3.0.0-midi.zip") -> str:
    Handler.files[f"/{name}"] = data
    return f"{server}/{name}"


def test_clean_download_then_nothing_to_do(server, tmp_path, caplog):
    data = corpus_zip()
    url = serve(server, data)
    sha = hashlib.sha256(data).hexdigest()
    dest = download_maestro(tmp_path, url=url, sha256=sha, progress=False)
    assert (dest / "maestro-v3.0.0" / "maestro-v3.0.0.csv").is_file()
    assert len(list((dest / "maestro-v3.0.0").glob("*/*.midi"))) == 42
    assert (tmp_path / "maestro-v3.0.0-midi.zip").read_bytes() == data
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob(".extract-*"))
    caplog.clear()
    requests = len(Handler.log)
    with caplog.at_level("INFO"):
        download_maestro(tmp_path, url=url, sha256=sha, progress=False)
    assert len(Handler.log) == requests  # nothing fetched again
    assert "nothing to do" in caplog.text


def test_cut_connection_resumes_with_range(server, tmp_path):
    data = corpus_zip()
    url = serve(server, data)
    Handler.cut_after = len(data) // 3
    with pytest.raises(DownloadError, match="run again to resume"):
        download_maestro(tmp_path, url=url, retries=0, progress=False)
    part = tmp_path / "maestro-v3.0.0-midi.zip.part"
    assert 0 < part.stat().st_size < len(data)
    assert not (tmp_path / "maestro-v3.0.0").exists()
    download_maestro(tmp_path, url=url, sha256=hashlib.sha256(data).hexdigest(), progress=False)
    assert Handler.log[-1][1] == f"bytes={len(data) // 3}-"
    assert hashlib.sha256((tmp_path / "maestro-v3.0.0-midi.zip").read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()


def test_cut_connection_retried_within_one_call(server, tmp_path):
    data = corpus_zip()
    url = serve(server, data)
    Handler.cut_after = len(data) // 2
    download_maestro(tmp_path, url=url, sha256=hashlib.sha256(data).hexdigest(), progress=False)
    assert [r for _, r in Handler.log] == [None, f"bytes={len(data) // 2}-"]
    assert len(list((tmp_path / "maestro-v3.0.0").glob("*/*.midi"))) == 42


def test_wrong_checksum_extracts_nothing(server, tmp_path):
    url = serve(server, corpus_zip())
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download_maestro(tmp_path, url=url, sha256="0" * 64, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("member", ["../evil.txt", "maestro-v3.0.0/../../evil.txt", "/abs/evil.txt", "link"])
def test_unsafe_member_is_refused(server, tmp_path, member):
    data = corpus_zip(symlink=member) if member == "link" else corpus_zip({member: b"pwned"})
    url = serve(server, data)
    dest = tmp_path / "dest"
    with pytest.raises(DownloadError, match=re.escape(repr(member))):
        download_maestro(dest, url=url, sha256=hashlib.sha256(data).hexdigest(), progress=False)
    assert not (tmp_path / "evil.txt").exists()
    assert not (dest / "maestro-v3.0.0").exists()


def test_not_a_zip_is_removed(server, tmp_path):
    url = serve(server, b"<html>not found</html>")
    with pytest.raises(DownloadError, match="not a valid zip"):
        download_maestro(tmp_path, url=url, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_host_fails_at_once_with_the_reason(tmp_path):
    """A name that does not resolve is not a dropped connection: no retries, no .part to resume."""
    import time

    from pianogen.data import DownloadError, download_maestro

    t = time.perf_counter()
    with pytest.raises(DownloadError, match="cannot resolve the host") as exc:
        download_maestro(tmp_path, url="http://no-such-host.invalid/maestro.zip", sha256=None, retries=5, timeout=5, progress=False)
    assert time.perf_counter() - t < 10 and ".part" not in str(exc.value)
