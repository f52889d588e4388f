"""What Linux says about a process: CPU seconds and resident memory, from /proc.

The benchmark measures the app under test from the outside, the same way for Python and
Node.js: ``utime + stime`` from ``/proc/PID/stat`` (fields 14 and 15, in clock ticks)
and ``VmRSS``/``VmHWM`` (current and peak resident set) from ``/proc/PID/status``.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (its own, not its children's)."""
    user, system = cpu_split(pid)
    return user + system


def cpu_split(pid: int) -> tuple[float, float]:
    """``(user, system)`` CPU seconds of ``pid`` so far. The system share is mostly
    syscalls: on loopback a ``send`` also does the receiver's TCP work, so it shows what
    fewer, larger writes would save."""
    text = Path(f"/proc/{pid}/stat").read_text()
    # the command name (field 2) may hold spaces; the rest follows the last ")"
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[11]) / _TICKS, int(fields[12]) / _TICKS


def memory_kb(pid: int) -> dict[str, int]:
    """``{"rss": VmRSS, "peak": VmHWM}`` of ``pid`` in KiB."""
    out = {"rss": 0, "peak": 0}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            out["rss"] = int(line.split()[1])
        elif line.startswith("VmHWM:"):
            out["peak"] = int(line.split()[1])
    return out


def machine() -> dict[str, object]:
    """CPU model, core count, memory and load average, for the results file."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
