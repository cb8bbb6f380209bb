"""A helper process that reads finalised history (fetch + decode) while the indexer writes.

Decoding and projecting are both Python, so in one process they take turns on one core (the GIL),
and SQLite's per-row steps stall behind whichever thread holds it. During a long catch-up the
reading half therefore runs in a child process on the other core: it writes each `DecodedRange`
to its stdout, in order, as a pickle (`DecodedEvent` is a NamedTuple, so that is cheap), and the
pipe's buffer bounds how far it runs ahead. Nothing is written to the database by the child: the
indexer still commits every range's rows with its checkpoint in one transaction, so a crash of
either process loses only work that is redone. An error in the child is re-raised in the indexer.
The indexer kills the child when it stops; on Linux the child also dies with the indexer
(PR_SET_PDEATHSIG), and anywhere it exits at its next write to the closed pipe.

The child is `python -m indexer.offload`, not multiprocessing: spawn re-runs the parent's main
module, which a script calling the indexer need not guard, and fork is unsafe with live threads.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, NamedTuple

from indexer.errors import IndexerError
from indexer.reader import DecodedRange, RangePolicy, RangeReader, collect_range_garbage, relax_gc
from indexer.rpc import RpcClient

_ROOT = Path(__file__).resolve().parents[1]


class ReadJob(NamedTuple):
    parent_pid: int
    rpc: tuple[str, dict[str, Any]]
    policy: RangePolicy
    abis: dict[str, list[dict[str, Any]]]
    start: int
    end: int


def _serve(job: ReadJob, out: IO[bytes]) -> None:
    """The child: read [start, end], write ("range", r) per range, then ("done", None) or ("error", exc)."""
    relax_gc()
    url, options = job.rpc
    rpc = RpcClient(url, **options)
    try:
        for decoded in RangeReader(rpc, job.policy, job.abis).ranges(job.start, job.end):
            pickle.dump(("range", decoded), out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
            del decoded
            collect_range_garbage()
        pickle.dump(("done", None), out)
        out.flush()
    except (BrokenPipeError, ConnectionResetError):
        return  # the indexer went away: nothing to report to
    except Exception as exc:  # noqa: BLE001 - every failure is reported to the indexer, which raises it
        try:
            payload = pickle.dumps(("error", exc))
            pickle.loads(payload)  # noqa: S301 - our own bytes: an exception must also unpickle
        except Exception:  # noqa: BLE001 - one that does not survive the trip is sent as text
            payload = pickle.dumps(("error", IndexerError(f"{type(exc).__name__}: {exc}")))
        try:
            out.write(payload)
            out.flush()
        except OSError:
            return
    finally:
        rpc.close()


class DecodeProcess:
    """Reads [start, end] in a child process; `ranges()` yields its results in order."""

    def __init__(
        self, rpc: RpcClient, policy: RangePolicy, abis: dict[str, list[dict[str, Any]]], start: int, end: int
    ) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "indexer.offload"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=_ROOT,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.out = self.proc.stdout
        pickle.dump(ReadJob(os.getpid(), rpc.constructor_args(), policy, abis, start, end), self.proc.stdin)
        self.proc.stdin.close()

    def ranges(self) -> Iterator[DecodedRange]:
        while True:
            try:
                kind, payload = pickle.load(self.out)  # noqa: S301 - our own child, over its stdout
            except EOFError:
                code = self.proc.wait()
                raise IndexerError(
                    f"the indexer's read process exited unexpectedly (exit code {code})"
                ) from None
            if kind == "range":
                yield payload
            elif kind == "done":
                return
            else:
                raise payload

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()  # it holds nothing worth finishing: the indexer writes, not the child
        self.out.close()
        self.proc.wait()

    def __enter__(self) -> DecodeProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _die_with(parent_pid: int) -> None:
    """Linux: be killed when the indexer dies, even while blocked in an RPC call (a closed pipe is
    only noticed at the next write)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # it died before that took effect
        os._exit(0)


def main() -> None:
    job: ReadJob = pickle.load(sys.stdin.buffer)  # noqa: S301 - written by the indexer that started us
    _die_with(job.parent_pid)
    # The results own the real stdout; anything else printing (a library, a warning) goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    with out:
        _serve(job, out)


if __name__ == "__main__":
    main()
