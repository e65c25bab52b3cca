"""The course kernel seen through jupyter_client and nbclient, as Jupyter, VS Code and graders see it.

Run by tests/kernel.test.mjs: `python3 tests/kernel_protocol.py <scenario> [kernel_name]` with JUPYTER_PATH
set so the kernel is found. Each scenario starts its own kernel, asserts, and prints what it measured;
the exit status is the verdict.
"""
import atexit
import json
import os
import shutil
import sys
import tempfile
import time

import nbformat
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

KERNEL = sys.argv[2] if len(sys.argv) > 2 else 'rnn-lab'
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The kernels' working folder, outside the project; removed when the scenario ends.
WORK = tempfile.mkdtemp(prefix='rnn-lab-kernel-')
atexit.register(shutil.rmtree, WORK, True)


class Kernel:
    """A started kernel and a blocking client; `run` returns (reply content, iopub messages of the request)."""

    def __init__(self, cwd):
        self.km, self.kc = start_new_kernel(kernel_name=KERNEL, cwd=cwd, startup_timeout=60)
        self.iopub, self.replies = {}, {}

    def send(self, code, stop_on_error=True):
        return self.kc.execute(code, stop_on_error=stop_on_error)

    def collect(self, msg_id, timeout=60):
        """Messages are kept per request: collecting one request must not drop another's output."""
        deadline = time.monotonic() + timeout
        while not self.iopub.get(msg_id, {}).get('idle'):
            m = self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            box = self.iopub.setdefault(m['parent_header'].get('msg_id'), {'outs': [], 'idle': False})
            if m['msg_type'] == 'status':
                box['idle'] = box['idle'] or m['content']['execution_state'] == 'idle'
            else:
                box['outs'].append(m)
        while msg_id not in self.replies:
            rep = self.kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
            self.replies[rep['parent_header'].get('msg_id')] = rep['content']
        return self.replies.pop(msg_id), self.iopub.pop(msg_id)['outs']

    def run(self, code, timeout=60, stop_on_error=True):
        return self.collect(self.send(code, stop_on_error), timeout)

    def ok(self, code, timeout=60):
        rep, outs = self.run(code, timeout)
        assert rep['status'] == 'ok', f'cell failed: {code!r}: {rep} {text(outs)}'
        return text(outs)

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def text(outs, name=None):
    return ''.join(m['content'].get('text', '') for m in outs
                   if m['msg_type'] == 'stream' and (name is None or m['content']['name'] == name))


def errors(outs):
    return [m['content'] for m in outs if m['msg_type'] == 'error']


def check_error(rep, outs, ename, evalue_part):
    """The reply and exactly one `error` output carry the same ename/evalue; no tslab/node frames."""
    assert rep['status'] == 'error', rep
    assert rep.get('ename') == ename, f"reply ename {rep.get('ename')!r}, want {ename!r}: {rep}"
    assert evalue_part in rep.get('evalue', ''), f"reply evalue {rep.get('evalue')!r} lacks {evalue_part!r}"
    errs = errors(outs)
    assert len(errs) == 1, f'want one error output, got {len(errs)}: {errs}'
    assert errs[0]['ename'] == ename and errs[0]['evalue'] == rep['evalue'], errs[0]
    tb = '\n'.join(errs[0]['traceback'])
    for bad in ('node_modules/tslab', 'node_modules/@tslab', 'node_modules/commander', 'node:internal', 'scripts/kernel/'):
        assert bad not in tb, f'traceback shows {bad}: {tb}'
    return errs[0]


