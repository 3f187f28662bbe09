"""Small conventions of the daemon's HTTP side (issue 9): HEAD on the probes, build_info,
the synced revision as a metric, and no `_created` series."""

from __future__ import annotations

import http.client
from pathlib import Path

from attune_sync.version import version

from .helpers import GitSync, http_get, running, settings, wait_for, write_pack


def _head(address: tuple[str, int], path: str) -> tuple[int, bytes, str | None]:
    connection = http.client.HTTPConnection(*address, timeout=2)
    try:
        connection.request("HEAD", path)
        response = connection.getresponse()
        return response.status, response.read(), response.getheader("Content-Length")
    finally:
        connection.close()


def test_probes_answer_head_and_metrics_follow_the_revision(
    tmp_path: Path, sqlite_url: str
) -> None:
    git = GitSync(tmp_path / "git")
    first = git.publish(lambda tree: write_pack(tree / "alpha", "alpha", {"one": "One"}))
    with running(settings(git.link, sqlite_url)) as daemon:
        address = daemon.http_address
        assert address is not None
        wait_for(lambda: http_get(address, "/readyz")[0] == 200)
        for path in ("/healthz", "/readyz", "/status", "/metrics"):
            status, body, length = _head(address, path)
            assert (status, body) == (200, b""), path
            assert length is not None
            assert int(length) > 0
        assert _head(address, "/nowhere")[0] == 404

        metrics = http_get(address, "/metrics")[1]
        assert 'attune_sync_build_info{python="' in metrics
        assert f'version="{version()}"}} 1.0' in metrics
        assert f'attune_sync_synced_revision{{revision="{first}"}} 1.0' in metrics
        assert "_created" not in metrics

        second = git.publish(lambda tree: write_pack(tree / "alpha", "alpha", {"one": "Two"}))
        wait_for(
            lambda: (
                f'attune_sync_synced_revision{{revision="{second}"}} 1.0'
                in http_get(address, "/metrics")[1]
            )
        )
        assert first not in http_get(address, "/metrics")[1]
