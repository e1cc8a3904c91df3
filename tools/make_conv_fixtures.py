"""Write PyTorch reference results for the NumPy 1-D convolution to tests/fixtures/torch_conv1d_*.npz.

PyTorch is not a run-time dependency of lstm_lit: this script is run once, by hand, in an environment
that has torch, and the small .npz files it writes are committed. tests/test_cnn_lstm.py then checks
that lstm_lit.cnn_lstm reproduces every number in them (outputs and every gradient) without torch.

Usage (from the repository root):  /path/to/python-with-torch tools/make_conv_fixtures.py

Each case runs in float64, seeded, with a clearly non-zero bias: ``nn.Conv1d(D, F, K, stride,
padding)``, optionally followed by ReLU and ``nn.MaxPool1d(pool)``, on an input of torch's layout
(N, C, L) = (N, D, T); loss = sum(out * R).
Saved arrays, all in torch's layouts (the test converts them explicitly to lstm_lit's):
x (N, D, T), weight (F, D, K), bias (F,), R and out (N, F, T_out), grad_x (N, D, T), grad_weight
(F, D, K), grad_bias (F,); and the settings stride, padding, pool (0: no ReLU and no pooling), plus
torch_version.
"""
from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures"

# (name, N, T, D, F, K, stride, padding, pool, seed); D != F in every case.
CASES = [
    ("conv1d_a", 2, 9, 3, 4, 3, 1, 0, 0, 0),
    ("conv1d_b", 3, 11, 2, 5, 4, 2, 1, 0, 1),
    ("conv1d_c", 2, 13, 4, 3, 5, 3, 2, 0, 2),
    ("conv1d_d", 2, 12, 3, 2, 3, 1, 1, 3, 3),     # conv -> ReLU -> MaxPool1d(3)
]


def make_case(N, T, D, F, K, stride, padding, pool, seed):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    conv = torch.nn.Conv1d(D, F, K, stride=stride, padding=padding).double()
    with torch.no_grad():  # a clearly non-zero bias (torch's default init is small)
        conv.bias.copy_(randn(F))
    x = randn(N, D, T).requires_grad_(True)
    out = conv(x)
    if pool:
        out = torch.nn.functional.max_pool1d(torch.relu(out), pool)
    R = randn(*out.shape)
    (out * R).sum().backward()
    arrays = {"x": x, "weight": conv.weight, "bias": conv.bias, "R": R, "out": out,
              "grad_x": x.grad, "grad_weight": conv.weight.grad, "grad_bias": conv.bias.grad}
    arrays = {k: v.detach().numpy().copy() for k, v in arrays.items()}
    arrays.update(stride=np.array(stride), padding=np.array(padding), pool=np.array(pool),
                  torch_version=np.array(torch.__version__))
    return arrays


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, *case in CASES:
        arrays = make_case(*case)
        path = OUT / f"torch_{name}.npz"
        np.savez_compressed(path, **arrays)
        N, T, D, F, K, stride, padding, pool, _ = case
        print(f"{path.relative_to(OUT.parent.parent)}: N={N} T={T} D={D} F={F} K={K} "
              f"stride={stride} padding={padding} pool={pool} "
              f"({path.stat().st_size} bytes, torch {torch.__version__})")


if __name__ == "__main__":
    main()
