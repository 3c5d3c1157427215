"""The torch-mlp example's task, model and checkpoint format, shared by train.py and eval.py.

Task: 4-way classification of points x in [-1, 1]^8. The labels come from a fixed random
"teacher" network (argmax of W2 tanh(W1 x)), so the task is learnable but not linear. The data
never depends on the run's seed: the train pool and the held-out split are the same for every run
(generated from fixed generators), and the seed only drives the model's initialisation and the
order of batches.
"""
import math
import os

import torch

IN_DIM = 8
N_CLASSES = 4
TRAIN_SIZE = 8192
HELDOUT_SIZE = 1024

DEFAULT_CONFIG = {
    "learning_rate": 0.01,
    "seed": 0,
    "max_steps": 1000,
    "save_every": 50,
    "hidden": 64,
    "batch_size": 64,
    "step_time_ms": 20,
}

# Ranges of the keys, as the recipe's schema declares them (an invalid config exits 2).
_INT_KEYS = {"max_steps": (0, None), "save_every": (0, None), "hidden": (1, 4096), "batch_size": (1, 65536)}
_NUM_KEYS = {"learning_rate": (0, None), "seed": (None, None), "step_time_ms": (0, 3_600_000)}

CHECKPOINT_FILE = "state.pt"
CHECKPOINT_FORMAT = "autolab-torch-mlp/1"


def resolve_config(raw):
    """The run's config merged over DEFAULT_CONFIG; raises ValueError listing every problem."""
    cfg = dict(DEFAULT_CONFIG)
    cfg.update(raw or {})
    problems = []
    for key, (lo, hi) in {**_INT_KEYS, **_NUM_KEYS}.items():
        v = cfg[key]
        integer = key in _INT_KEYS
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or (integer and v != int(v)):
            problems.append(f"{key}: must be a finite {'integer' if integer else 'number'}, got {v!r}")
            continue
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            problems.append(f"{key}: must be in [{lo}, {hi if hi is not None else 'inf'}], got {v!r}")
        cfg[key] = int(v) if integer else v
    if problems:
        raise ValueError("; ".join(problems))
    return cfg


def check_learning_rate(value):
    """A hot learning_rate as a float, or raise ValueError (the reason for `rejected`)."""
    try:
        lr = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"must be a number, got {value!r}") from None
    if not math.isfinite(lr) or lr < 0:
        raise ValueError(f"must be a finite number >= 0, got {value!r}")
    return lr


def _split(seed, size):
    g = torch.Generator().manual_seed(seed)
    w1 = torch.randn(IN_DIM, 32, generator=torch.Generator().manual_seed(1234))
    w2 = torch.randn(32, N_CLASSES, generator=torch.Generator().manual_seed(5678))
    x = torch.rand(size, IN_DIM, generator=g) * 2 - 1
    y = torch.argmax(torch.tanh(x @ w1 * 2) @ w2, dim=1)
    return x, y


def train_split():
    return _split(1, TRAIN_SIZE)


def heldout_split():
    return _split(2, HELDOUT_SIZE)


def make_model(hidden):
    return torch.nn.Sequential(
        torch.nn.Linear(IN_DIM, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, N_CLASSES),
    )


def describe(x):
    return "x=[" + ", ".join(f"{v:.2f}" for v in x.tolist()) + "]"


def load_checkpoint(directory):
    """The state saved by train.py in checkpoints/step-N/ (raises on anything else)."""
    state = torch.load(os.path.join(directory, CHECKPOINT_FILE), map_location="cpu")
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{directory}: not a torch-mlp checkpoint ({CHECKPOINT_FORMAT})")
    return state
