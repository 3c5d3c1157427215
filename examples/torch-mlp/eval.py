"""The torch-mlp recipe's eval suite (`heldout`): accuracy of a checkpoint on a held-out split.

    python3 eval.py --checkpoint DIR --n N --out result.json --examples-out examples.jsonl --settings settings.json

settings.json (optional, all keys optional): {"split": "heldout" | "train"}. Evaluates the first
N examples of the split (all of it without --n). Writes one
{"prompt", "output", "expected", "correct"} line per example to --examples-out, then
{"score", "metrics": {...}, "breakdown": {...}} to --out atomically (temp file + rename, last:
its presence means the eval finished). Exits 2 on bad arguments, 1 when the checkpoint cannot be read.
"""
import argparse
import json
import os
import sys

import torch

import common


def parse_args(argv):
    p = argparse.ArgumentParser(prog="torch-mlp eval", description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--n", type=int, default=None)
    p.add_argument("--examples-out", dest="examples_out", default=None)
    p.add_argument("--settings", default=None)
    args = p.parse_args(argv)
    if args.n is not None and args.n <= 0:
        p.error(f"--n must be a positive integer, got {args.n}")
    settings = {}
    if args.settings:
        with open(args.settings, encoding="utf-8") as f:
            settings = json.load(f)
        if not isinstance(settings, dict):
            p.error("--settings must hold a JSON object")
    split = settings.get("split", "heldout")
    if split not in ("heldout", "train"):
        p.error(f'settings.split must be "heldout" or "train", got {split!r}')
    return args, split


def write_atomically(path, text):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv):
    args, split = parse_args(argv)
    try:
        state = common.load_checkpoint(args.checkpoint)
        model = common.make_model(state["model_config"]["hidden"])
        model.load_state_dict(state["model"])
    except Exception as e:  # noqa: BLE001 - any unreadable checkpoint is exit 1
        print(f"torch-mlp eval: cannot read checkpoint {args.checkpoint}: {e}", file=sys.stderr)
        return 1
    torch.set_num_threads(1)
    x, y = common.heldout_split() if split == "heldout" else common.train_split()
    if args.n is not None:
        x, y = x[: args.n], y[: args.n]
    model.eval()
    with torch.no_grad():
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits, y).item() if len(y) else 0.0
        pred = logits.argmax(dim=1)
    correct = pred == y
    accuracy = int(correct.sum()) / len(y) if len(y) else 0.0
    breakdown = {}
    for k in range(common.N_CLASSES):
        mask = y == k
        if mask.any():
            breakdown[f"class={k}"] = int(correct[mask].sum()) / int(mask.sum())
    lines = [
        json.dumps({"prompt": common.describe(xi), "output": str(int(p)), "expected": str(int(t)), "correct": bool(ok)})
        for xi, p, t, ok in zip(x, pred, y, correct)
    ]
    if args.examples_out:
        write_atomically(args.examples_out, "".join(line + "\n" for line in lines))
    result = {
        "score": accuracy,
        "metrics": {"accuracy": accuracy, "loss": loss, "n": len(y), "chance": 1 / common.N_CLASSES, "step": state["step"]},
        "breakdown": breakdown,
    }
    write_atomically(args.out, json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
