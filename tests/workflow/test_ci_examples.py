"""examples/ci: valid for their CI systems, and their commands work on a sample repository.

The GitHub workflow's `run:` scripts are executed with bash as the runner would, in a git
repository holding a copy of the bundled packs, against a real SQLite database. GitHub's API
is the only stand-in: a `gh` on PATH that keeps comments in a file. GitLab's note poster
talks to a loopback HTTP server that answers like GitLab's notes API.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from attune_sync.render_markdown import MARKER
from cli.helpers import copy_bundled, run
from core.trees import trigger_doc

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "ci"
BIN = Path(sys.executable).parent

FAKE_GH = r'''#!/usr/bin/env python3
"""gh api, as far as the example uses it; comments live in $FAKE_GH_STATE."""
import json, os, sys
args = sys.argv[1:]
state = os.environ["FAKE_GH_STATE"]
comments = json.load(open(state)) if os.path.exists(state) else []
method = args[args.index("--method") + 1] if "--method" in args else "GET"
body = next((a[len("body=@"):] for a in args if a.startswith("body=@")), None)
if method == "GET":
    for c in comments:
        if c["body"].startswith("<!-- attune-sync-plan -->"):
            print(c["id"])
elif method == "POST":
    comments.append({"id": len(comments) + 100, "body": open(body).read()})
elif method == "PATCH":
    wanted = int(args[args.index("--method") + 2].rsplit("/", 1)[1])
    for c in comments:
        if c["id"] == wanted:
            c["body"] = open(body).read()
json.dump(comments, open(state, "w"))
'''


def _workflow() -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text())
    return document


def _step(job: str, name: str) -> str:
    (step,) = [s for s in _workflow()["jobs"][job]["steps"] if s.get("name") == name]
    script: str = step["run"]
    return script


@pytest.mark.parametrize(
    ("example", "schema"),
    [
        ("github-actions.yml", "vendor.github-workflows"),
        ("gitlab-ci.yml", "vendor.gitlab-ci"),
    ],
)
def test_examples_follow_their_ci_schemas(example: str, schema: str) -> None:
    done = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", schema, str(EXAMPLES / example)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def repo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """A packs repository whose main branch is applied; the environment a step runs in."""
    work = tmp_path / "repo"
    copy_bundled(work / "packs")
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    database = f"sqlite:///{tmp_path / 'attune.db'}"
    assert run(capsys, "apply", str(work / "packs"), "--database", database)[0] == 0
    fake = tmp_path / "bin" / "gh"
    fake.parent.mkdir()
    fake.write_text(FAKE_GH)
    fake.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{fake.parent}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}",
        "PACKS_DIR": "packs",
        "ATTUNE_SYNC_DATABASE_URL": database,
        "GITHUB_WORKSPACE": str(work),
        "GITHUB_OUTPUT": str(tmp_path / "github-output"),
        "GITHUB_REPOSITORY": "example/packs",
        "PR": "7",
        "FAKE_GH_STATE": str(tmp_path / "comments.json"),
        "CWD": str(work),
    }
    return env


def _bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # GitHub runs `run:` with `bash -e {0}`.
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=env["CWD"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _comments(env: dict[str, str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(Path(env["FAKE_GH_STATE"]).read_text())
    return found


def test_pull_request_gets_its_plan_as_one_comment(repo: dict[str, str]) -> None:
    work = Path(repo["CWD"])
    (work / "packs/core/triggers/timer.yaml").write_text(trigger_doc("Cron timer"))
    assert _bash(_step("validate", "Validate"), repo).returncode == 0
    plan = _bash(_step("plan", "Plan"), repo)
    assert plan.returncode == 0, plan.stderr  # changes pending do not fail the check
    assert "exit-code=1" in Path(repo["GITHUB_OUTPUT"]).read_text()
    assert json.loads((work / "plan.json").read_text())["plan"]["summary"]["update"] == 1
    comment = _bash(_step("plan", "Post or update the plan comment"), repo)
    assert comment.returncode == 0, comment.stderr
    (first,) = _comments(repo)
    assert first["body"].startswith(MARKER)
    assert "| trigger | 0 | 1 | 0 | 0 | 0 |" in first["body"]

    # The next push on the pull request edits the same comment.
    (work / "packs/core/triggers/manual.yaml").unlink()
    assert _bash(_step("plan", "Plan"), repo).returncode == 0
    assert _bash(_step("plan", "Post or update the plan comment"), repo).returncode == 0
    (again,) = _comments(repo)
    assert again["id"] == first["id"]
    assert "- trigger core.manual" in again["body"]


def test_a_broken_pack_fails_both_checks(repo: dict[str, str]) -> None:
    work = Path(repo["CWD"])
    trigger = work / "packs/system/triggers/cpu_alert.yaml"
    trigger.write_text(
        trigger.read_text().replace("label: CPU Alert", "label: CPU Alert\nenabled: yes")
    )
    validate = _bash(_step("validate", "Validate"), repo)
    assert validate.returncode == 1
    assert validate.stdout.startswith("::error file=packs/system/triggers/cpu_alert.yaml,line=3,")
    plan = _bash(_step("plan", "Plan"), repo)
    assert plan.returncode == 1
    assert "exit-code=2" in Path(repo["GITHUB_OUTPUT"]).read_text()
    # The comment still goes out, and says what is wrong.
    assert _bash(_step("plan", "Post or update the plan comment"), repo).returncode == 0
    assert "system/triggers/cpu_alert.yaml:3:10" in _comments(repo)[0]["body"]


@pytest.fixture
def gitlab() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    notes: list[dict[str, Any]] = []

    class Notes(BaseHTTPRequestHandler):
        def _answer(self, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            assert self.headers["PRIVATE-TOKEN"] == "token"
            found: dict[str, Any] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            return found

        def do_GET(self) -> None:
            assert self.path.startswith("/api/v4/projects/3/merge_requests/5/notes?")
            self._answer(notes)

        def do_POST(self) -> None:
            notes.append({"id": 40 + len(notes), "body": self._body()["body"]})
            self._answer(notes[-1])

        def do_PUT(self) -> None:
            wanted = int(self.path.rsplit("/", 1)[1])
            (note,) = [n for n in notes if n["id"] == wanted]
            note["body"] = self._body()["body"]
            self._answer(note)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Notes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v4", notes
    finally:
        server.shutdown()
        server.server_close()


def test_gitlab_note_is_posted_then_updated(
    gitlab: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    api, notes = gitlab
    notes.append({"id": 1, "body": "LGTM"})
    env = {
        **os.environ,
        "CI_API_V4_URL": api,
        "CI_PROJECT_ID": "3",
        "CI_MERGE_REQUEST_IID": "5",
        "ATTUNE_SYNC_NOTE_TOKEN": "token",
    }
    plan = tmp_path / "plan.md"
    note = [sys.executable, str(EXAMPLES / "gitlab-note.py"), str(plan)]
    for text in (f"{MARKER}\nfirst", f"{MARKER}\nsecond"):
        plan.write_text(text)
        subprocess.run(note, env=env, check=True, timeout=60)
    assert notes == [{"id": 1, "body": "LGTM"}, {"id": 41, "body": f"{MARKER}\nsecond"}]


def test_gitlab_plan_job_runs_and_posts_its_note(
    repo: dict[str, str], gitlab: tuple[str, list[dict[str, Any]]]
) -> None:
    api, notes = gitlab
    work = Path(repo["CWD"])
    (work / "ci").mkdir()
    shutil.copy(EXAMPLES / "gitlab-note.py", work / "ci" / "gitlab-note.py")
    (work / "packs/core/triggers/timer.yaml").write_text(trigger_doc("Cron timer"))
    job = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text())["plan"]
    env = {
        **repo,
        "CI_API_V4_URL": api,
        "CI_PROJECT_ID": "3",
        "CI_MERGE_REQUEST_IID": "5",
        "ATTUNE_SYNC_NOTE_TOKEN": "token",
    }
    # GitLab runs the script lines in one shell that stops at the first failing line.
    done = _bash("\n".join(job["script"]), env)
    assert done.returncode == 0, done.stderr
    (note,) = notes
    assert "| trigger | 0 | 1 | 0 | 0 | 0 |" in note["body"]
    (work / "packs/core/pack.yaml").write_text("ref: core\nlable: typo\n")
    assert _bash("\n".join(job["script"]), env).returncode == 1  # an invalid pack fails it
    (note,) = notes
    assert "lable" in note["body"]
