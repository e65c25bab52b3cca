"""PyTorch reference for `npm run bench`: one recurrent layer + linear head, many-to-one regression,
Adam, on one CPU thread. Reads a JSON job list on stdin, prints JSON results on stdout.

Job: {"cell": "rnn"|"lstm"|"gru", "hidden": H, "T": 50, "input": 8, "batch": 64, "steps": N, "repeats": R, "warmup": W}
Result: {"cell", "hidden", "samples_per_s": [..per repeat..]}

`--serve`: one job per line, answered per line, one repetition each (see `serve`).

Job {"mode": "packed", "cell", "hidden", "T", "input", "batch", "steps", "repeats", "warmup", "lengths": [..],
"x": [batch·T·input floats]} (issue 16's ragged row): forward+backward of the layer alone, loss on each
sequence's last h against fixed weights, on x packed with pack_padded_sequence(enforce_sorted=False) and on
the same x at full length, alternating. Result: {"cell", "hidden", "packed_ms": [..], "full_ms": [..]}
"""
import json
import sys
import time

import torch

torch.set_num_threads(1)
torch.manual_seed(0)


def run(job):
    cls = {'rnn': torch.nn.RNN, 'lstm': torch.nn.LSTM, 'gru': torch.nn.GRU}[job['cell']]
    rnn = cls(job['input'], job['hidden'], batch_first=True)
    head = torch.nn.Linear(job['hidden'], 1)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    x = torch.randn(job['batch'], job['T'], job['input'])
    y = torch.randn(job['batch'], 1)

    def step():
        opt.zero_grad()
        out, _ = rnn(x)
        loss = ((head(out[:, -1]) - y) ** 2).mean()
        loss.backward()
        opt.step()

    for _ in range(job['warmup']):
        step()
    rates = []
    for _ in range(job['repeats']):
        t0 = time.perf_counter()
        for _ in range(job['steps']):
            step()
        rates.append(job['steps'] * job['batch'] / (time.perf_counter() - t0))
    return {'cell': job['cell'], 'hidden': job['hidden'], 'samples_per_s': rates}


def run_packed(job):
    cls = {'rnn': torch.nn.RNN, 'lstm': torch.nn.LSTM, 'gru': torch.nn.GRU}[job['cell']]
    rnn = cls(job['input'], job['hidden'], batch_first=True)
    b, T = job['batch'], job['T']
    x = torch.tensor(job['x'], dtype=torch.float32).reshape(b, T, job['input']).requires_grad_(True)
    lengths = torch.tensor(job['lengths'], dtype=torch.int64)
    r = torch.randn(b, job['hidden'])

    def step(packed):
        rnn.zero_grad()
        x.grad = None
        inp = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False) if packed else x
        _, h = rnn(inp)
        h_n = h[0] if isinstance(h, tuple) else h          # [1, b, n], in the caller's row order
        (h_n[0] * r).sum().backward()

    def timed(packed):
        t0 = time.perf_counter()
        for _ in range(job['steps']):
            step(packed)
        return 1000 * (time.perf_counter() - t0) / job['steps']

    for _ in range(job['warmup']):
        step(True)
        step(False)
    out = {'cell': job['cell'], 'hidden': job['hidden'], 'packed_ms': [], 'full_ms': []}
    for _ in range(job['repeats']):
        out['packed_ms'].append(timed(True))
        out['full_ms'].append(timed(False))
    return out


class Trainer:
    """One configuration of `run`, kept between requests (server mode): its model, optimizer and data."""

    def __init__(self, job):
        cls = {'rnn': torch.nn.RNN, 'lstm': torch.nn.LSTM, 'gru': torch.nn.GRU}[job['cell']]
        self.rnn = cls(job['input'], job['hidden'], batch_first=True)
        self.head = torch.nn.Linear(job['hidden'], 1)
        self.opt = torch.optim.Adam(list(self.rnn.parameters()) + list(self.head.parameters()), lr=1e-3)
        self.x = torch.randn(job['batch'], job['T'], job['input'])
        self.y = torch.randn(job['batch'], 1)
        self.batch = job['batch']
        for _ in range(job['warmup']):
            self.step()

    def step(self):
        self.opt.zero_grad()
        out, _ = self.rnn(self.x)
        loss = ((self.head(out[:, -1]) - self.y) ** 2).mean()
        loss.backward()
        self.opt.step()

    def rate(self, steps):
        t0 = time.perf_counter()
        for _ in range(steps):
            self.step()
        return steps * self.batch / (time.perf_counter() - t0)


def serve():
    """Server mode (`--serve`): one JSON job per input line, one JSON answer per output line, so the
    caller can alternate PyTorch's repetitions with its own (drift then hits both alike). A job is
    `run`'s, plus "steps": the answer is {"samples_per_s": r} for one repetition of that many steps."""
    trainers = {}
    for line in sys.stdin:
        job = json.loads(line)
        key = (job['cell'], job['hidden'], job['T'], job['input'], job['batch'])
        if key not in trainers:
            trainers[key] = Trainer(job)
        print(json.dumps({'samples_per_s': trainers[key].rate(job['steps'])}), flush=True)


if __name__ == '__main__':
    if '--serve' in sys.argv:
        serve()
        sys.exit(0)
    jobs = json.load(sys.stdin)
    print(json.dumps([run_packed(j) if j.get('mode') == 'packed' else run(j) for j in (jobs if isinstance(jobs, list) else [jobs])]))