def scenario_errors():
    k = Kernel(WORK)
    try:
        rep, outs = k.run("throw new RangeError('bad hidden size')")
        check_error(rep, outs, 'RangeError', 'bad hidden size')
        time.sleep(0.5)     # past the abort window that follows an error with stop_on_error
        # A library error: the traceback shows the user's cell and rnn-lab's frame, not tslab's.
        rep, outs = k.run("import { buildLSTM } from 'rnn-lab';\nconst m = buildLSTM({ inputSize: 1, hiddenSize: -3, outputSize: 1 });")
        e = check_error(rep, outs, 'RangeError', 'hiddenSize')
        tb = '\n'.join(e['traceback'])
        assert 'cell [' in tb and 'dist/' in tb, f'want a cell frame and a library frame: {tb}'
        time.sleep(0.5)
        # A function defined in one cell and called from a later one: each frame names its own cell.
        k.ok("function stepForward(x: number[]) {\n  if (x.length !== 2) {\n    throw new RangeError(`x must have 2 entries; got ${x.length}`);\n  }\n  return x;\n}")
        rep, outs = k.run("const a1 = 1;\nconst a2 = 2;\nconst res = stepForward([5]);")
        e = check_error(rep, outs, 'RangeError', 'x must have 2 entries; got 1')
        tb = '\n'.join(e['traceback'])
        n = rep['execution_count']
        assert f'at stepForward (cell [{n - 1}])' in tb and 'throw new RangeError' in tb, tb
        assert f'at cell [{n}]' in tb and 'res = stepForward([5])' in tb, tb
        time.sleep(0.5)
        rep, outs = k.run("const n: number = 'three';")
        check_error(rep, outs, 'TypeScriptError', "Type 'string' is not assignable to type 'number'")
        time.sleep(0.5)
        rep, outs = k.run("import { expectClaim } from 'rnn-lab';\nconst lstm = 0.31, rnn = 0.29;\nexpectClaim(lstm < rnn, `LSTM beats RNN: ${lstm} vs ${rnn}`);")
        check_error(rep, outs, 'ClaimError', '0.31 vs 0.29')
        assert 'ClaimError' not in text(outs, 'stderr'), 'the claim failure is an error output, not stderr text'
        time.sleep(0.5)
        # Errors nobody awaited, once tf.js's WebAssembly backend (which rethrows them) is loaded: a
        # forgotten `await` fails its cell; a timer throwing after its cell ended leaves the kernel running.
        k.ok(SETUP + "const kept = 7;")
        rep, outs = k.run("const m = buildLSTM({ inputSize: 2, hiddenSize: 8, outputSize: 1 });\n"
                          "train(m, { x: tf.zeros([4, 10, 3]), y: tf.zeros([4, 1]) }, { epochs: 1 });")
        check_error(rep, outs, 'Error', 'data.x must have layout')
        time.sleep(0.5)
        k.ok("setTimeout(() => { throw new Error('thrown later'); }, 50);")
        time.sleep(0.5)
        assert k.km.is_alive(), 'an error thrown by a timer killed the kernel'
        # The kernel goes on, with the variables of earlier cells.
        assert k.ok('kept + 1').strip() == '8'
        assert k.ok('1 + 2').strip() == '3'
        print('errors: RangeError, library RangeError, TypeScriptError, ClaimError reported with ename/evalue/traceback')
    finally:
        k.close()

    # nbclient (papermill, nbgrader and VS Code read the same fields): CellExecutionError carries them.
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('const x = 2;'),
                                         nbformat.v4.new_code_cell("throw new TypeError('x must be a tensor');")])
    client = NotebookClient(nb, kernel_name=KERNEL, timeout=60, resources={'metadata': {'path': WORK}})
    try:
        client.execute()
        raise AssertionError('nbclient did not raise')
    except CellExecutionError as e:
        assert e.ename == 'TypeError' and e.evalue == 'x must be a tensor', (e.ename, e.evalue)
        print(f'nbclient CellExecutionError: {e.ename}: {e.evalue}')


def scenario_abort():
    # allow_errors: nbconvert sends stop_on_error false; every later cell runs and has its outputs.
    cells = ["console.log('one')", "throw new Error('two fails')", "console.log('three')", "console.log('four')"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, kernel_name=KERNEL, timeout=60, allow_errors=True,
                   resources={'metadata': {'path': WORK}}).execute()
    got = [''.join(o.get('text', '') for o in c.outputs if o['output_type'] == 'stream').strip() for c in nb.cells]
    assert got[0] == 'one' and got[2] == 'three' and got[3] == 'four', f'later cells skipped: {got}'
    assert nb.cells[1].outputs[0]['output_type'] == 'error' and nb.cells[1].outputs[0]['ename'] == 'Error', nb.cells[1].outputs
    print(f'allow_errors: cells after the failing one ran: {got}')

    # stop_on_error (Run All in Jupyter): requests queued behind the failing one are aborted, not run.
    k = Kernel(WORK)
    try:
        ids = [k.send("await new Promise((r) => setTimeout(r, 300)); throw new Error('first fails')"),
               k.send("console.log('queued 1')"), k.send("console.log('queued 2')")]
        results = [k.collect(i) for i in ids]
        assert results[0][0]['status'] == 'error', results[0][0]
        for rep, outs in results[1:]:
            assert rep['status'] == 'aborted', f'a queued cell ran after an error with stop_on_error: {rep} {text(outs)}'
            assert 'queued' not in text(outs)
        # Only what was already queued is aborted: a request sent after the error reply runs.
        # The failed cell's reply goes out only after the abort window closes, so a request sent the
        # moment the reply arrives runs (CI once saw it aborted); tried several times, back to back.
        for i in range(12):
            rep, outs = k.run(f"throw new Error('fails again {i}')")
            assert rep['status'] == 'error', rep
            rep, outs = k.run(f"console.log('sent right after {i}')")
            assert rep['status'] == 'ok' and text(outs).strip() == f'sent right after {i}', (i, rep, text(outs))
        # The same queue with stop_on_error false runs everything.
        time.sleep(0.5)
        ids = [k.send("throw new Error('fails, but go on')", stop_on_error=False),
               k.send("console.log('after 1')", stop_on_error=False)]
        results = [k.collect(i) for i in ids]
        assert results[0][0]['status'] == 'error' and results[1][0]['status'] == 'ok', results
        assert text(results[1][1]).strip() == 'after 1', results
        print('stop_on_error: queued cells aborted; stop_on_error false: queued cells ran')
    finally:
        k.close()


