"""Lambda's CPU share for a memory size, applied to a child process with a cgroup v1 CPU quota.

Lambda gives a function CPU in proportion to its memory: 1,769 MB is one vCPU, so 128 MB is about 7.2% of
one. A cgroup's cfs_quota_us over cfs_period_us caps a process at that share; pinning it to one core matches
a function below one vCPU. Where the cgroup cannot be made (not root, no cpu controller), the process runs
unthrottled and `CpuQuota.applied` says why.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ONE_VCPU_MB = 1769
PERIOD_US = 100_000
CPU_CONTROLLER = Path("/sys/fs/cgroup/cpu")


def lambda_cpu_share(memory_mb: int) -> float:
    """Lambda's vCPUs at this memory size."""
    return memory_mb / ONE_VCPU_MB


@dataclass(frozen=True)
class CpuQuota:
    memory_mb: int
    quota_us: int
    period_us: int
    applied: bool
    why_not: str  # empty when applied
    group: str  # the cgroup directory, or "" when not applied

    def enter(self) -> Callable[[], None]:
        """For subprocess.Popen(preexec_fn=...): moves the child into the group before it runs anything."""
        group, one_core = self.group, self.quota_us <= self.period_us

        def move() -> None:
            if group:
                Path(group, "cgroup.procs").write_text(str(os.getpid()))
            if one_core:
                os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

        return move


@contextmanager
def cpu_quota(memory_mb: int) -> Iterator[CpuQuota]:
    """A cgroup whose processes together get Lambda's CPU share at `memory_mb`; removed afterwards."""
    quota_us = round(PERIOD_US * lambda_cpu_share(memory_mb))
    group = CPU_CONTROLLER / f"layer-share-bench-{os.getpid()}-{memory_mb}"
    try:
        group.mkdir()
        (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (group / "cpu.cfs_quota_us").write_text(str(quota_us))
    except OSError as error:
        yield CpuQuota(memory_mb, quota_us, PERIOD_US, False, f"{type(error).__name__}: {error}", "")
        return
    try:
        yield CpuQuota(memory_mb, quota_us, PERIOD_US, True, "", str(group))
    finally:
        _remove(group)


def _remove(group: Path) -> None:
    """A cgroup can be removed once its processes have exited; they are waited for before this runs."""
    with contextlib.suppress(OSError):  # a process still inside keeps it; the next boot clears /sys/fs/cgroup
        group.rmdir()
