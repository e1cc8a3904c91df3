"""Write PyTorch reference results for the NumPy LSTM to tests/fixtures/torch_lstm_*.npz.

PyTorch is not a run-time dependency of lstm_lit: this script is run once, by hand, in an environment
that has torch, and the small .npz files it writes are committed. tests/test_lstm.py then checks that
lstm_lit reproduces every number in them (outputs, final states and every gradient) without torch.

Usage (from the repository root):  /path/to/python-with-torch tools/make_torch_fixtures.py [NAME ...]
[--out DIR] (the command line of every fixture script: tools/_torch_fixture_common.py)

Each case runs in float64, seeded, with distinct non-zero bias_ih and bias_hh, non-zero h0 and c0:
- ``nn.LSTM(batch_first=True)`` on x (N, T, D), loss = sum(output * R) + sum(h_n * S) + sum(c_n * U);
- ``nn.LSTMCell`` on one step x (N, D), loss = sum(h_1 * S) + sum(c_1 * U).
Saved arrays (torch's own shapes for the parameters; h0, c0, h_n, c_n squeezed to (N, H)):
x, h0, c0, weight_ih (4H, D), weight_hh (4H, H), bias_ih, bias_hh (4H,), R, S, U, output, h_n, c_n,
grad_x, grad_h0, grad_c0, grad_weight_ih, grad_weight_hh, grad_bias_ih, grad_bias_hh, module ("LSTM" or
"LSTMCell") and torch_version.

Stacked and bidirectional cases (chapters 19 and 20), ``nn.LSTM(num_layers=L, bidirectional=B,
batch_first=True)``, in float64, seeded, with distinct non-zero bias_ih and bias_hh in every layer and
direction, non-zero h0 and c0 for every layer and direction, dropout = 0, and the same loss,
sum(output * R) + sum(h_n * S) + sum(c_n * U). Saved arrays, in torch's own shapes (K = L * (2 if B
else 1) final states, ordered layer 0 forward, layer 0 reverse, layer 1 forward, ...):
x (N, T, D), h0, c0, S, U, h_n, c_n (K, N, H), R and output (N, T, H or 2H), every parameter under
its state-dict name (weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, and *_reverse), the
gradient of each as grad_<name>, grad_x, grad_h0, grad_c0, module ("LSTM"), num_layers,
bidirectional and torch_version.

Packed cases (chapter 21), ``nn.LSTM(bidirectional=B, batch_first=True)`` run on
``pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)`` with unsorted lengths
in [1, T] (one equal to T, one equal to 1), in float64, seeded, with distinct non-zero biases,
non-zero h0 and c0, and non-zero values in x and R on the padded steps too (they must be ignored);
the output is unpacked with ``pad_packed_sequence(..., total_length=T)`` (zeros on padded steps) and
the loss is sum(output * R) + sum(h_n * S) + sum(c_n * U). Saved arrays: those of the stacked cases
(num_layers = 1) plus lengths (N,) int64 and packed (True). tests/test_variable_length.py checks the
masked layers of lstm_lit.variable_length against them.

Usage with names writes only those cases (e.g. ``tools/make_torch_fixtures.py lstm_l2 lstm_bi``). Re-running
a case reproduces its inputs and parameters bit for bit, but its outputs and gradients only to round-off
(about 1e-16: they depend on the CPU's kernels), and the .npz records the time it was written: write only
the cases you add.
"""
from functools import partial

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from _torch_fixture_common import (main, recurrent_module, seeded_randn, set_biases,
                                   to_arrays, with_grads)

# (name, module, N, T, D, H, seed); T is ignored for the cell. D != H in most cases.
CASES = [
    ("lstm_a", "LSTM", 2, 3, 4, 5, 0),
    ("lstm_b", "LSTM", 3, 5, 3, 3, 1),
    ("lstm_c", "LSTM", 4, 7, 1, 2, 2),
    ("cell_a", "LSTMCell", 3, 1, 5, 4, 3),
]

# (name, N, T, D, H, num_layers, bidirectional, seed) for nn.LSTM stacks
STACKED_CASES = [
    ("lstm_l2", 3, 4, 3, 5, 2, False, 4),
    ("lstm_l3", 2, 5, 4, 3, 3, False, 5),
    ("lstm_bi", 3, 4, 2, 3, 1, True, 6),
    ("lstm_bi_l2", 2, 5, 3, 4, 2, True, 7),
]

