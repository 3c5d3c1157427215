"""Hugging Face ``transformers`` callback speaking the autolab trainer contract (works for TRL's GRPOTrainer too).

``import autolab.hf`` does not import transformers: the class is built on first access of
``AutolabCallback``, subclassing ``transformers.TrainerCallback`` when transformers is installed and
``object`` otherwise (same hook names, so it can be tested without transformers)::

    import autolab
    from autolab.hf import AutolabCallback
    run = autolab.init()
    args = GRPOConfig(output_dir=run.run_dir + "/checkpoints", save_total_limit=None,
                      learning_rate=run.config["learning_rate"], ...)
    trainer = GRPOTrainer(..., args=args, callbacks=[AutolabCallback(run)])
    trainer.train(resume_from_checkpoint=run.resume_path)

What it does:

- ``on_log``: the logs go to metrics.jsonl at ``state.global_step``.
- ``on_step_begin``: ``run.control(global_step)``; new overrides are applied and acknowledged for
  the next step: ``learning_rate`` (every param group's ``lr`` and the scheduler's ``base_lrs``,
  see :func:`autolab.set_learning_rate`), ``beta``/``epsilon`` (args attributes, and the trainer's
  ``beta``/``epsilon_low``/``epsilon_high`` when ``trainer=`` is given), ``temperature``/``top_p``/
  ``top_k`` (args attributes, ``model.generation_config`` and the trainer's ``generation_config``).
  Other keys go to ``apply=`` (``apply(key, value) -> bool``) or are rejected.
- ``on_step_end``: ``stop`` → ``control.should_training_stop``; ``pause`` → save now, then stop
  (the ``paused`` event follows the checkpoint); ``save_at``/``save_now`` → ``control.should_save``.
- ``on_save``: announces HF's ``checkpoint-N`` directory (complete once ``on_save`` runs) with a
  ``checkpoint`` event whose path is relative to the run dir. ``args.output_dir`` must be inside
  the run dir: use ``run.run_dir + "/checkpoints"``; another directory is replaced by that one at
  ``on_init_end`` (with a note on stderr). Keep ``save_total_limit=None``: autolab links announced
  checkpoints into forks, so they must not be deleted.
- ``on_train_begin`` after a resume: the hot values in effect win over what
  ``load_state_dict`` restored; in a fork with ``--set learning_rate=…`` the config's rate replaces
  the parent's in the optimizer and scheduler.
"""
import os
import sys
from typing import Any, Callable, Dict, Optional

from .optim import set_learning_rate
from .run import Run, coerce_number, init

GENERATION_KEYS = ("temperature", "top_p", "top_k")
HOT_KEYS = ("learning_rate", "beta", "epsilon") + GENERATION_KEYS


