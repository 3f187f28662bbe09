"""Parse ahead: the files a cold read must parse, checked on every core before the reader runs.

Parsing and checking a file is most of a cold read, and `documents.check_file` is a pure
function of (path, bytes, kind, digest). So before `read_tree` runs, `parse_ahead` lists the
tree as the reader does, takes each file's stat signature, reads and hashes the files the
`DocumentCache` does not already have, and has worker processes check them, whole pack folders
a few hundred files at a time. Each document goes into the cache under the signature taken
before its bytes were read, as `documents.load_document` files it, and counts in
`cache.parsed`; the reader then finds every one by signature and parses nothing. A file that
changed in between has another signature, so the reader reads and parses it itself. A folder
this pass does not judge (a link, a folder that cannot be listed, one with two pack files) is
left to the reader. Whatever happens here, the reader's result is the same: this only moves
work earlier and onto other cores.

Only a read with at least MIN_FILES files to parse and more than one usable CPU starts a
pool. The workers come from a fork server (the daemon has threads, and a plain fork can copy
a lock some thread holds), ignore SIGINT (the main process decides when to stop) and exit
when the main process is gone. If the pool breaks (a worker killed, out of memory), the
reader parses what is left, and a warning says so.
"""

from __future__ import annotations

import marshal
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from .digests import file_digest
from .listing import list_pack, pack_candidates
from .readfs import LOCAL, LocalFileSystem, Signature, TreeChanged, TreeUnreadable, signature

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from .documents import DocKind, DocumentCache
    from .model import DesiredState

MIN_FILES = 256
"""Fewer files to parse than this are parsed in the process: starting a pool (~0.3 s) would
cost more than it saves."""
CHUNK_FILES = 256
"""Files sent to a worker at once, whole pack folders: ~0.1 s of parsing, so pickling costs
little next to it, and the last chunk keeps one core waiting only briefly."""
IN_FLIGHT_PER_WORKER = 2
"""Chunks sent ahead per worker: each has the next one queued, and the bytes read but not
yet parsed stay a few MB."""
PRELOAD = ["attune_sync.documents"]
"""What the fork server imports once, so each worker starts with the parser loaded."""

Job = tuple[str, bytes, "DocKind", str]
"""(relpath, bytes, kind, digest): `check_file`'s arguments."""
Checked = tuple[dict[str, Any] | None, tuple[tuple[Any, ...], ...]]
"""A document, compactly: its data and its problems as `Problem.as_row` tuples (the path
and digest are the job's)."""
ChunkJob = Callable[[list[Job]], bytes]

_configured_workers: int | None = None


def configure_workers(workers: int | None) -> None:
    """How many worker processes a read may use (`--read-workers`); None: every usable CPU.

    One setting for the whole process, like its logging: set once by the command line, read
    by every read path (apply, diff, validate, the daemon) without threading it through them.
    """
    global _configured_workers
    _configured_workers = workers


def read_workers() -> int:
    """The configured worker count; 0 or 1 means no pool."""
    return usable_cpus() if _configured_workers is None else _configured_workers


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without affinity
        return os.cpu_count() or 1


def check_chunk(jobs: list[Job]) -> bytes:
    """What a worker runs: `check_file` for each job, in order, as one `marshal` payload.

    marshal, not pickle: it marks the strings the YAML loader interned (keys, short values)
    and interns them again on loading, so the main process shares one copy of each across
    every chunk, as a read in one process does (pickle would copy them per chunk: +8 MB on
    the standard tree). Documents hold only what marshal writes exactly: dicts, lists, str,
    int, float, bool and None.
    """
    return marshal.dumps(_check(jobs))


def _check(jobs: list[Job]) -> list[Checked]:
    from .documents import check_file

    checked: list[Checked] = []
    for relpath, raw, kind, digest in jobs:
        document = check_file(relpath, raw, kind, digest)
        checked.append((document.data, tuple(tuple(p.as_row()) for p in document.problems)))
    return checked


