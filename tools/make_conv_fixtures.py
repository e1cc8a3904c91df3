"""Write PyTorch reference results for the NumPy 1-D convolution to tests/fixtures/torch_conv1d_*.npz.

PyTorch is not a run-time dependency of lstm_lit: this script is run once, by hand, in an environment
that has torch, and the small .npz files it writes are committed. tests/test_cnn_lstm.py then checks
that lstm_lit.cnn_lstm reproduces every number in them (outputs and every gradient) without torch.

Usage (from the repository root):  /path/to/python-with-torch tools/make_conv_fixtures.py [NAME ...]
[--out DIR] (the command line of every fixture script: tools/_torch_fixture_common.py)

Each case runs in float64, seeded, with a clearly non-zero bias: ``nn.Conv1d(D, F, K, stride,
padding)``, optionally followed by ReLU and ``nn.MaxPool1d(pool)``, on an input of torch's layout
(N, C, L) = (N, D, T); loss = sum(out * R).
Saved arrays, all in torch's layouts (the test converts them explicitly to lstm_lit's):
x (N, D, T), weight (F, D, K), bias (F,), R and out (N, F, T_out), grad_x (N, D, T), grad_weight
(F, D, K), grad_bias (F,); and the settings stride, padding, pool (0: no ReLU and no pooling), plus
torch_version.
"""
from functools import partial

import torch

from _torch_fixture_common import main, seeded_randn, set_biases, to_arrays

# (name, N, T, D, F, K, stride, padding, pool, seed); D != F in every case.
CASES = [
    ("conv1d_a", 2, 9, 3, 4, 3, 1, 0, 0, 0),
    ("conv1d_b", 3, 11, 2, 5, 4, 2, 1, 0, 1),
    ("conv1d_c", 2, 13, 4, 3, 5, 3, 2, 0, 2),
    ("conv1d_d", 2, 12, 3, 2, 3, 1, 1, 3, 3),     # conv -> ReLU -> MaxPool1d(3)
]


def make_case(N, T, D, F, K, stride, padding, pool, seed):
    randn = seeded_randn(seed)
    conv = torch.nn.Conv1d(D, F, K, stride=stride, padding=padding).double()
    set_biases(conv, randn)
    x = randn(N, D, T).requires_grad_(True)
    out = conv(x)
    if pool:
        out = torch.nn.functional.max_pool1d(torch.relu(out), pool)
    R = randn(*out.shape)
    (out * R).sum().backward()
    tensors = {"x": x, "weight": conv.weight, "bias": conv.bias, "R": R, "out": out,
               "grad_x": x.grad, "grad_weight": conv.weight.grad, "grad_bias": conv.bias.grad}
    return to_arrays(tensors, stride=stride, padding=padding, pool=pool)


def cases():
    """name -> (make, text) for every case, in the order of CASES."""
    return {name: (partial(make_case, N, T, D, F, K, stride, padding, pool, seed),
                   f"N={N} T={T} D={D} F={F} K={K} stride={stride} padding={padding} pool={pool}")
            for name, N, T, D, F, K, stride, padding, pool, seed in CASES}


if __name__ == "__main__":
    main(cases(), __doc__.splitlines()[0])
