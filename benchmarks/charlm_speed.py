"""Time one training step of the character-level LSTM of chapter 24 against the same model in PyTorch.

Run from the repository root (a script, not a test):

    /tmp/torchenv/bin/python benchmarks/charlm_speed.py      # with torch: both, and the ratio
    .venv/bin/python benchmarks/charlm_speed.py               # without torch: lstm_lit only

One training step, float32, on a batch of B streams by T characters: embedding, LSTM, read-out at every
step, softmax cross-entropy over every step, backward pass, global-norm clipping and an Adam update.

* lstm_lit: ``CharLSTM.loss_and_grads`` + ``clip_grad_norm`` + ``Adam.step`` (what ``Trainer.train_step``
  does, without drawing the batch).
* torch: ``nn.Embedding`` + ``nn.LSTM(batch_first=True)`` + ``nn.Linear``, ``F.cross_entropy``,
  ``backward``, ``clip_grad_norm_`` and ``torch.optim.Adam``, with the same weights.

Before timing, the two models' losses on the same batch are compared in float64 (they must agree to
1e-10). Then both are warmed up and sampled round-robin (one sample of each in turn, each sample lasting
at least --min-sample seconds), and the medians are reported, as characters per second (B * T / time).
``--profile`` splits lstm_lit's step into its parts. NumPy's BLAS and torch get the same number of threads
(--threads, default 1), set before NumPy is imported.
"""
import argparse
import os
import sys
import time
from pathlib import Path

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--size", default="32,64,32,128,66", metavar="B,T,D,H,V",
               help="streams, chunk length, embedding, hidden, vocabulary (default: chapter 24's "
                    "full-size model)")
p.add_argument("--threads", type=int, default=1)
p.add_argument("--repeats", type=int, default=15)
p.add_argument("--min-sample", type=float, default=0.2)
p.add_argument("--no-torch", action="store_true")
p.add_argument("--profile", action="store_true", help="also time the parts of lstm_lit's step")
ARGS = p.parse_args()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from lstm_lit.charlm import CharLSTM, embedding_backward, embedding_forward  # noqa: E402
from lstm_lit.charlm import temporal_softmax_loss  # noqa: E402
from lstm_lit.gradients import clip_grad_norm  # noqa: E402
from lstm_lit.learning import Adam  # noqa: E402
from lstm_lit.lstm import lstm_forward  # noqa: E402
from lstm_lit.lstm_backward import lstm_backward  # noqa: E402
from lstm_lit.rnn import temporal_affine_backward, temporal_affine_forward  # noqa: E402

try:
    if ARGS.no_torch:
        raise ImportError
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(ARGS.threads)
except ImportError:
    torch = None

B, T, D, H, V = map(int, ARGS.size.split(","))
CLIP, LR = 5.0, 2e-3


class TorchCharLM(torch.nn.Module if torch else object):
    def __init__(self, params, dtype):
        super().__init__()
        self.embed = torch.nn.Embedding(V, D)
        self.lstm = torch.nn.LSTM(D, H, batch_first=True)
        self.out = torch.nn.Linear(H, V)
        self.to(dtype)                      # before copying: no rounding through float32
        with torch.no_grad():
            t = lambda a: torch.tensor(a)  # noqa: E731
            self.embed.weight.copy_(t(params["W_embed"]))
            self.lstm.weight_ih_l0.copy_(t(params["Wx"].T))
            self.lstm.weight_hh_l0.copy_(t(params["Wh"].T))
            self.lstm.bias_ih_l0.copy_(t(params["b"]))
            self.lstm.bias_hh_l0.zero_()
            self.out.weight.copy_(t(params["W_y"].T))
            self.out.bias.copy_(t(params["b_y"]))

    def loss(self, x, y, state):
        h, (hT, CT) = self.lstm(self.embed(x), state)
        return F.cross_entropy(self.out(h).reshape(-1, V), y.reshape(-1)), (hT, CT)


def lit_step(model, opt, x, y, state):
    loss, grads, state = model.loss_and_grads(x, y, state)
    clip_grad_norm(grads, CLIP)
    opt.step(grads)
    return loss


def torch_step(tmodel, topt, x, y, state):
    topt.zero_grad()
    loss, _ = tmodel.loss(x, y, state)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(tmodel.parameters(), CLIP)
    topt.step()
    return loss.item()