class _AutolabCallbackMixin:
    def __init__(self, run: Optional[Run] = None, trainer: Any = None, apply: Optional[Callable[[str, Any], bool]] = None):
        self.run = run if run is not None else init()
        self.trainer = trainer
        self.extra_apply = apply
        self._pausing = False
        self._log_step: Optional[int] = None
        self._log_metrics: Dict[str, Any] = {}

    # -- hot values ---------------------------------------------------------------------------

    def _apply_one(self, key: str, value: Any, args: Any, kwargs: Dict[str, Any]) -> Optional[str]:
        """Apply one hot value; returns None when applied, else the reason it was refused."""
        value = coerce_number(value)
        if key in HOT_KEYS:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
                return "must be a number"
            if key == "top_k":
                value = int(value)
        if key == "learning_rate":
            if value < 0:
                return "must be >= 0"
            optimizer = kwargs.get("optimizer") or getattr(self.trainer, "optimizer", None)
            scheduler = kwargs.get("lr_scheduler") or getattr(self.trainer, "lr_scheduler", None)
            if optimizer is None:
                return "no optimizer to apply it to"
            set_learning_rate(optimizer, value, scheduler)
            _set(args, "learning_rate", value)
        elif key == "beta":
            _set(args, "beta", value)
            _set(self.trainer, "beta", value, only_existing=True)
        elif key == "epsilon":
            _set(args, "epsilon", value)
            t = self.trainer
            if t is not None and hasattr(t, "epsilon_low"):
                if getattr(t, "epsilon_high", None) == t.epsilon_low:  # symmetric clipping stays symmetric
                    t.epsilon_high = value
                t.epsilon_low = value
        elif key in GENERATION_KEYS:
            _set(args, key, value, only_existing=True)
            _set(self.trainer, key, value, only_existing=True)
            model = kwargs.get("model") or getattr(self.trainer, "model", None)
            for gen in (getattr(model, "generation_config", None), getattr(self.trainer, "generation_config", None)):
                _set(gen, key, value)
        elif self.extra_apply is not None and self.extra_apply(key, value):
            pass
        else:
            return "not hot-modifiable by this trainer"
        return None

    def _apply_all(self, values: Dict[str, Any], args: Any, kwargs: Dict[str, Any]):
        applied: Dict[str, Any] = {}
        rejected: Dict[str, str] = {}
        for k, v in values.items():
            why = self._apply_one(k, v, args, kwargs)
            if why is None:
                applied[k] = coerce_number(v) if k != "top_k" else int(coerce_number(v))
            else:
                rejected[k] = why
        return applied, rejected

    # -- hooks --------------------------------------------------------------------------------

    def on_init_end(self, args, state, control, **kwargs):
        self._ensure_output_dir(args)
        return control

    def _ensure_output_dir(self, args):
        # Also called at train begin: a callback added with trainer.add_callback() misses on_init_end.
        out = getattr(args, "output_dir", None)
        run_dir = os.path.realpath(self.run.run_dir)
        if out is None or not (os.path.realpath(out) + os.sep).startswith(run_dir + os.sep):
            wanted = os.path.join(self.run.run_dir, "checkpoints")
            try:
                args.output_dir = wanted
                sys.stderr.write(f"autolab: args.output_dir {out!r} is outside the run directory: checkpoints go to {wanted}\n")
            except Exception as err:  # a frozen args object
                sys.stderr.write(f"autolab: args.output_dir {out!r} is outside the run directory and cannot be changed ({err}); checkpoints will not be announced\n")

    def on_train_begin(self, args, state, control, **kwargs):
        self._ensure_output_dir(args)
        # After trainer.train(resume_from_checkpoint=…), HF has loaded the optimizer and scheduler
        # state, parent's learning rate included. The resolved values win (docs: the resume rule).
        if self.run.resume_path:
            resolved = {k: self.run.get(k) for k in HOT_KEYS if k in self.run.hot_values}
            if "learning_rate" not in resolved:
                lr = self.run.get("learning_rate", getattr(args, "learning_rate", None))
                if lr is not None:
                    resolved["learning_rate"] = lr
            for k, v in resolved.items():
                self._apply_one(k, v, args, kwargs)
        return control

    def on_step_begin(self, args, state, control, **kwargs):
        self.run.control(state.global_step, apply=lambda values: self._apply_all(values, args, kwargs))
        return control

    def on_step_end(self, args, state, control, **kwargs):
        step = state.global_step
        c = self.run.read_control()
        if c["state"] == "stop":
            control.should_training_stop = True
        elif c["state"] == "pause":
            self._pausing = True
            if not self.run.has_checkpoint(step):
                control.should_save = True
            else:  # already saved at this step: nothing to wait for
                self.run.paused(step)
                self._pausing = False
            control.should_training_stop = True
        elif self.run.should_save(step):
            control.should_save = True
        return control

    def on_save(self, args, state, control, **kwargs):
        step = state.global_step
        path = os.path.join(args.output_dir, f"checkpoint-{step}")
        if os.path.isdir(path) and not self.run.has_checkpoint(step):
            try:
                self.run.announce_checkpoint(step, path)
            except ValueError as err:
                sys.stderr.write(f"autolab: {err}: not announced\n")
        if self._pausing:
            self.run.paused(step)
            self._pausing = False
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        metrics = {k: v for k, v in (logs or {}).items() if (isinstance(v, (int, float)) and not isinstance(v, bool)) or hasattr(v, "item")}
        if not metrics:
            return control
        step = state.global_step
        # HF may log several times at one step (train, eval, the final summary); a reader keeps
        # the last line of a step, so that line carries everything logged at the step.
        if step == self._log_step:
            metrics = {**self._log_metrics, **metrics}
        self._log_step, self._log_metrics = step, metrics
        self.run.log(metrics, step)
        return control


def _set(obj: Any, name: str, value: Any, only_existing: bool = False) -> None:
    if obj is None or (only_existing and not hasattr(obj, name)):
        return
    try:
        setattr(obj, name, value)
    except (AttributeError, TypeError):
        pass


_CLASS = None


def _build_class():
    global _CLASS
    if _CLASS is None:
        try:
            from transformers import TrainerCallback  # imported only when the class is used
        except ImportError:
            TrainerCallback = object
        _CLASS = type("AutolabCallback", (_AutolabCallbackMixin, TrainerCallback), {"__module__": __name__, "__doc__": __doc__})
    return _CLASS


def __getattr__(name: str):
    if name == "AutolabCallback":
        return _build_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