def wait_idle_after_interrupt(k, msg_id, limit):
    t0 = time.monotonic()
    k.km.interrupt_kernel()
    rep, outs = k.collect(msg_id, timeout=limit + 30)
    return rep, outs, time.monotonic() - t0


def interrupted(k, code, evalue_part, after=3, limit=2):
    """Run `code`, press Interrupt after `after` s: idle within `limit` s, a KeyboardInterrupt error."""
    mid = k.send(code)
    time.sleep(after)
    rep, outs, secs = wait_idle_after_interrupt(k, mid, limit)
    assert secs < limit, f'the kernel took {secs:.2f} s to be idle after Interrupt (limit {limit} s)'
    check_error(rep, outs, 'KeyboardInterrupt', evalue_part)
    time.sleep(0.5)     # past the abort window after an error (Run All's queued cells are aborted)
    return outs, secs


SETUP = """import * as tf from '@tensorflow/tfjs';
import { initBackend, buildLSTM, buildGRU, addingProblem, train, decode } from 'rnn-lab';
await initBackend();
"""


def scenario_interrupt_train():
    k = Kernel(WORK)
    try:
        k.ok(SETUP + "const m = buildLSTM({ inputSize: 2, hiddenSize: 32, outputSize: 1, seed: 1 });\n"
             "const data = addingProblem(512, 50, 1);")
        # A declaration, as students write it: the cell is interrupted, yet `r` exists in the next cell.
        outs, train_secs = interrupted(k, "const r = await train(m, data, { epochs: 200, batchSize: 32 });", 'interrupted')
        lines = [l for l in text(outs, 'stdout').splitlines() if 'interrupted' in l]
        assert len(lines) == 1, f'want one printed line saying train was interrupted: {text(outs)}'
        epochs = [l for l in text(outs, 'stdout').splitlines() if l.startswith('epoch')]
        # After the interrupt: same weights 3 s apart, nothing from the interrupted cell printed.
        rep, outs = k.run("const w0 = Array.from(m.trainableWeights[0].read().dataSync());\n"
                          "await new Promise((res) => setTimeout(res, 3000));\n"
                          "const w1 = Array.from(m.trainableWeights[0].read().dataSync());\n"
                          "console.log(w0.every((v, i) => v === w1[i]) ? 'same weights' : 'weights changed');", timeout=30)
        assert rep['status'] == 'ok', rep
        out = text(outs)
        assert 'same weights' in out and 'epoch' not in out, f'training went on after Interrupt: {out!r}'
        assert k.ok("console.log(r.stopped, r.epochs.length)").split()[0] == 'interrupted'
        # Interrupt when nothing of the library runs: tslab's own interrupt (a synchronous loop is broken).
        interrupted(k, "let spins = 0; while (true) { spins++; }", 'interrupted', after=1)
        # tslab's interrupt leaves awaited user code running; what it prints goes to its own cell, not this one.
        interrupted(k, "await new Promise((res) => setTimeout(res, 1500)); console.log('late output');", 'interrupted', after=0.5)
        rep, outs = k.run("await new Promise((res) => setTimeout(res, 2500)); console.log('next cell');")
        assert text(outs).strip() == 'next cell', f'output of the interrupted cell leaked into the next one: {text(outs)!r}'
        # A loop of train calls stops as a whole: the running one returns, the next one does not start.
        outs, _ = interrupted(k, "for (const s of [1, 2, 3]) {\n  await train(m, data, { epochs: 200, batchSize: 32, seed: s, verbose: false });\n"
                                 "  console.log('done seed', s);\n}", 'did not start', after=2)
        out = text(outs)
        assert out.count('done seed') == 1 and 'done seed 2' not in out, f'the loop went on after Interrupt: {out!r}'
        # A second press while one long step runs (the first batch of a big model, in the cell's synchronous
        # start) stops it where it is; tf.js is put back in order, and the session goes on.
        k.ok("const big = buildLSTM({ inputSize: 2, hiddenSize: 256, outputSize: 1, seed: 2 });\nconst bigData = addingProblem(1024, 200, 2);\n"
             "const tensorsBefore = tf.memory().numTensors;")
        mid = k.send("const rb = await train(big, bigData, { epochs: 5, batchSize: 1024 });")
        time.sleep(2)
        k.km.interrupt_kernel()
        rep, outs, secs = wait_idle_after_interrupt(k, mid, 2)
        assert rep.get('ename') == 'KeyboardInterrupt', rep
        print(f"second press during a long step: {rep['evalue']}")
        time.sleep(0.5)
        left = k.ok("console.log(tf.memory().numTensors - tensorsBefore)").strip()
        assert left == '0', f'the train cut mid-step left {left} tensors (optimizer, snapshots)'
        interrupted(k, "let spins2 = 0; while (true) { spins2++; }", 'interrupted', after=1)
        # A second train on the same model starts from the kept weights and is not mixed with the first.
        out = k.ok("const r2 = await train(m, data, { epochs: 1, batchSize: 32 }); console.log(r2.stopped);", timeout=60)
        assert out.strip().endswith('completed') and out.count('epoch 1/1') == 1, out
        print(f'train interrupted after {len(epochs)} printed epochs; idle {train_secs:.2f} s after the interrupt; weights unchanged over 3 s')
    finally:
        k.close()


