"""What the PyTorch fixture scripts share: make_torch_fixtures.py, make_gru_fixtures.py and
make_conv_fixtures.py each describe their cases and how one case runs; this module seeds a case, sets its
non-zero biases, turns its tensors into float64 arrays that record the torch version, and writes them.

Every script's command line is the same (from the repository root, with a python that has torch==2.13.0):

    python tools/make_<family>_fixtures.py [NAME ...] [--out DIR]

NAME limits the run to those cases (default: all); DIR is where the torch_<NAME>.npz files go
(default tests/fixtures; another folder leaves the committed files as they are, e.g. to compare a
re-run with them).
"""
import argparse
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def seeded_randn(seed):
    """Seed torch's global generator (which draws the module's initial weights) and return
    randn(*shape), float64 draws from a generator of its own seeded the same: a case's inputs and
    parameters are the same on every run."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    return randn


def recurrent_module(module, D, H):
    """torch.nn.<module>(D, H) in float64, batch_first for a sequence module ("LSTM", "GRU"), and the
    map saved name -> parameter name for weight_ih, weight_hh, bias_ih, bias_hh (the names of a cell,
    "LSTMCell" or "GRUCell"; a sequence module's end in "_l0")."""
    cell = module.endswith("Cell")
    net = getattr(torch.nn, module)(D, H, **({} if cell else {"batch_first": True})).double()
    names = {k: k + ("" if cell else "_l0") for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    return net, names


def set_biases(module, randn):
    """Overwrite every bias of module, in the order of named_parameters, with randn draws of its shape:
    distinct, clearly non-zero biases (torch's default initialisation makes them small)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.startswith("bias"):
                p.copy_(randn(*p.shape))


def with_grads(module, names):
    """{name: parameter, "grad_" + name: its gradient} for names, a list of module's parameter names,
    or a dict saved name -> parameter name."""
    names = names if isinstance(names, dict) else {k: k for k in names}
    out = {}
    for k, full in names.items():
        p = getattr(module, full)
        out[k], out["grad_" + k] = p, p.grad
    return out


def to_arrays(tensors, **settings):
    """tensors (name -> tensor) as NumPy copies, then each setting as a 0-d array, then torch_version."""
    arrays = {k: v.detach().numpy().copy() for k, v in tensors.items()}
    arrays.update({k: np.array(v) for k, v in settings.items()})
    arrays["torch_version"] = np.array(torch.__version__)
    return arrays


def main(cases, description, argv=None):
    """Parse the command line, then write each chosen case to <out>/torch_<name>.npz and print a line.

    cases : dict name -> (make, text); make() returns the case's arrays, text describes the case.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"cases to write (default: all): "
                        f"{', '.join(cases)}")
    parser.add_argument("--out", type=Path, default=FIXTURES,
                        help="folder for the .npz files (default: tests/fixtures)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(cases))
    if unknown:
        parser.error(f"unknown case(s) {unknown}; known: {list(cases)}")
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (make, text) in cases.items():
        if args.names and name not in args.names:
            continue
        path = args.out / f"torch_{name}.npz"
        np.savez_compressed(path, **make())
        shown = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path
        print(f"{shown}: {text} ({path.stat().st_size} bytes, torch {torch.__version__})")