def sample(fn):
    """Seconds per call: repeat fn until min_sample seconds have passed."""
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= ARGS.min_sample:
            return dt / n


def main():
    rng = np.random.default_rng(0)
    x = rng.integers(0, V, (B, T))
    y = rng.integers(0, V, (B, T))
    if torch is not None:      # agreement check, float64
        m64 = CharLSTM(V, D, H, np.random.default_rng(1), dtype=np.float64)
        s64 = m64.zero_state(B)
        lit_loss, lit_grads, _ = m64.loss_and_grads(x, y, s64)
        t64 = TorchCharLM(m64.params, torch.float64)
        zero = torch.zeros(1, B, H, dtype=torch.float64)
        t_loss = t64.loss(torch.tensor(x), torch.tensor(y), (zero, zero))[0]
        t_loss.backward()
        pairs = [(lit_grads["W_embed"], t64.embed.weight.grad),
                 (lit_grads["Wh"], t64.lstm.weight_hh_l0.grad.T),
                 (lit_grads["W_y"], t64.out.weight.grad.T)]
        diffs = [float(np.max(np.abs(a - g.numpy()))) for a, g in pairs]
        diff = max(diffs)
        assert abs(lit_loss - t_loss.item()) < 1e-10 and diff < 1e-10, (lit_loss, diff)
        print("float64 check: lstm_lit's and torch's loss and gradients agree to 1e-10")
    model = CharLSTM(V, D, H, np.random.default_rng(1), dtype=np.float32)
    opt = Adam(model.params, lr=LR)
    state = model.zero_state(B)
    targets = {"lstm_lit": lambda: lit_step(model, opt, x, y, state)}
    if torch is not None:
        tmodel = TorchCharLM(model.params, torch.float32)
        topt = torch.optim.Adam(tmodel.parameters(), lr=LR)
        tx, ty = torch.tensor(x), torch.tensor(y)
        zero = torch.zeros(1, B, H)
        targets["torch"] = lambda: torch_step(tmodel, topt, tx, ty, (zero, zero))
    if ARGS.profile:
        p = model.params
        emb, c_emb = embedding_forward(x, p["W_embed"])
        h, _, c_lstm = lstm_forward(emb, state[0], state[1], p["Wx"], p["Wh"], p["b"])
        logits, c_out = temporal_affine_forward(h, p["W_y"], p["b_y"])
        _, dlogits = temporal_softmax_loss(logits, y)
        dh = temporal_affine_backward(dlogits, c_out)[0]
        demb = lstm_backward(dh, c_lstm)[0]
        grads = model.loss_and_grads(x, y, state)[1]
        opt2 = Adam({k: v.copy() for k, v in p.items()}, lr=LR)
        targets.update({
            "  embedding f+b": lambda: embedding_backward(
                demb, embedding_forward(x, p["W_embed"])[1]),
            "  lstm forward": lambda: lstm_forward(emb, state[0], state[1], p["Wx"], p["Wh"],
                                                   p["b"]),
            "  lstm backward": lambda: lstm_backward(dh, c_lstm),
            "  read-out f+b": lambda: temporal_affine_backward(
                dlogits, temporal_affine_forward(h, p["W_y"], p["b_y"])[1]),
            "  softmax loss": lambda: temporal_softmax_loss(logits, y),
            "  clip + Adam": lambda: (clip_grad_norm(grads, 1e9), opt2.step(grads)),
        })
    for fn in targets.values():   # warm-up
        fn()
        fn()
    samples = {k: [] for k in targets}
    for _ in range(ARGS.repeats):
        for name, fn in targets.items():
            time.sleep(0.1)
            samples[name].append(sample(fn))
    print(f"one training step, float32, B={B} T={T} D={D} H={H} V={V}, {ARGS.threads} thread(s), "
          f"median of {ARGS.repeats}")
    med = {k: float(np.median(v)) for k, v in samples.items()}
    for name, t in med.items():
        print(f"{name:<18} {1e3 * t:8.2f} ms   {B * T / t:10,.0f} chars/s")
    if "torch" in med:
        ratio = med["lstm_lit"] / med["torch"]
        print(f"lstm_lit / torch time: {ratio:.2f} (target <= 1.5: "
              f"{'met' if ratio <= 1.5 else 'missed'})")


if __name__ == "__main__":
    main()