def scenario_interrupt_decode():
    k = Kernel(WORK)
    try:
        k.ok(SETUP + "const s2s = buildGRU({ topology: 'seq2seq', vocabSize: 12, embeddingSize: 8, hiddenSize: 64, outputSize: 12, seed: 3 });\n"
             "const src = tf.tensor2d([[3, 4, 5, 6]], [1, 4], 'int32');\n"
             "decode(s2s, src, { start: 1, maxLength: 5 }).dispose();\n"
             "const before = tf.memory().numTensors;")
        # No top-level await: a synchronous cell, the hard case for an event-loop SIGINT handler.
        outs, secs = interrupted(k, "const long = decode(s2s, src, { start: 1, maxLength: 1000000 });", 'decode')
        out = k.ok("console.log(tf.memory().numTensors - before)")
        assert out.strip() == '0', f'decode left {out.strip()} tensors after Interrupt'
        assert k.ok("console.log(decode(s2s, src, { start: 1, maxLength: 3 }).shape.join('x'))").strip() == '1x3'
        # generate splits a long input a block of steps at a time: Interrupt reaches its first steps.
        k.ok("import { buildRNN, generate } from 'rnn-lab';\n"
             "const o2m = buildRNN({ inputSize: 1, hiddenSize: 32, outputSize: 1, topology: 'one-to-many', sequenceLength: 20, seed: 1 });")
        _, gsecs = interrupted(k, "const g = generate(o2m, tf.tensor2d([[0.5]]), 200000);", 'generate interrupted after', after=1)
        print(f'decode interrupted; idle {secs:.2f} s after the interrupt; no tensor left; kernel usable; generate idle {gsecs:.2f} s')
    finally:
        k.close()


