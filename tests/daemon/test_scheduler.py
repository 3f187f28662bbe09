"""The scheduler driven by a fake clock: no threads, no sleeping."""

from __future__ import annotations

import pytest

from attune_sync.daemon.scheduler import Backoff, Scheduler


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def scheduler(clock: Clock) -> Scheduler:
    return Scheduler(quiet_period=0.3, max_batch_delay=2.0, full_sync_interval=60.0, clock=clock)


def test_the_first_run_is_due_at_once_and_reads_everything() -> None:
    clock = Clock()
    plan = scheduler(clock)
    assert plan.due_in() == 0
    due = plan.take()
    assert (due.reason, due.changed) == ("start", None)
    plan.finished()
    assert plan.due_in() == 60.0


def test_a_file_event_waits_for_the_quiet_period_and_names_its_paths() -> None:
    clock = Clock()
    plan = scheduler(clock)
    plan.take()
    plan.finished()
    plan.hint({"/packs/a/pack.yaml"})
    assert plan.due_in() == pytest.approx(0.3)
    clock.now += 0.2
    plan.hint({"/packs/b/pack.yaml"})  # another event restarts the quiet period
    assert plan.due_in() == pytest.approx(0.3)
    clock.now += 0.3
    assert plan.due_in() == 0
    due = plan.take()
    assert (due.reason, due.changed) == ("files", {"/packs/a/pack.yaml", "/packs/b/pack.yaml"})


def test_constant_writes_still_get_a_run_after_the_batch_delay() -> None:
    clock = Clock()
    plan = scheduler(clock)
    plan.take()
    plan.finished()
    plan.hint({"/packs/a/x"})
    for _ in range(10):  # an event every 0.25 s never lets 0.3 s go quiet
        clock.now += 0.25
        plan.hint({"/packs/a/x"})
    assert clock.now == 102.5
    assert plan.due_in() == 0  # 2.0 s after the first event


def test_an_event_without_paths_reads_everything() -> None:
    clock = Clock()
    plan = scheduler(clock)
    plan.take()
    plan.hint({"/packs/a/x"})
    plan.hint(None)  # a git-sync swap
    clock.now += 1
    assert plan.take().changed is None


def test_a_retry_reads_everything_and_events_during_a_run_wait_for_the_next() -> None:
    clock = Clock()
    plan = scheduler(clock)
    plan.take()
    plan.hint({"/packs/a/x"})
    plan.retry_in(5.0)
    assert plan.due_in() == 5.0
    clock.now += 5
    assert plan.take().changed is None
    plan.hint({"/packs/b/y"})  # arrives while that run goes on
    clock.now += 1
    due = plan.take()
    assert due.changed == {"/packs/b/y"}


def test_a_new_leader_syncs_at_once() -> None:
    clock = Clock()
    plan = scheduler(clock)
    plan.take()
    plan.finished()
    assert plan.due_in() == 60.0
    plan.full_sync_now()
    assert plan.due_in() == 0
    assert plan.take().reason == "timer"


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(0.2, 1.0)
    assert [backoff.next() for _ in range(5)] == [0.2, 0.4, 0.8, 1.0, 1.0]
    backoff.reset()
    assert backoff.next() == 0.2