@dataclass(slots=True)
class _Chunk:
    jobs: list[Job] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)


def parse_ahead(
    root: str | os.PathLike[str],
    cache: DocumentCache,
    *,
    previous: DesiredState | None = None,
    only: Collection[str] | None = None,
    known: Mapping[str, tuple[Signature, str]] | None = None,
    workers: int | None = None,
    threshold: int = MIN_FILES,
    chunk_files: int = CHUNK_FILES,
    check: Callable[[], None] | None = None,
    job: ChunkJob = check_chunk,
    fs: LocalFileSystem = LOCAL,
) -> int:
    """File in `cache` the documents `read_tree(root, cache, previous=, only=)` would parse;
    how many were parsed here.

    `known`: path -> (signature, digest) of every file the reader would read, when the
    settled shortcut just hashed the tree (`settled.LightRead.files`): then the tree is not
    even listed unless enough of them lack a document. `workers` (default `read_workers()`)
    below 2 does nothing. `check` runs after each chunk (a cancelled daemon run raises there);
    `job` is what the workers run (tests pass one that dies). Errors in the tree are left to
    the reader, which reports them.
    """
    count = read_workers() if workers is None else workers
    if count < 2 or not _enough_unknown(cache, known, threshold):
        return 0
    try:
        resolved = Path(os.path.realpath(root, strict=True))
        folders = _folders(resolved, previous, only, fs)
    except (OSError, TreeChanged, TreeUnreadable):
        return 0
    chunks = _chunks(resolved, folders, cache, fs, chunk_files)
    first: list[_Chunk] = []
    files = 0
    for chunk in chunks:
        first.append(chunk)
        files += len(chunk.jobs)
        if files >= threshold:
            break
    if files < threshold:  # already read and hashed: check them here, as the reader would
        for chunk in first:
            _file(cache, chunk, _check(chunk.jobs))
        return files
    started = time.perf_counter()
    parsed = _parse_in_pool(cache, _chain(first, chunks), count, check, job)
    # A logger per call, as for every rare line: it follows the logging set up at the time.
    structlog.get_logger(__name__).info(
        "parsed ahead",
        files=parsed,
        workers=count,
        seconds=round(time.perf_counter() - started, 3),
    )
    return parsed


def parsed_ahead(root: str | os.PathLike[str]) -> DocumentCache | None:
    """For a read without a cache (`validate`): a cache of the documents parsed ahead, or
    None when nothing was. Pass it straight to `read_tree`, so it is dropped when the read
    returns (the desired state keeps what the rest of the run needs)."""
    from .documents import DocumentCache

    cache = DocumentCache()
    return cache if parse_ahead(root, cache) else None


def _enough_unknown(
    cache: DocumentCache, known: Mapping[str, tuple[Signature, str]] | None, threshold: int
) -> bool:
    """Whether the files without a document may reach `threshold` (always, when unknown)."""
    if known is None:
        return True
    missing = 0
    for relpath, (_signature, digest) in known.items():
        if cache.by_digest(relpath, digest) is None:
            missing += 1
            if missing >= threshold:
                return True
    return False


def _folders(
    root: Path, previous: DesiredState | None, only: Collection[str] | None, fs: LocalFileSystem
) -> list[str]:
    """The pack folders the reader will read again, as `read_tree` decides it; links are left
    to the reader (it judges where they lead)."""
    reuse = previous.folders if previous is not None and previous.root == str(root) else None
    folders = []
    for entry in pack_candidates(root, fs):
        name = entry.name
        if entry.is_symlink():
            continue
        if reuse is not None and only is not None and name in reuse and name not in only:
            continue
        folders.append(name)
    return folders


def _chunks(
    root: Path, folders: Iterable[str], cache: DocumentCache, fs: LocalFileSystem, size: int
) -> Iterator[_Chunk]:
    """The jobs, whole folders at a time, read lazily (only as chunks are sent)."""
    chunk = _Chunk()
    for folder in folders:
        _add_folder(root, folder, cache, fs, chunk)
        if len(chunk.jobs) >= size:
            yield chunk
            chunk = _Chunk()
    if chunk.jobs:
        yield chunk


