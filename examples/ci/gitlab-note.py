"""Post the plan as one merge request note, or update the note posted before.

Copy it into the packs repository as ci/gitlab-note.py; gitlab-ci.yml runs
`python3 ci/gitlab-note.py plan.md`. Needs CI_API_V4_URL,
CI_PROJECT_ID, CI_MERGE_REQUEST_IID (set by GitLab) and ATTUNE_SYNC_NOTE_TOKEN.
"""

import json
import os
import sys
import urllib.request

MARKER = "<!-- attune-sync-plan -->"


def call(method: str, url: str, body: dict[str, str] | None = None) -> object:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("PRIVATE-TOKEN", os.environ["ATTUNE_SYNC_NOTE_TOKEN"])
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def main(path: str) -> None:
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    base = (
        f"{os.environ['CI_API_V4_URL']}/projects/{os.environ['CI_PROJECT_ID']}"
        f"/merge_requests/{os.environ['CI_MERGE_REQUEST_IID']}/notes"
    )
    notes = call("GET", f"{base}?per_page=100&sort=asc")
    assert isinstance(notes, list)
    ours = [note for note in notes if str(note.get("body", "")).startswith(MARKER)]
    if ours:
        call("PUT", f"{base}/{ours[0]['id']}", {"body": text})
    else:
        call("POST", base, {"body": text})


if __name__ == "__main__":
    main(sys.argv[1])
