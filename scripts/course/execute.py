"""Execute notebooks headless in the course's kernel and report each one's runtime and errors.

Used by the notebook test and by `npm run course`. Run with a Python that has Jupyter (nbclient,
nbconvert); the caller sets JUPYTER_PATH so the project's kernel is found.

Each report also has the kernel's peak memory (`peak_mb`: the summed peak RSS of the kernel process and
its children, scripts/course/memory.py; null where /proc is missing, with `memory_note` saying so) and
`memory_processes` (each process's peak).

    python3 execute.py [--out DIR] [--html DIR] [--report FILE] [--cell-timeout S] NOTEBOOK...

A notebook fails when a cell's execution reply is an error, when a cell writes to stderr (stderr noise
confuses students and graders), or when not every code cell ran.
"""
import argparse
import json
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from nbexport import export_html  # scripts/course/nbexport.py, beside this file (it puts scripts/lib on sys.path)
from files import write_atomic  # scripts/lib/files.py
import memory  # scripts/course/memory.py


# The line src/claims.ts expectClaim prints when a claim holds.
CLAIM_MARK = '\u2714 claim holds: '
# What it prints instead of throwing under RNN_LAB_CLAIMS=report.
CLAIM_FAIL_MARK = '\u2718 claim fails: '


class RecordingClient(NotebookClient):
    """NotebookClient that records cells whose execute_reply says 'error' instead of raising."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.failed_cells = []
        self.memory = None    # memory.PeakMemory of the kernel's process tree, once it started
        self.memory_report = None

    async def async_start_new_kernel(self, **kwargs):
        await super().async_start_new_kernel(**kwargs)
        pid = getattr(getattr(self.km, 'provisioner', None), 'pid', None)
        if pid is not None and memory.available():
            self.memory = memory.PeakMemory(pid).start()

    async def _async_cleanup_kernel(self):
        # The last reading just before shutdown: VmHWM is gone with the process.
        if self.memory is not None and self.memory_report is None:
            self.memory_report = self.memory.stop()
        await super()._async_cleanup_kernel()

    async def _check_raise_for_error(self, cell, cell_index, exec_reply):
        if exec_reply is not None and exec_reply.get('content', {}).get('status') == 'error':
            c = exec_reply['content']
            self.failed_cells.append({'cell': cell_index, 'ename': c.get('ename', ''), 'evalue': c.get('evalue', '')})
            # tslab aborts the cells queued after a failure; stop here and report.
            from nbclient.exceptions import CellExecutionError
            raise CellExecutionError.from_cell_and_msg(cell, c)


def run(path, cell_timeout, kernel):
    nb = nbformat.read(path, as_version=4)
    client = RecordingClient(nb, timeout=cell_timeout, kernel_name=kernel, allow_errors=False,
                             resources={'metadata': {'path': os.path.dirname(os.path.abspath(path))}})
    errors = []
    t0 = time.time()
    try:
        client.execute()
    except CellTimeoutError as e:
        errors.append(f'a cell ran longer than {cell_timeout} s: {str(e).splitlines()[0] if str(e) else ""}')
    except DeadKernelError as e:
        errors.append(f'the kernel died: {e}')
    except Exception as e:  # CellExecutionError and kernel start failures
        if not client.failed_cells:
            errors.append(f'{type(e).__name__}: {str(e)[-2000:]}')
    seconds = time.time() - t0
    for f in client.failed_cells:
        # Plain tslab kernels send an empty ename/evalue and write the message to stderr instead.
        detail = f"{f['ename']}: {f['evalue']}" if f['ename'] or f['evalue'] else ''
        if not detail:
            outs = nb.cells[f['cell']].get('outputs', [])
            detail = ' '.join(o.get('text', '') for o in outs if o.get('name') == 'stderr').strip()[-1000:]
        errors.append(f"cell {f['cell']} failed: {detail or 'no message'}")
    stderr = []
    claims = []     # what each passing expectClaim printed: the numbers behind the lesson's claim
    failed_claims = []  # with RNN_LAB_CLAIMS=report, what each failing claim printed
    not_run = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != 'code':
            continue
        if cell.source.strip() and cell.get('execution_count') is None:
            not_run.append(i)
        for out in cell.get('outputs', []):
            if out.get('output_type') == 'stream' and out.get('name') == 'stdout':
                for line in out.get('text', '').splitlines():
                    if line.startswith(CLAIM_MARK):
                        claims.append(line[len(CLAIM_MARK):].strip())
                    elif line.startswith(CLAIM_FAIL_MARK):
                        failed_claims.append(line[len(CLAIM_FAIL_MARK):].strip())
            if out.get('output_type') == 'stream' and out.get('name') == 'stderr' and out.get('text', '').strip():
                stderr.append({'cell': i, 'text': out['text'][-2000:]})
            if out.get('output_type') == 'error':
                errors.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}")
    if not_run and not errors:
        errors.append(f'code cells {not_run} did not run')
    if client.memory is not None and client.memory_report is None:
        client.memory_report = client.memory.stop()   # the kernel never reached cleanup (start failed)
    mem = client.memory_report
    note = None if mem else ('no /proc here (not Linux): peak memory not measured' if not memory.available()
                             else 'the kernel process was not found: peak memory not measured')
    return nb, {'path': path, 'seconds': round(seconds, 2), 'errors': errors, 'stderr': stderr,
                'claims': claims, 'failed_claims': failed_claims, 'ok': not errors and not stderr and not failed_claims,
                'peak_mb': mem['peak_mb'] if mem else None, 'memory_processes': mem['processes'] if mem else [],
                **({'memory_note': note} if note else {})}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('notebooks', nargs='+')
    ap.add_argument('--out', help='write executed notebooks to this folder')
    ap.add_argument('--html', help='write an HTML page per notebook to this folder')
    ap.add_argument('--report', help='write the JSON report here (default: stdout, last line)')
    ap.add_argument('--cell-timeout', type=int, default=300)
    ap.add_argument('--kernel', default='rnn-lab')
    a = ap.parse_args()
    reports = []
    for path in a.notebooks:
        nb, rep = run(path, a.cell_timeout, a.kernel)
        name = os.path.splitext(os.path.basename(path))[0]
        if a.out:
            os.makedirs(a.out, exist_ok=True)
            write_atomic(os.path.join(a.out, name + '.ipynb'), nbformat.writes(nb))
        if a.html:
            os.makedirs(a.html, exist_ok=True)
            # The same export as `npm run export`; pages share one MathJax copy (mathjax/ beside them).
            export_html(nb, os.path.join(a.html, name + '.html'), mathjax='beside', name=name)
        mark = 'ok ' if rep['ok'] else 'FAIL'
        mem = f"{rep['peak_mb']:7.0f} MB" if rep['peak_mb'] is not None else '      ? MB'
        print(f"{mark} {rep['seconds']:6.1f} s {mem}  {path}", file=sys.stderr, flush=True)
        reports.append(rep)
    text = json.dumps(reports)
    if a.report:
        write_atomic(a.report, text)
    else:
        print(text)
    return 0 if all(r['ok'] for r in reports) else 1


if __name__ == '__main__':
    sys.exit(main())
