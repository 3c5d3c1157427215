"""autolab trainer SDK for Python: the trainer's side of autolab's trainer contract (v1).

Standard library only (Python >= 3.9). It mirrors the TypeScript SDK (``src/sdk/index.ts``);
the contract itself is docs/trainer-contract.md. A trainer needs about five lines::

    import autolab
    run = autolab.init()                   # AUTOLAB_RUN_DIR, config.json, AUTOLAB_RESUME_FROM, control.json
    step = run.resume_step or 0            # after restoring your state from run.resume_path
    while run.tick(step, save=save_state) and step < run.config["max_steps"]:
        step += 1
        run.log({"loss": train_step(lr=run.get("learning_rate"))}, step)

``tick`` polls control.json (re-read only when it changed), applies and acknowledges hot
overrides (``run.get`` / ``run.apply_overrides`` return the values in effect), saves
``save_at``/``save_now``/pause checkpoints through ``save_state(dir)`` and returns False when the
trainer must exit 0. ``run.control(step)``, ``run.should_save(step)`` and
``run.checkpoint(step, save_fn)`` do the same step by step. Hugging Face: ``autolab.hf.AutolabCallback``.
"""
from ._json import append_json_line, decode_number, encode_number, json_line
from .optim import set_learning_rate
from .run import (
    DEFAULT_CONTROL,
    HOT_FILE,
    Control,
    Run,
    apply_overrides,
    checkpoint_step,
    coerce_number,
    get_dotted,
    init,
    parse_control,
    set_dotted,
)

__all__ = [
    "init", "Run", "Control", "DEFAULT_CONTROL", "HOT_FILE",
    "apply_overrides", "get_dotted", "set_dotted", "checkpoint_step", "coerce_number", "parse_control",
    "encode_number", "decode_number", "json_line", "append_json_line", "set_learning_rate",
]
__version__ = "0.1.0"