# (name, T, D, H, lengths, bidirectional, seed) for nn.LSTM on a packed batch; N = len(lengths)
PACKED_CASES = [
    ("lstm_packed", 6, 3, 4, (4, 6, 1, 3, 6), False, 8),
    ("lstm_packed_bi", 5, 2, 3, (2, 5, 1, 4), True, 9),
]


def make_case(module, N, T, D, H, seed):
    randn = seeded_randn(seed)
    net, names = recurrent_module(module, D, H)
    x = randn(N, T, D) if module == "LSTM" else randn(N, D)
    set_biases(net, randn)
    h0, c0 = randn(N, H), randn(N, H)
    for t in (x, h0, c0):
        t.requires_grad_(True)
    S, U = randn(N, H), randn(N, H)
    out = {}
    if module == "LSTM":
        R = randn(N, T, H)
        output, (h_n, c_n) = net(x, (h0[None], c0[None]))
        h_n, c_n = h_n[0], c_n[0]
        loss = (output * R).sum() + (h_n * S).sum() + (c_n * U).sum()
        out["R"], out["output"] = R, output
    else:
        h_n, c_n = net(x, (h0, c0))
        loss = (h_n * S).sum() + (c_n * U).sum()
    loss.backward()
    out.update(x=x, h0=h0, c0=c0, S=S, U=U, h_n=h_n, c_n=c_n,
               grad_x=x.grad, grad_h0=h0.grad, grad_c0=c0.grad)
    return to_arrays({**out, **with_grads(net, names)}, module=module)


def make_stacked_case(N, T, D, H, num_layers, bidirectional, seed, lengths=None):
    """A stack of nn.LSTM layers on x (N, T, D); with lengths, one layer on a packed batch."""
    randn = seeded_randn(seed)
    net = torch.nn.LSTM(D, H, num_layers=num_layers, bidirectional=bidirectional,
                        batch_first=True, dropout=0.0).double()
    set_biases(net, randn)
    K = num_layers * (2 if bidirectional else 1)
    x, h0, c0 = randn(N, T, D), randn(K, N, H), randn(K, N, H)   # packed: padding non-zero
    for t in (x, h0, c0):
        t.requires_grad_(True)
    R = randn(N, T, (2 if bidirectional else 1) * H)              # likewise
    S, U = randn(K, N, H), randn(K, N, H)
    if lengths is None:
        output, (h_n, c_n) = net(x, (h0, c0))
    else:
        lengths = torch.tensor(lengths, dtype=torch.int64)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        output, (h_n, c_n) = net(packed, (h0, c0))
        output, _ = pad_packed_sequence(output, batch_first=True, total_length=T)
    loss = (output * R).sum() + (h_n * S).sum() + (c_n * U).sum()
    loss.backward()
    out = dict(x=x, h0=h0, c0=c0, R=R, S=S, U=U, output=output, h_n=h_n, c_n=c_n,
               grad_x=x.grad, grad_h0=h0.grad, grad_c0=c0.grad)
    out.update(with_grads(net, [k for k, _ in net.named_parameters()]))
    settings = dict(module="LSTM", num_layers=num_layers, bidirectional=bidirectional)
    if lengths is not None:
        out["lengths"], settings["packed"] = lengths, True
    return to_arrays(out, **settings)


def cases():
    """name -> (make, text) for every case, in the order of the tables above."""
    out = {}
    for name, module, N, T, D, H, seed in CASES:
        out[name] = (partial(make_case, module, N, T, D, H, seed),
                     f"{module} N={N} T={T} D={D} H={H}")
    for name, N, T, D, H, num_layers, bidirectional, seed in STACKED_CASES:
        out[name] = (partial(make_stacked_case, N, T, D, H, num_layers, bidirectional, seed),
                     f"LSTM num_layers={num_layers} bidirectional={bidirectional} "
                     f"N={N} T={T} D={D} H={H}")
    for name, T, D, H, lengths, bidirectional, seed in PACKED_CASES:
        out[name] = (partial(make_stacked_case, len(lengths), T, D, H, 1, bidirectional, seed,
                             lengths),
                     f"LSTM packed bidirectional={bidirectional} T={T} D={D} H={H} "
                     f"lengths={list(lengths)}")
    return out


if __name__ == "__main__":
    main(cases(), __doc__.splitlines()[0])