def scenario_anywhere():
    """A lesson and a notebook with a local module, copied outside the project, run to the end."""
    tmp = tempfile.mkdtemp(prefix='rnn-lab-elsewhere-')
    try:
        src = os.path.join(ROOT, 'notebooks', '00-welcome.ipynb')
        dst = os.path.join(tmp, 'welcome.ipynb')
        shutil.copy(src, dst)
        nb = nbformat.read(dst, as_version=4)
        t0 = time.monotonic()
        NotebookClient(nb, kernel_name=KERNEL, timeout=120, resources={'metadata': {'path': tmp}}).execute()
        print(f'00-welcome ran in {tmp} in {time.monotonic() - t0:.1f} s')
        with open(os.path.join(tmp, 'helper.ts'), 'w') as f:
            f.write("import * as tf from '@tensorflow/tfjs';\nexport function twice(x: tf.Tensor): tf.Tensor { return tf.mul(x, 2); }\n")
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in [
            "import * as tf from '@tensorflow/tfjs';\nimport * as dfd from 'danfojs-node';\n"
            "import { initBackend, buildRNN, type ModelSpec } from 'rnn-lab';\nimport { twice } from './helper';\nawait initBackend();",
            "const spec: ModelSpec = { inputSize: 1, hiddenSize: 4, outputSize: 1 };\nconst m = buildRNN(spec);\n"
            "console.log(twice(tf.tensor1d([1, 2])).dataSync().join(','), new dfd.DataFrame([{ a: 1 }]).shape.join('x'), m.countParams());",
        ]])
        NotebookClient(nb, kernel_name=KERNEL, timeout=120, resources={'metadata': {'path': tmp}}).execute()
        out = ''.join(o.get('text', '') for o in nb.cells[1].outputs)
        assert out.split()[:2] == ['2,4', '1x1'], out
        # Types come from the checkout too: a type error in a library call is caught before running.
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import { buildRNN } from 'rnn-lab';\nbuildRNN({ inputSize: 'one' });")])
        try:
            NotebookClient(nb, kernel_name=KERNEL, timeout=120, resources={'metadata': {'path': tmp}}).execute()
            raise AssertionError('a type error in a call to rnn-lab was not reported')
        except CellExecutionError as e:
            assert e.ename == 'TypeScriptError' and "Type 'string' is not assignable to type 'number'" in e.evalue, (e.ename, e.evalue)
        print(f'a notebook importing rnn-lab, tfjs, danfojs-node and ./helper ran in {tmp}: {out.strip()}')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def scenario_home():
    """Run with HOME a temporary folder, no JUPYTER_PATH, the kernel installed with --user (by the caller)."""
    assert 'JUPYTER_PATH' not in os.environ
    home = os.environ['HOME']
    with open(os.path.join(home, 'hw.ipynb'), 'w') as f:
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
            "import { initBackend, buildGRU } from 'rnn-lab';\nawait initBackend();\n"
            "console.log(buildGRU({ inputSize: 3, hiddenSize: 5, outputSize: 2 }).countParams());")]), f)
    nb = nbformat.read(os.path.join(home, 'hw.ipynb'), as_version=4)
    NotebookClient(nb, kernel_name=KERNEL, timeout=120, resources={'metadata': {'path': home}}).execute()
    out = ''.join(o.get('text', '') for o in nb.cells[0].outputs).strip().splitlines()[-1]
    # The lecture's GRU: gates r, z and candidate, each Wx [3, 5], Wh [5, 5], b [5] = 3 × 45; head 5·2 + 2.
    assert out == str(3 * (3 * 5 + 5 * 5 + 5) + 5 * 2 + 2), out
    print(f'a notebook in $HOME={home} ran with the --user kernel: {out} parameters')


def scenario_cell_ids():
    """plotly.js follows the cell ids JupyterLab sends (`cellId`, `deletedCells` in the request metadata):
    sent again only when the cell that held it ran again or was deleted; the old copy emptied."""
    k = Kernel(WORK)
    show = "import { show } from 'rnn-lab';\nshow({ data: [{ y: [1, 3, 2] }], layout: { title: { text: '%s' } } });"

    def run(code, cell_id, deleted=()):
        meta = {'cellId': cell_id, 'deletedCells': list(deleted)}
        msg = k.kc.session.msg('execute_request', {'code': code, 'silent': False, 'store_history': True,
                                                    'user_expressions': {}, 'allow_stdin': False, 'stop_on_error': True},
                               metadata=meta)
        k.kc.shell_channel.send(msg)
        rep, outs = k.collect(msg['header']['msg_id'])
        assert rep['status'] == 'ok', f'{code!r}: {rep} {text(outs)}'
        return outs

    def loaders(outs):
        return [m for m in outs if m['msg_type'] == 'display_data'
                and m['content']['metadata'].get('rnn_lab', {}).get('plotly_js')]

    def moved(outs):
        return [m for m in outs if m['msg_type'] == 'update_display_data'
                and m['content']['metadata'].get('rnn_lab', {}).get('plotly_js_moved')]

    try:
        a = run(show % 'a', 'A')
        assert len(loaders(a)) == 1, f'cell A draws first: it holds plotly.js ({len(loaders(a))})'
        first = loaders(a)[0]['content']['transient']['display_id']
        b = run(show % 'b', 'B')
        assert loaders(b) == [] and moved(b) == [], 'cell A still holds it: cell B gets none'
        run('const unrelated = 1;', 'A')           # A ran again (edited): its outputs, plotly.js included, are gone
        b = run(show % 'b2', 'B')
        assert len(loaders(b)) == 1, 'A ran again: B now holds it'
        # A's output went with its re-run: no update is sent to it (a frontend would find nothing to update).
        assert moved(b) == [], f'no update for the cleared copy in A ({first})'
        c = run(show % 'c', 'C')
        assert loaders(c) == [], 'B still holds it'
        c = run(show % 'c2', 'C', deleted=['B'])
        assert len(loaders(c)) == 1 and moved(c) == [], 'B was deleted: C holds it now'
        third = loaders(c)[0]['content']['transient']['display_id']
        d = run(show % 'd', 'D')
        assert loaders(d) == []
        # loadPlotly(true) sends it again into D; C's copy still exists, so it is emptied.
        d = run("import { loadPlotly } from 'rnn-lab';\nloadPlotly(true);", 'D')
        assert len(loaders(d)) == 1 and [m['content']['transient']['display_id'] for m in moved(d)] == [third], \
            'forced: the copy in C is emptied'
        print(f'plotly.js sent 4 times over 6 figure cells and one loadPlotly(true); display ids {first} … {third}')
    finally:
        k.close()



