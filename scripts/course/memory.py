"""Peak resident memory of a process and its descendants, read from /proc (Linux).

Used by execute.py to record each notebook's kernel memory. The course kernel is two Node processes
(scripts/kernel/launch.cjs and the kernel.cjs it starts) and whatever a notebook spawns. Each process's
VmHWM (its peak RSS, kept by the kernel) is read while it lives: a thread samples the tree every
`interval` seconds, so a child that exits between samples is missed only if it lived less than that,
and the caller samples once more just before the kernel is shut down. The figure is the sum of the
processes' peaks: an upper bound of the tree's peak at any one moment (the peaks need not coincide),
which is the safe side for a memory budget.

    python3 memory.py PID...      # print each tree's current figure (for trying it by hand)
"""
import os
import sys
import threading


def _status_kb(pid, field):
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _parents():
    """pid -> parent pid of every process now (the 4th field of /proc/<pid>/stat, after the name's ')')."""
    out = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open(f'/proc/{name}/stat') as f:
                stat = f.read()
            out[int(name)] = int(stat[stat.rindex(')') + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return out


def descendants(pid):
    """pid and every process below it now."""
    children = {}
    for p, pp in _parents().items():
        children.setdefault(pp, []).append(p)
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.append(p)
        todo.extend(children.get(p, []))
    return seen


def available():
    return os.path.exists(f'/proc/{os.getpid()}/status') and _status_kb(os.getpid(), 'VmHWM') is not None


class PeakMemory:
    """Sample a process tree's VmHWM in a background thread; `stop()` samples once more and returns the figure."""

    def __init__(self, pid, interval=0.5):
        self.pid = pid
        self.interval = interval
        self.peaks = {}   # pid -> (command name, VmHWM in kB), the latest reading (VmHWM only grows)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.sample()
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self):
        for p in descendants(self.pid):
            kb = _status_kb(p, 'VmHWM')
            if kb is None:
                continue
            try:
                with open(f'/proc/{p}/comm') as f:
                    comm = f.read().strip()
            except OSError:
                comm = '?'
            old = self.peaks.get(p)
            self.peaks[p] = (comm, max(kb, old[1]) if old else kb)

    def stop(self):
        """Stop sampling (after one last sample); return the report: peak MB, and each process's."""
        self.sample()
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        return self.report()

    def report(self):
        procs = sorted(({'pid': p, 'name': c, 'peak_mb': round(kb / 1024, 1)} for p, (c, kb) in self.peaks.items()),
                       key=lambda r: -r['peak_mb'])
        return {'peak_mb': round(sum(kb for _, kb in self.peaks.values()) / 1024, 1), 'processes': procs}


if __name__ == '__main__':
    for arg in sys.argv[1:]:
        print(arg, PeakMemory(int(arg)).stop())
