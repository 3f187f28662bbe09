"""`attune-sync status`: recent runs and each managed pack's standing, from the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, inspect

from .db.history import has_history, managed_packs
from .db.overrides import load_overrides
from .db.runs import recent_runs
from .runs import COMMITTED_RESULTS
from .standing import pack_standing


def read_status(conn: Connection, limit: int = 10) -> dict[str, Any] | None:
    """None when the database was never synced (no schema)."""
    if not has_history(conn):
        return None
    runs = recent_runs(conn, limit)
    managed = {
        ref: {"folder": folder, "synced_at": _iso(synced_at)}
        for ref, folder, synced_at in managed_packs(conn)
    }
    latest = next((run for run in runs if run["result"] in COMMITTED_RESULTS), None)
    details: dict[str, Any] = (latest or {}).get("details") or {}
    packs = pack_standing(managed, details)
    last = runs[0] if runs else None
    current_error = (
        (last.get("details") or {}).get("error") if last and last["result"] == "failed" else None
    )
    # Overrides as the database holds them now (one set after the last run included).
    overrides = (
        [o.as_json() for o in load_overrides(conn).values()]
        if inspect(conn).has_table("sync_override")
        else []
    )
    return {
        "runs": [_run_json(run) for run in runs],
        "packs": packs,
        "overrides": overrides,
        "last_run_failed": current_error,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _run_json(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": run["id"],
        "started_at": _iso(run["started_at"]),
        "finished_at": _iso(run["finished_at"]),
        "revision": run["revision"],
        "result": run["result"],
        "created": run["created"],
        "updated": run["updated"],
        "deleted": run["deleted"],
        "held_back": run["held_back"],
        "invalid": run["invalid"],
        "error": (run.get("details") or {}).get("error"),
        # Identical runs that changed nothing share a row (db.runs); absent before 0004.
        "run_count": run.get("run_count", 1),
    }


def render_status(status: dict[str, Any]) -> str:
    lines = ["Recent runs (newest first):"]
    if not status["runs"]:
        lines.append("  none yet")
    lines.extend(_run_line(run) for run in status["runs"])
    lines.append("")
    lines.append("Packs:")
    if not status["packs"]:
        lines.append("  none managed")
    for ref, info in status["packs"].items():
        lines.extend(_pack_lines(ref, info))
    if status.get("overrides"):
        lines.append("")
        lines.append("Overrides set through the API (kept by every sync until cleared):")
        lines.extend(_override_line(item) for item in status["overrides"])
    if status["last_run_failed"]:
        lines.append("")
        lines.append(f"The last run failed and was rolled back: {status['last_run_failed']}")
    return "\n".join(lines)


def _run_line(run: dict[str, Any]) -> str:
    when = (run["started_at"] or "")[:19].replace("T", " ")
    revision = (run["revision"] or "-")[:12]
    counts = f"+{run['created']} ~{run['updated']} -{run['deleted']}"
    return f"  {when}Z  {revision:<12}  {run['result']:<9} {counts}{_run_extra(run)}"


def _run_extra(run: dict[str, Any]) -> str:
    extra = ""
    if run["held_back"]:
        extra += f", {run['held_back']} held back"
    if run["invalid"]:
        extra += f", {run['invalid']} invalid"
    if run["run_count"] > 1:
        extra += f" (x{run['run_count']}, until {(run['finished_at'] or '')[:19]}Z)"
    if run["error"]:
        extra += f": {run['error']}"
    return extra


def _pack_lines(ref: str, info: dict[str, Any]) -> list[str]:
    state = info["state"]
    if state == "in_sync":
        return [f"  {ref}: in sync (folder {info.get('folder')})"]
    if state == "invalid":
        return [
            f"  {ref}: INVALID, left as it was (folder {info.get('folder')})",
            *(f"      {error}" for error in info.get("errors", [])),
        ]
    return [
        f"  {ref}: HELD BACK",
        *(
            f"      {item['action']} {item['kind']} {item['ref']}: {item['reason']}"
            for item in info.get("held_back", [])
        ),
    ]


def _override_line(item: dict[str, Any]) -> str:
    state = "enabled" if item["enabled"] else "disabled"
    return (
        f"  {item['kind']} {item['ref']}: {state} by {item['set_by']} at "
        f"{item['set_at']} (the file says enabled: {str(item['file_enabled']).lower()})"
    )


def needs_attention(status: dict[str, Any]) -> bool:
    packs_ok = all(info["state"] == "in_sync" for info in status["packs"].values())
    return bool(status["last_run_failed"]) or not packs_ok or not status["runs"]
