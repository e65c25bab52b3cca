#!/usr/bin/python3
"""PyTorch reference for tests/unit/torch.test.mjs (run with /usr/bin/python3, which has torch).

Reads one JSON job, or a JSON array of jobs, from stdin:

    { "cell": "rnn" | "lstm" | "gru", "inputSize": m, "hiddenSize": n, "outputSize": k,
      "numLayers": L, "bidirectional": bool, "topology": "many-to-one" | "many-to-many",
      "stateDict": { "rnn.weight_ih_l0": [[...]], ..., "head.weight": [[...]], "head.bias": [...] },
      "x": [b][T][m], "target": same shape as the output }

builds `rnn` = nn.RNN/LSTM/GRU(m, n, L, batch_first=True, bidirectional=...) and `head` = nn.Linear
in float64, loads the state dict (strictly: names and shapes must match), and computes

    output = head(rnn(x).output)                      many-to-many: [b, T, k]
    output = head(cat(h_n[-dirs:]))                   many-to-one:  [b, k] (forward h_n, then backward h_n)
    loss   = 0.5 * sum((output - target)^2)

and the gradients of loss with respect to x and every parameter. Writes to stdout (and nothing else)
one JSON result per job, an array for an array:

    { "output": ..., "loss": float, "grads": { "x": ..., "<state dict name>": ..., ... } }
"""
import json
import sys

import torch
from torch import nn

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class Net(nn.Module):
    def __init__(self, job):
        super().__init__()
        cls = CELLS[job["cell"]]
        kwargs = dict(batch_first=True, bidirectional=bool(job["bidirectional"]))
        if job["cell"] == "rnn":
            kwargs["nonlinearity"] = "tanh"
        self.rnn = cls(job["inputSize"], job["hiddenSize"], job["numLayers"], **kwargs)
        dirs = 2 if job["bidirectional"] else 1
        self.head = nn.Linear(job["hiddenSize"] * dirs, job["outputSize"])
        self.topology = job["topology"]
        self.dirs = dirs

    def forward(self, x):
        out, state = self.rnn(x)                        # out [b, T, n*dirs]
        if self.topology == "many-to-many":
            return self.head(out)                       # [b, T, k]
        if self.topology != "many-to-one":
            raise ValueError(f"unsupported topology {self.topology!r}")
        h_n = state[0] if isinstance(state, tuple) else state   # [L*dirs, b, n]; LSTM: (h_n, c_n)
        last = torch.cat([h_n[-self.dirs + d] for d in range(self.dirs)], dim=1)  # [b, n*dirs]
        return self.head(last)                          # [b, k]


def run(job):
    net = Net(job).double()
    state = {name: torch.tensor(value, dtype=torch.float64) for name, value in job["stateDict"].items()}
    net.load_state_dict(state, strict=True)
    x = torch.tensor(job["x"], dtype=torch.float64, requires_grad=True)
    target = torch.tensor(job["target"], dtype=torch.float64)
    output = net(x)
    if tuple(output.shape) != tuple(target.shape):
        raise ValueError(f"output shape {tuple(output.shape)} != target shape {tuple(target.shape)}")
    loss = 0.5 * ((output - target) ** 2).sum()
    params = dict(net.named_parameters())
    names = list(params)
    grads = torch.autograd.grad(loss, [x] + [params[k] for k in names])
    out = {"x": grads[0].tolist()}
    for name, g in zip(names, grads[1:]):
        out[name] = g.tolist()
    return {"output": output.detach().tolist(), "loss": loss.item(), "grads": out}


def serve(run):
    """Read jobs (a JSON array, or one job) from stdin, run each in float64 on one thread, write the JSON
    results to stdout (anything printed while computing goes to stderr, not into the JSON)."""
    torch.set_num_threads(1)
    torch.manual_seed(0)  # parameters are all overwritten by the state dict; this only fixes init
    jobs = json.load(sys.stdin)
    real_stdout = sys.stdout
    sys.stdout = sys.stderr
    try:
        result = [run(j) for j in jobs] if isinstance(jobs, list) else run(jobs)
    finally:
        sys.stdout = real_stdout
    json.dump(result, real_stdout)
    real_stdout.write("\n")
    real_stdout.flush()


def main():
    serve(run)


if __name__ == "__main__":
    main()