def scenario_earlier_names():
    """A notebook whose cells name earlier cells' variables in every construct tslab 1.0.22 alone gets
    wrong (a shorthand property: ReferenceError, or in a destructuring assignment a silent global), with
    the README idiom `train(model, { x, y, lengths })`; each cell prints what JavaScript gives in one scope."""
    cells = [
        ("const x = 1; const lengths = [2, 3]; let n = 10; function f() { return 'f'; }\n"
         "const { p, q: [r] } = { p: 4, q: [5] }; import * as nodePath from 'node:path';", None),
        ('console.log(JSON.stringify({ x, lengths }))', '{"x":1,"lengths":[2,3]}'),
        ('console.log(JSON.stringify({ a: { x }, b: [{ lengths }], ...{ n } }))', '{"a":{"x":1},"b":[{"lengths":[2,3]}],"n":10}'),
        ('console.log({ f }.f(), JSON.stringify({ p, r }), typeof { nodePath }.nodePath.join)', 'f {"p":4,"r":5} function'),
        ('const later = { x, n }; console.log(later.x + later.n, (() => ({ x }))().x)', '11 1'),
        ('({ n } = { n: 42 }); console.log(n, typeof (globalThis as any).n)', '42 undefined'),
        ('({ n = 5 } = {} as { n?: number }); console.log(n)', '5'),
        ('for ({ n } of [{ n: 3 }, { n: 4 }]) {} console.log(n)', '4'),
        ('const { a = x } = {} as { a?: number }; console.log(a, `${x}-${lengths}`)', '1 1-2,3'),
        # The README idiom: `x` and `lengths` from padSequences in one cell (declared again: tslab allows it),
        # `train(model, { x, y, lengths })` in the next. Lengths 3 and 1 after post-padding to 3 steps.
        ("import * as tf from '@tensorflow/tfjs';\nimport { initBackend, buildRNN, train, padSequences } from 'rnn-lab';\n"
         "await initBackend();\nconst { x, lengths } = padSequences([[[1], [2], [3]], [[4]]]);\nconst y = tf.zeros([2, 1]);\n"
         "const model = buildRNN({ inputSize: 1, hiddenSize: 3, outputSize: 1 });", None),
        ('const res = await train(model, { x, y, lengths }, { epochs: 2, verbose: false });\n'
         'console.log(res.epochs.length, res.stopped, JSON.stringify({ lengths }), x.shape.join("x"))',
         '2 completed {"lengths":[3,1]} 2x3x1'),
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c, _ in cells])
    NotebookClient(nb, kernel_name=KERNEL, timeout=120, resources={'metadata': {'path': WORK}}).execute()
    for (code, want), cell in zip(cells, nb.cells):
        if want is None:
            continue
        got = ''.join(o.get('text', '') for o in cell.outputs if o.get('output_type') == 'stream').strip()
        assert got == want, f'cell {code!r}: printed {got!r}, want {want!r}'
    print(f'{sum(1 for _, w in cells if w)} cells naming earlier cells\' variables in shorthand properties printed their values')


if __name__ == '__main__':
    name = sys.argv[1]
    globals()[f'scenario_{name}']()
    print(json.dumps({'scenario': name, 'ok': True}))
