"""A small PyTorch trainer speaking the autolab trainer contract through the Python SDK.

An MLP learns the synthetic 4-way classification task of common.py with Adam. Launched by the
`torch-mlp` recipe (`autolab init --example torch`) as
`/usr/bin/python3 .../torch-mlp/train.py`, with PYTHONPATH pointing at autolab's `python/` dir.

Every step logs loss, batch accuracy and the learning rate in effect. `learning_rate` is hot: an
acknowledged override is written into the optimizer's param groups before the next step.
Checkpoints (`torch.save` of model, optimizer, torch and python RNG state; the SDK adds the hot
values in effect and the config's, for the resume rule) are saved every `save_every` steps, when control.json asks (save_at,
save_now), on pause and at the end. Resuming restores all of it, so a resumed run repeats an
uninterrupted one's losses exactly.

Exit codes: 0 done, paused or stopped; 2 invalid config; 3 unusable resume checkpoint.
"""
import os
import random
import sys
import time

import torch

import autolab
import common


def nap(ms, control_file):
    """Sleep ms milliseconds (step_time_ms), cut short when control.json changes (pause/stop)."""
    end = time.monotonic() + ms / 1000
    seen = _stat(control_file)
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(left, 0.05))
        if _stat(control_file) != seen:
            return


def _stat(path):
    try:
        s = os.stat(path)
        return (s.st_mtime_ns, s.st_size, s.st_ino)
    except (OSError, TypeError):
        return None


def main():
    run = autolab.init()
    try:
        cfg = common.resolve_config(run.config)
    except ValueError as e:
        print(f"torch-mlp: invalid config: {e}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(cfg["seed"])
    random.seed(cfg["seed"])
    model = common.make_model(cfg["hidden"])
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["learning_rate"])
    x_train, y_train = common.train_split()
    step = 0

    if run.resume_path:
        try:
            state = common.load_checkpoint(run.resume_path)
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
        except Exception as e:  # noqa: BLE001 - any unusable checkpoint is exit 3
            print(f"torch-mlp: cannot resume from {run.resume_path}: {e}", file=sys.stderr)
            return 3
        step = state["step"]
        if state["seed"] == cfg["seed"]:
            torch.set_rng_state(state["torch_rng"])
            random.setstate(state["python_rng"])
        else:  # a fork with a new seed: new batches from here on
            torch.manual_seed(cfg["seed"] * 1_000_003 + step)
            random.seed(cfg["seed"] * 1_000_003 + step)
    # THE RESUME RULE: load_state_dict() just put the parent's lr back into the param groups.
    # run.get() is the checkpoint's hot value (a `modify` survives a pause) unless config.json
    # changed it since (a fork with --set learning_rate=...), then the config's.
    autolab.set_learning_rate(optimizer, float(run.get("learning_rate", cfg["learning_rate"])))

    def save(directory):
        torch.save({
            "format": common.CHECKPOINT_FORMAT, "step": step, "seed": cfg["seed"], "model_config": {"hidden": cfg["hidden"]},
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "torch_rng": torch.get_rng_state(), "python_rng": random.getstate(),
        }, os.path.join(directory, common.CHECKPOINT_FILE))

    def apply(new):
        """Hot overrides, in effect from step + 1 (the SDK acknowledges what this returns)."""
        applied, rejected = {}, {}
        for key, value in new.items():
            try:
                if key != "learning_rate":
                    raise ValueError("not hot-modifiable by torch-mlp (only learning_rate is)")
                applied[key] = common.check_learning_rate(value)
            except ValueError as e:
                rejected[key] = str(e)
        if applied:
            autolab.set_learning_rate(optimizer, applied["learning_rate"])
        return applied, rejected

    print(f"torch-mlp: {'resuming from ' + run.resume_path if run.resume_path else 'starting'} at step {step}", flush=True)
    # tick(): hot overrides (apply), stop, pause (checkpoint + exit), save_at / save_now checkpoints.
    while run.tick(step, save=save, apply=apply):
        if step >= cfg["max_steps"]:
            run.checkpoint(step, save)  # the final checkpoint (kept if already saved)
            break
        idx = torch.randint(0, len(x_train), (cfg["batch_size"],))
        logits = model(x_train[idx])
        loss = torch.nn.functional.cross_entropy(logits, y_train[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        accuracy = (logits.argmax(dim=1) == y_train[idx]).float().mean().item()
        run.log({"loss": loss.item(), "accuracy": accuracy, "learning_rate": optimizer.param_groups[0]["lr"]}, step=step)
        if run.should_sample(step):
            i = random.randrange(len(x_train))
            with torch.no_grad():
                pred = int(model(x_train[i : i + 1]).argmax())
            run.sample(step, prompt=common.describe(x_train[i]), completion=str(pred), reward=float(pred == int(y_train[i])))
        if cfg["save_every"] and step % cfg["save_every"] == 0:
            run.checkpoint(step, save)
        if cfg["step_time_ms"] > 0:
            nap(cfg["step_time_ms"], run.control_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
