"""Execute one homework submission for the grader (scripts/homework/grade.mjs): the student's code cells, then the
grader's hidden-check cells, in the grading kernel, with a time limit per cell and per submission.

    python3 grade.py --job JOB.json --out RESULT.json

The job (written by grade.mjs) lists the cells, each {"source", "role": "student"|"grader", ...}, and
the limits. Student cells run with errors allowed: a crashing cell is recorded and the next cell runs
(a kernel may abort requests that arrive just after a failure, so the grader waits a little after one;
the course kernel aborts only when asked to, with stop_on_error, which the grader never sends).

A cell that runs past its limit is interrupted (SIGINT stops a synchronous `while (true) {}` in tslab).
If the kernel then answers a probe, grading goes on in the same kernel. If it does not (e.g. a loop in a
timer callback) or the kernel died (e.g. out of memory), the kernel is killed and a fresh one re-executes
the student's cells, skipping every cell that hung or killed a kernel, and then the hidden checks that
have no result yet. At most --max-kernels kernels are started, and nothing runs past the submission's
deadline: a submission can cost at most its time limit, and never affects another one.

The result lists every cell's last outcome: status ok | error | timeout | died | not-run, its stdout,
its error text, its runtime, and for a timeout the limit it had.
"""
import argparse
import asyncio
import json
import os
import re
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from jupyter_client.utils import ensure_async

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'lib'))
from files import write_atomic  # scripts/lib/files.py, shared with the course scripts  # noqa: E402

ERROR_PAUSE_S = 0.4     # plain tslab aborts requests that arrive within 200 ms of a failed one
PROBE_S = 5.0           # how long an interrupted kernel may take to answer


class GradingClient(NotebookClient):
    """Records each cell's execute_reply status instead of raising on errors."""

    def __init__(self, *a, on_kernel_started=None, **kw):
        super().__init__(*a, **kw)
        self.last_status = None
        self.on_kernel_started = on_kernel_started

    async def async_start_new_kernel(self, **kwargs):
        # The kernel's process exists from here on, but the client still waits for it to be ready (seconds
        # on a loaded machine): record it now, so that a Ctrl-C in that wait still finds and stops it.
        await super().async_start_new_kernel(**kwargs)
        if self.on_kernel_started:
            self.on_kernel_started()

    async def _check_raise_for_error(self, cell, cell_index, exec_reply):
        self.last_status = (exec_reply or {}).get('content', {}).get('status')


def text_of(outputs, name):
    return ''.join(o.get('text', '') for o in outputs if o.get('output_type') == 'stream' and o.get('name') == name)


# A WebAssembly trap of tf.js's wasm backend (an op too large for its memory): the kernel lives on, but
# its tf.js does not; every later check would fail for a reason that is not the student's answer.
WASM_BROKEN = re.compile(r'^RuntimeError: (memory access out of bounds|table index is out of bounds|Aborted\(|unreachable|index out of bounds)')


def error_of(outputs):
    for o in outputs:
        if o.get('output_type') == 'error':
            return f"{o.get('ename', '')}: {o.get('evalue', '')}".strip(': ')
    # Plain tslab kernels report errors on stderr with an empty error reply.
    return text_of(outputs, 'stderr').strip()


async def probe(client, seconds):
    """Whether the kernel answers a trivial request within `seconds` (after an interrupt)."""
    msg_id = client.kc.execute('void 0', store_history=False)
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        try:
            msg = await ensure_async(client.kc.shell_channel.get_msg(timeout=left))
        except Exception:
            return False
        if msg.get('parent_header', {}).get('msg_id') == msg_id:
            return True