def _add_folder(
    root: Path, folder: str, cache: DocumentCache, fs: LocalFileSystem, chunk: _Chunk
) -> None:
    """Add the files of `folder` the cache has no document for (`load_document`'s lookups,
    without the parse)."""
    try:
        listing = list_pack(root, folder, fs)
    except (OSError, TreeChanged):
        return
    if len(listing.pack_files) != 1:  # none: the reader reads no file; two: its own case
        return
    for relpath, entry, kind in listing.files(folder):
        try:
            stat = signature(relpath, entry)  # before the bytes, as the reader takes it
            if cache.get(relpath, stat) is not None:
                continue
            raw = fs.read(entry.path)
        except (OSError, TreeChanged):
            continue
        digest = file_digest(raw)
        if cache.refile(relpath, stat, digest) is not None:
            continue
        chunk.jobs.append((relpath, raw, kind, digest))
        chunk.signatures.append(stat)


def _chain(first: list[_Chunk], rest: Iterator[_Chunk]) -> Iterator[_Chunk]:
    yield from first
    first.clear()  # their bytes go as soon as they are sent
    yield from rest


def _parse_in_pool(
    cache: DocumentCache,
    chunks: Iterator[_Chunk],
    workers: int,
    check: Callable[[], None] | None,
    job: ChunkJob,
) -> int:
    """Chunks checked by `workers` processes, filed in order as they come back; on a broken
    pool, what has not come back is left to the reader."""
    parsed = 0
    try:
        pool = _start_pool(workers)
    except Exception as error:  # no fork server on this platform, no semaphores, no memory
        _failed(error, parsed)
        return parsed
    sent: deque[tuple[_Chunk, Future[bytes]]] = deque()
    try:
        while True:
            try:
                while len(sent) < workers * IN_FLIGHT_PER_WORKER:
                    chunk = next(chunks, None)
                    if chunk is None:
                        break
                    sent.append((chunk, pool.submit(job, chunk.jobs)))
                if not sent:
                    return parsed
                chunk, future = sent.popleft()
                checked = marshal.loads(future.result())
            except Exception as error:  # BrokenProcessPool, a worker's error: never fatal here
                _failed(error, parsed)
                return parsed
            parsed += _file(cache, chunk, checked)
            if check is not None:
                check()
    finally:
        # Also on KeyboardInterrupt and a cancelled run: the chunks not started are dropped,
        # the running ones finish (~0.1 s), and no worker is left behind.
        pool.shutdown(wait=True, cancel_futures=True)


def _failed(error: Exception, parsed: int) -> None:
    structlog.get_logger(__name__).warning(
        "parsing in worker processes failed; the rest is parsed in this process",
        error=f"{type(error).__name__}: {error}",
        parsed=parsed,
    )


def _file(cache: DocumentCache, chunk: _Chunk, checked: list[Checked]) -> int:
    from .documents import Document
    from .problem import Problem

    for (relpath, _raw, _kind, digest), stat, (data, rows) in zip(
        chunk.jobs, chunk.signatures, checked, strict=True
    ):
        problems = tuple(Problem(*row) for row in rows)
        cache.put(stat, Document(relpath, digest, data, problems))
    cache.parsed += len(checked)
    return len(checked)


def _start_pool(workers: int) -> ProcessPoolExecutor:
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker)


def _start_worker() -> None:
    """A worker leaves SIGINT to the main process (Ctrl-C reaches the whole process group:
    the main process stops the pool), dies on SIGTERM, and exits once its parent is gone
    (a killed main process would otherwise leave it waiting for work for ever)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_without, args=(parent.sentinel,), daemon=True).start()


def _exit_without(sentinel: int) -> None:
    # The main process, not the fork server: the server lives as long as any worker does.
    # The sentinel is a pipe the main process holds open; it reads as ready once it is gone.
    multiprocessing.connection.wait([sentinel])
    os._exit(1)
