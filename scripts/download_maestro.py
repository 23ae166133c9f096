#!/usr/bin/env python3
"""Download, verify and extract the MAESTRO v3.0.0 MIDI archive (resumable)."""

import _path  # noqa: F401

from pianogen.cli import parser, run, setup_logging
from pianogen.data.download import MAESTRO_SHA256, MAESTRO_URL, DownloadError, download_maestro


def main() -> None:
    ap = parser(__doc__, "python scripts/download_maestro.py --dest data/maestro")
    ap.add_argument("--url", default=MAESTRO_URL, help="archive URL (default: the official MAESTRO v3.0.0 MIDI zip)")
    ap.add_argument("--sha256", default=MAESTRO_SHA256, help="expected SHA-256 of the archive (default: check zip CRCs only)")
    ap.add_argument("--dest", default="data/maestro", help="folder to download and extract into (default: data/maestro)")
    ap.add_argument("--retries", type=int, default=5, help="resume attempts after a dropped connection (default: 5)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args()
    setup_logging()
    download_maestro(args.dest, url=args.url, sha256=args.sha256, retries=args.retries, progress=not args.quiet)


if __name__ == "__main__":
    run(main, (DownloadError, OSError))