class Grader:
    def __init__(self, job):
        self.job = job
        self.cells = job['cells']
        self.cell_timeout = float(job['cellTimeout'])
        self.deadline = time.monotonic() + float(job['timeout'])
        self.records = {}       # cell index -> last outcome
        self.skip = set()       # student cells that hung or killed a kernel
        self.done = set()       # grader cells with a final outcome
        self.kernels = 0
        self.events = []

    def left(self):
        return self.deadline - time.monotonic()

    def where(self, i):
        """A cell as the student and teacher find it (grade.mjs cellLabel: "the 4th code cell (starting `…`)"), or the hidden check of an exercise."""
        c = self.cells[i]
        if c['role'] == 'student':
            return c.get('label') or f"cell {c.get('origIndex', i)}"
        return f"the hidden check of {c['exercise']}" if c.get('exercise') else 'a hidden check'

    def record(self, i, status, cell=None, seconds=0.0, note='', limit=None):
        outs = cell.get('outputs', []) if cell is not None else []
        self.records[i] = {
            'status': status,
            'stdout': text_of(outs, 'stdout')[-20000:],
            'error': (error_of(outs) if status == 'error' else note)[-3000:],
            'seconds': round(seconds, 2),
        }
        if limit is not None:   # the limit this cell had (less than cellTimeout near the submission's deadline)
            self.records[i]['limit'] = limit

    def death_cause(self):
        """Why the kernel died, from the tail of its log (V8 says so when the heap limit is reached)."""
        try:
            with open(self.job['kernelLog'], 'rb') as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 20000))
                tail = f.read().decode('utf-8', 'replace')
        except Exception:
            return ''
        if 'heap out of memory' in tail or 'Reached heap limit' in tail:
            return ': it ran out of memory (the JavaScript heap limit of the grading kernel)'
        return ''

    def log_pid(self, client):
        try:
            pid = client.km.provisioner.process.pid
        except Exception:
            return
        if self.job.get('pidFile'):
            with open(self.job['pidFile'], 'a') as f:
                f.write(f'{pid}\n')

    async def attempt(self):
        """Run every pending cell in one fresh kernel. Returns 'done', 'restart' or 'deadline'."""
        plan = [i for i, c in enumerate(self.cells)
                if (c['role'] == 'student' and i not in self.skip) or (c['role'] == 'grader' and i not in self.done)]
        nb = nbformat.v4.new_notebook()
        nb.metadata = {'kernelspec': {'name': self.job['kernel'], 'display_name': 'rnn-lab grading', 'language': 'typescript'}}
        nb.cells = [nbformat.v4.new_code_cell(self.cells[i]['source']) for i in plan]
        client = GradingClient(nb, timeout=int(self.cell_timeout), kernel_name=self.job['kernel'], allow_errors=True,
                               shutdown_kernel='immediate', startup_timeout=120,
                               resources={'metadata': {'path': self.job['cwd']}},
                               on_kernel_started=lambda: self.log_pid(client))
        self.kernels += 1
        log = open(self.job['kernelLog'], 'ab') if self.job.get('kernelLog') else None
        try:
            kw = {'stdout': log, 'stderr': log} if log else {}
            async with client.async_setup_kernel(**kw):     # its kernel's pid is logged as soon as it starts
                for pos, i in enumerate(plan):
                    role = self.cells[i]['role']
                    if self.left() < 1:
                        return 'deadline'
                    client.timeout = max(1, int(min(self.cell_timeout, self.left())))
                    cell = nb.cells[pos]
                    t0 = time.monotonic()
                    try:
                        client.last_status = None
                        await client.async_execute_cell(cell, pos)
                        if client.last_status in ('abort', 'aborted'):     # aborted after an error (other kernels): once more
                            await asyncio.sleep(ERROR_PAUSE_S)
                            await client.async_execute_cell(cell, pos)
                        status = 'error' if client.last_status in ('error', 'abort', 'aborted') else 'ok'
                        self.record(i, status, cell, time.monotonic() - t0)
                        if role == 'grader':
                            self.done.add(i)
                        if status == 'error' and WASM_BROKEN.match(error_of(cell.get('outputs', []))):
                            (self.skip if role == 'student' else self.done).add(i)
                            self.events.append(f'{self.where(i)} broke tf.js (its WebAssembly memory); restarting without it')
                            return 'restart'
                        if status == 'error':
                            await asyncio.sleep(ERROR_PAUSE_S)
                    except CellTimeoutError:
                        limit = client.timeout
                        self.record(i, 'timeout', cell, time.monotonic() - t0, f'ran longer than {limit} s (interrupted)', limit=limit)
                        (self.skip if role == 'student' else self.done).add(i)
                        await ensure_async(client.km.interrupt_kernel())
                        if not await probe(client, min(PROBE_S, max(self.left(), 0.1))):
                            self.events.append(f'{self.where(i)} hung the kernel; restarting without it')
                            return 'restart'
                        self.events.append(f'{self.where(i)} timed out; the interrupt stopped it')
                        await asyncio.sleep(ERROR_PAUSE_S)
                    except DeadKernelError:
                        self.record(i, 'died', cell, time.monotonic() - t0, 'the kernel died while running this cell' + self.death_cause())
                        (self.skip if role == 'student' else self.done).add(i)
                        self.events.append(f'{self.where(i)} killed the kernel; restarting without it')
                        return 'restart'
            return 'done'
        finally:
            if log:
                log.close()

    async def run(self):
        outcome = 'done'
        while True:
            if self.left() < 1:
                outcome = 'deadline'
                break
            if self.kernels >= int(self.job['maxKernels']):
                outcome = 'too-many-kernels'
                break
            try:
                outcome = await self.attempt()
            except Exception as e:  # kernel start failures and the like
                self.events.append(f'{type(e).__name__}: {str(e)[-500:]}')
                outcome = 'kernel-error'
                if self.kernels >= 2:
                    break
                continue
            if outcome == 'done':
                break
        for i, c in enumerate(self.cells):
            if i not in self.records:
                self.records[i] = {'status': 'not-run', 'stdout': '', 'error': '', 'seconds': 0}
        return {
            'outcome': outcome,
            'kernels': self.kernels,
            'events': self.events,
            'cells': [{**self.records[i], 'role': c['role'], 'origIndex': c.get('origIndex'), 'exercise': c.get('exercise')}
                      for i, c in enumerate(self.cells)],
        }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--job', required=True)
    ap.add_argument('--out', required=True)
    a = ap.parse_args()
    with open(a.job) as f:
        job = json.load(f)
    t0 = time.monotonic()
    result = asyncio.run(Grader(job).run())
    result['seconds'] = round(time.monotonic() - t0, 2)
    write_atomic(a.out, json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
