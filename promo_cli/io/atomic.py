"""Atomic outputs: every file is written to a temporary name in the target folder,
and all of them are renamed into place only once every one is complete."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

from promo_cli.parallel import Apart


class Staging:
    """Collects temporary files for one run; ``commit`` renames them all into place.

    Used as a context manager: leaving it by an exception deletes the temporary
    files and leaves whatever was in the folder before untouched.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.pending: list[tuple[Path, Path]] = []
        self.jobs: list[Apart] = []

    def later(self, job: Callable[..., object], *args: object) -> None:
        """Run ``job(*args)`` (writing one of the temporary files) beside the caller, in a
        second process where there is one (see :mod:`promo_cli.parallel`); ``commit`` waits for
        it and raises what it raised."""
        self.jobs.append(Apart(job, *args))

    def beside(self, job: Callable[..., object], *args: object, **kwargs: object) -> None:
        """Run ``job(*args, side=self, **kwargs)`` (writing one or more of the temporary files)
        in a second process where there is one; the files it stages there, and the work it hands
        on with :meth:`later`, are committed with the rest."""
        apart = Apart(_staged, self, job, args, kwargs)    # (run here, it may replace self.jobs)
        self.jobs.append(apart)

    def _finish_jobs(self) -> None:
        jobs, self.jobs = self.jobs, []
        failure = None
        for job in jobs:            # every job ends before a file is touched, even after a failure
            try:
                staged = job.result()
                if isinstance(staged, StagedFiles):
                    self.pending += [pair for pair in staged if pair not in self.pending]
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    def __enter__(self) -> "Staging":
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._remove_stale()
        return self

    def _remove_stale(self) -> None:
        """Delete temporary files left by a run that was killed (its pid no longer runs)."""
        for temp in self.out_dir.glob(".*.tmp"):
            parts = temp.name.split(".")
            pid = next((p for p in reversed(parts[:-1]) if p.isdigit()), "")
            if pid and not _alive(int(pid)):
                shutil.rmtree(temp, ignore_errors=True) if temp.is_dir() else temp.unlink(missing_ok=True)

    def path(self, name: str) -> Path:
        """Return the temporary path to write ``name`` to."""
        temp = self.out_dir / f".{name}.{os.getpid()}.tmp"
        self.pending.append((temp, self.out_dir / name))
        return temp

    def folder(self, name: str) -> Path:
        """Return a temporary folder to fill; ``commit`` puts it in place of ``name`` whole."""
        temp = self.out_dir / f".{name}.{os.getpid()}.tmp"
        shutil.rmtree(temp, ignore_errors=True)
        temp.mkdir()
        self.pending.append((temp, self.out_dir / name))
        return temp

    def finish(self) -> None:
        """Wait for the work handed to other processes (and raise what it raised)."""
        self._finish_jobs()

    def commit(self) -> list[Path]:
        """Flush every temporary file to disk and rename it to its final name (a folder replaces
        the earlier one whole: the old one is moved aside first, then removed)."""
        self._finish_jobs()
        for temp, _ in self.pending:
            for file in (sorted(temp.iterdir()) if temp.is_dir() else [temp]):
                with file.open("rb+") as handle:
                    os.fsync(handle.fileno())
        for temp, final in self.pending:
            if temp.is_dir() and final.exists():
                old = final.with_name(f".{final.name}.{os.getpid()}.old.tmp")
                os.replace(final, old)
                os.replace(temp, final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(temp, final)
        done = [final for _, final in self.pending]
        self.pending = []
        return done

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self._finish_jobs()
        except Exception:
            if exc_type is None:
                raise
        for temp, _ in self.pending:
            if temp.is_dir():
                shutil.rmtree(temp, ignore_errors=True)
            else:
                temp.unlink(missing_ok=True)


class StagedFiles(list):
    """The (temporary, final) paths a job run :meth:`Staging.beside` staged."""


def _staged(staging: Staging, job: Callable[..., object], args: tuple, kwargs: dict) -> StagedFiles:
    """Run the job and wait for the work it handed on (only its own: jobs staged before it
    belong to the caller), returning what it staged."""
    before, earlier, staging.jobs = len(staging.pending), staging.jobs, []
    try:
        job(*args, side=staging, **kwargs)
        staging._finish_jobs()
    except BaseException:
        for temp, _ in staging.pending[before:]:       # what it staged goes with it
            shutil.rmtree(temp, ignore_errors=True) if temp.is_dir() else temp.unlink(missing_ok=True)
        del staging.pending[before:]
        raise
    finally:
        staging.jobs = earlier + staging.jobs
    return StagedFiles(staging.pending[before:])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
