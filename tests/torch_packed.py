#!/usr/bin/python3
"""PyTorch reference for padded batches (tests/unit/masking.test.mjs; run with /usr/bin/python3).

Reads a JSON array of jobs from stdin:

    { "cell": "rnn" | "lstm" | "gru", "inputSize": m, "hiddenSize": n, "numLayers": L,
      "bidirectional": bool, "stateDict": { "rnn.weight_ih_l0": [[...]], ... },   (other keys ignored)
      "x": [b][T][m], "lengths": [b], "gOut": [b][T][n*dirs], "gH": [L*dirs][b][n], "gC": same (LSTM) }

runs nn.RNN/LSTM/GRU(m, n, L, batch_first=True, bidirectional) in float64 on
pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False), unpacks the output with
pad_packed_sequence(total_length=T) (zeros at padded steps), and differentiates

    loss = sum(out * gOut) + sum(h_n * gH) (+ sum(c_n * gC))

with respect to x. Writes one JSON result per job, as an array:

    { "output": [b][T][n*dirs], "h": [L*dirs][b][n], "c": (LSTM) same, "gx": [b][T][m] }
"""
import os
import sys

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import serve  # noqa: E402  (the same stdin/stdout protocol)

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def run(job):
    kwargs = dict(batch_first=True, bidirectional=bool(job["bidirectional"]))
    if job["cell"] == "rnn":
        kwargs["nonlinearity"] = "tanh"
    rnn = CELLS[job["cell"]](job["inputSize"], job["hiddenSize"], job["numLayers"], **kwargs).double()
    state = {k[len("rnn."):]: torch.tensor(v, dtype=torch.float64)
             for k, v in job["stateDict"].items() if k.startswith("rnn.")}
    rnn.load_state_dict(state, strict=True)
    x = torch.tensor(job["x"], dtype=torch.float64, requires_grad=True)
    T = x.shape[1]
    lengths = torch.tensor(job["lengths"], dtype=torch.int64)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out_packed, hidden = rnn(packed)
    out, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=T)   # [b, T, n*dirs]
    h_n, c_n = hidden if isinstance(hidden, tuple) else (hidden, None)          # [L*dirs, b, n]
    loss = (out * torch.tensor(job["gOut"], dtype=torch.float64)).sum()
    loss = loss + (h_n * torch.tensor(job["gH"], dtype=torch.float64)).sum()
    if c_n is not None:
        loss = loss + (c_n * torch.tensor(job["gC"], dtype=torch.float64)).sum()
    (gx,) = torch.autograd.grad(loss, [x])
    result = {"output": out.detach().tolist(), "h": h_n.detach().tolist(), "gx": gx.tolist()}
    if c_n is not None:
        result["c"] = c_n.detach().tolist()
    return result


def main():
    serve(run)  # a JSON array of jobs in, an array of results out (tests/torch_reference.py)


if __name__ == "__main__":
    main()
