"""A tiny Python trainer for the e2e test: the SDK as a real trainer uses it (tick, log, checkpoint, resume)."""
import json
import os
import time

import autolab

run = autolab.init(hot_keys=["learning_rate"])
step, w = 0, 0.0
if run.resume_path:
    with open(os.path.join(run.resume_path, "state.json")) as f:
        saved = json.load(f)
    step, w = saved["step"], saved["w"]
    print(f"resumed from {run.resume_path} at step {step}", flush=True)


def save(d):
    with open(os.path.join(d, "state.json"), "w") as f:
        json.dump({"step": step, "w": w}, f)


while run.tick(step, save) and step < run.config["max_steps"]:
    step += 1
    lr = run.get("learning_rate")
    w += lr
    run.log({"loss": 1.0 / step, "learning_rate": lr, "w": w}, step)
    time.sleep(run.config.get("step_time_s", 0.02))
if step >= run.config["max_steps"]:
    run.checkpoint(step, save)
