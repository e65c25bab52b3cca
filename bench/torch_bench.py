"""PyTorch reference for `npm run bench`: one recurrent layer + linear head, many-to-one regression,
Adam, on one CPU thread. Reads a JSON job list on stdin, prints JSON results on stdout.

Job: {"cell": "rnn"|"lstm"|"gru", "hidden": H, "T": 50, "input": 8, "batch": 64, "steps": N, "repeats": R, "warmup": W}
Result: {"cell", "hidden", "samples_per_s": [..per repeat..]}
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


if __name__ == '__main__':
    jobs = json.load(sys.stdin)
    print(json.dumps([run(j) for j in (jobs if isinstance(jobs, list) else [jobs])]))
