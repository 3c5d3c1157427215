"""Setting a learning rate on a PyTorch-style optimizer and scheduler, duck-typed (no torch import).

Why: ``optimizer.load_state_dict()`` restores the saved ``lr`` of every param group (and an
``LRScheduler.load_state_dict()`` its ``base_lrs``), silently undoing a fork's
``--set learning_rate=…``. After loading, call ``set_learning_rate(opt, run.get("learning_rate"), sched)``.
"""
from typing import Any, List, Optional


def _inner_scheduler(scheduler: Any) -> Any:
    # accelerate's AcceleratedScheduler wraps the real one in `.scheduler`.
    if scheduler is not None and not hasattr(scheduler, "base_lrs") and hasattr(scheduler, "scheduler"):
        return scheduler.scheduler
    return scheduler


def set_learning_rate(optimizer: Any, lr: float, scheduler: Any = None) -> List[float]:
    """Make ``lr`` the learning rate of every param group; returns the groups' new ``lr``.

    Without a scheduler (or with one lacking ``base_lrs``) each group's ``lr`` becomes ``lr``.
    With one, ``lr`` is the schedule's base: ``base_lrs`` become ``lr`` (so the next
    ``scheduler.step()`` does not undo it) and each group keeps its position in the schedule
    (``group lr = lr × current/old base``); the scheduler's last reported lr is updated too, so a
    learning-rate metric logged for this step already shows the new value.
    """
    lr = float(lr)
    sched = _inner_scheduler(scheduler)
    groups = optimizer.param_groups
    bases = list(getattr(sched, "base_lrs", None) or [])
    for i, group in enumerate(groups):
        old_base = bases[i] if i < len(bases) else None
        if old_base:  # keep the schedule's factor (warmup, decay)
            group["lr"] = lr * (float(group["lr"]) / float(old_base))
        else:
            group["lr"] = lr
        if "initial_lr" in group:
            group["initial_lr"] = lr
    if sched is not None and hasattr(sched, "base_lrs"):
        sched.base_lrs = [lr for _ in groups]
        if hasattr(sched, "_last_lr"):
            sched._last_lr = [g["lr"] for g in groups]
    return [g["lr"] for g in groups]
