"""The installed attune-sync's version, for --version and the build_info metric."""

from __future__ import annotations

from importlib import metadata


def version() -> str:
    try:
        return metadata.version("attune-sync")
    except metadata.PackageNotFoundError:  # running from a source tree without installing
        return "0+unknown"
