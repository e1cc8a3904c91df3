"""Write PyTorch reference results for the NumPy GRU to tests/fixtures/torch_gru_*.npz.

PyTorch is not a run-time dependency of lstm_lit: this script is run once, by hand, in an environment
that has torch, and the small .npz files it writes are committed. tests/test_gru.py and chapter 17
(notebooks/17_gru.ipynb) then check that lstm_lit.gru reproduces every number in them (outputs, final
state and every gradient) without torch.

Usage (from the repository root):  /path/to/python-with-torch tools/make_gru_fixtures.py [NAME ...]
[--out DIR] (the command line of every fixture script: tools/_torch_fixture_common.py)

Each case runs in float64, seeded, with distinct non-zero bias_ih and bias_hh and a non-zero h0:
- ``nn.GRU(batch_first=True)`` on x (N, T, D), loss = sum(output * R) + sum(h_n * S);
- ``nn.GRUCell`` on one step x (N, D), loss = sum(h_1 * S).
Saved arrays (torch's own shapes for the parameters; h0 and h_n squeezed to (N, H)):
x, h0, weight_ih (3H, D), weight_hh (3H, H), bias_ih, bias_hh (3H,), R (GRU only), S, output (GRU
only), h_n, grad_x, grad_h0, grad_weight_ih, grad_weight_hh, grad_bias_ih, grad_bias_hh, module ("GRU"
or "GRUCell") and torch_version.
"""
from functools import partial

from _torch_fixture_common import (main, recurrent_module, seeded_randn, set_biases,
                                   to_arrays, with_grads)

# (name, module, N, T, D, H, seed); T is ignored for the cell. D != H in most cases.
CASES = [
    ("gru_a", "GRU", 2, 3, 4, 5, 0),
    ("gru_b", "GRU", 3, 6, 3, 3, 1),
    ("gru_c", "GRU", 4, 8, 1, 2, 2),
    ("gru_cell_a", "GRUCell", 3, 1, 5, 4, 3),
]


def make_case(module, N, T, D, H, seed):
    randn = seeded_randn(seed)
    net, names = recurrent_module(module, D, H)
    x = randn(N, T, D) if module == "GRU" else randn(N, D)
    set_biases(net, randn)
    h0 = randn(N, H)
    for t in (x, h0):
        t.requires_grad_(True)
    S = randn(N, H)
    out = {}
    if module == "GRU":
        R = randn(N, T, H)
        output, h_n = net(x, h0[None])
        h_n = h_n[0]
        loss = (output * R).sum() + (h_n * S).sum()
        out["R"], out["output"] = R, output
    else:
        h_n = net(x, h0)
        loss = (h_n * S).sum()
    loss.backward()
    out.update(x=x, h0=h0, S=S, h_n=h_n, grad_x=x.grad, grad_h0=h0.grad)
    return to_arrays({**out, **with_grads(net, names)}, module=module)


def cases():
    """name -> (make, text) for every case, in the order of CASES."""
    return {name: (partial(make_case, module, N, T, D, H, seed),
                   f"{module} N={N} T={T} D={D} H={H}")
            for name, module, N, T, D, H, seed in CASES}


if __name__ == "__main__":
    main(cases(), __doc__.splitlines()[0])
