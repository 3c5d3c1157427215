"""The trainer's side of the autolab trainer contract (v1); mirrors the TypeScript SDK (src/sdk/index.ts).

See docs/trainer-contract.md. Standard library only.
"""
import copy
import json
import os
import re
import shutil
import sys
import tempfile
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from ._json import append_json_line

DEFAULT_CONTROL: Mapping[str, Any] = {
    "version": 0,
    "state": "run",
    "overrides": {},
    "save_at": [],
    "save_now": 0,
    "observation_cadence": 10,
    "sample_cadence": 50,
}

# Written into every checkpoint by Run.checkpoint: the hot values in effect and what config.json
# said for those keys, so a resume can apply the contract's rule (the config wins when it changed).
HOT_FILE = "autolab-hot.json"

_MISSING = object()
ApplyResult = Union[Dict[str, Any], Tuple[Dict[str, Any], Dict[str, str]]]


def get_dotted(obj: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted path (``"optimizer.lr"``) of nested dicts, or ``default``."""
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return default
        cur = cur[part]
    return cur


def set_dotted(obj: Dict[str, Any], path: str, value: Any) -> Dict[str, Any]:
    """Set the value at a dotted path, creating intermediate dicts. Mutates and returns ``obj``."""
    parts = path.split(".")
    cur = obj
    for p in parts[:-1]:
        if not isinstance(cur.get(p), dict):
            cur[p] = {}
        cur = cur[p]
    cur[parts[-1]] = value
    return obj


def apply_overrides(config: Mapping[str, Any], overrides: Mapping[str, Any]) -> Dict[str, Any]:
    """A deep copy of ``config`` with flat dotted ``overrides`` applied."""
    out = copy.deepcopy(dict(config))
    for k, v in overrides.items():
        set_dotted(out, k, v)
    return out


def checkpoint_step(path: Optional[str]) -> Optional[int]:
    """The step of a checkpoint directory: ``.../step-120`` → 120 (also HF's ``checkpoint-120``), else None."""
    if not path:
        return None
    m = re.match(r"^(?:step|checkpoint)-(\d+)$", os.path.basename(path.rstrip("/\\")))
    return int(m.group(1)) if m else None


def coerce_number(v: Any) -> Any:
    """``"0.1"`` → 0.1 and ``"3"`` → 3 (the contract's coercion example); anything else unchanged."""
    if isinstance(v, str) and v.strip():
        try:
            return int(v)
        except ValueError:
            try:
                f = float(v)
            except ValueError:
                return v
            return f if f == f and f not in (float("inf"), float("-inf")) else v
    return v


def _num(v: Any, default: float) -> Any:
    # JSON numbers only (a bool is not one), finite.
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v in (float("inf"), float("-inf")):
        return default
    return v


def parse_control(text: str) -> Dict[str, Any]:
    """Parse and normalise control.json content; raises ValueError on bad JSON or a non-object."""
    raw = json.loads(text)
    if not isinstance(raw, dict):
        raise ValueError("control.json is not a JSON object")
    save_at: List[int] = []
    for s in raw.get("save_at") if isinstance(raw.get("save_at"), list) else []:
        if isinstance(s, bool):
            continue
        if isinstance(s, int) or (isinstance(s, float) and s.is_integer()):
            save_at.append(int(s))
    return {
        "version": _num(raw.get("version"), 0),
        "state": raw.get("state") if raw.get("state") in ("pause", "stop") else "run",
        "overrides": raw.get("overrides") if isinstance(raw.get("overrides"), dict) else {},
        "save_at": save_at,
        "save_now": _num(raw.get("save_now"), 0),
        "observation_cadence": _num(raw.get("observation_cadence"), DEFAULT_CONTROL["observation_cadence"]),
        "sample_cadence": _num(raw.get("sample_cadence"), DEFAULT_CONTROL["sample_cadence"]),
    }


def _json_key(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"), allow_nan=True)


class Control:
    """What ``Run.control(step)`` saw: the control file plus what this call applied.

    - ``state``: ``"run"``, ``"pause"`` or ``"stop"``; ``should_pause`` / ``should_stop``.
    - ``overrides``: every hot value in effect in this process (dotted key → value), restored ones included.
    - ``changed``: the values newly applied by this call (acknowledged for ``step + 1``); ``rejected``: key → reason.
    - ``version``, ``save_at``, ``save_now`` (the request id), ``observation_cadence``, ``sample_cadence``.
    - ``should_save(step)``: ``step`` is in ``save_at`` or a ``save_now`` request is pending, and no
      step-``step`` checkpoint exists yet.
    """

    def __init__(self, run: "Run", data: Mapping[str, Any], changed: Dict[str, Any], rejected: Dict[str, str]):
        self._run = run
        self.version: int = data["version"]
        self.state: str = data["state"]
        self.overrides: Dict[str, Any] = dict(run.hot_values)
        self.changed = changed
        self.rejected = rejected
        self.save_at: List[int] = list(data["save_at"])
        self.save_now: int = data["save_now"]
        self.observation_cadence: int = data["observation_cadence"]
        self.sample_cadence: int = data["sample_cadence"]

    @property
    def should_pause(self) -> bool:
        return self.state == "pause"

    @property
    def should_stop(self) -> bool:
        return self.state == "stop"

    def should_save(self, step: int) -> bool:
        return self._run.should_save(step)

    def __repr__(self) -> str:
        return f"Control(version={self.version}, state={self.state!r}, changed={self.changed!r}, overrides={self.overrides!r})"


class Run:
    """One training run, seen from the trainer. Make it with :func:`autolab.init`.

    Every method is synchronous and cheap enough to call every step. Appends to ``.jsonl`` files
    are single writes of complete lines.
    """

    def __init__(
        self,
        run_dir: str,
        run_id: Optional[str] = None,
        config: Optional[Dict[str, Any]] = None,
        config_path: Optional[str] = None,
        control_path: Optional[str] = None,
        resume_from: Optional[str] = None,
        hot_keys: Optional[Iterable[str]] = None,
    ):
        self.run_dir = os.path.abspath(run_dir)
        self.run_id = run_id or os.path.basename(self.run_dir.rstrip("/"))
        self.control_path = os.path.join(self.run_dir, control_path) if control_path else os.path.join(self.run_dir, "control.json")
        if resume_from:
            self.resume_path: Optional[str] = resume_from if os.path.isabs(resume_from) else os.path.join(self.run_dir, resume_from)
        else:
            self.resume_path = None
        self.resume_step = checkpoint_step(self.resume_path)
        self.metrics_path = os.path.join(self.run_dir, "metrics.jsonl")
        self.samples_path = os.path.join(self.run_dir, "samples.jsonl")
        self.events_path = os.path.join(self.run_dir, "events.jsonl")
        self.checkpoints_dir = os.path.join(self.run_dir, "checkpoints")
        self.hot_keys = None if hot_keys is None else set(hot_keys)
        if config is not None:
            self.config = config
        else:
            path = os.path.join(self.run_dir, config_path) if config_path else os.path.join(self.run_dir, "config.json")
            if not config_path and not os.path.exists(path):
                self.config = {}
            else:
                try:
                    with open(path, encoding="utf-8") as f:
                        parsed = json.load(f)
                except (OSError, ValueError) as err:
                    raise RuntimeError(f"cannot read run config {path}: {err}") from err
                if not isinstance(parsed, dict):
                    raise RuntimeError(f"run config {path} is not a JSON object")
                self.config = parsed

        self._control_sig: Optional[Tuple[int, ...]] = None
        self._current: Dict[str, Any] = copy.deepcopy(dict(DEFAULT_CONTROL))
        self._last_override_version = float("-inf")
        self._handled_save_now = 0
        self._save_now_pending = False
        self._returned: Dict[str, str] = {}  # dotted key → JSON of the value last handed out
        self._hot: Dict[str, Any] = {}  # hot values in effect in this process
        self._saved: set = set()
        if self.resume_path:
            self._restore_hot_values(self.resume_path)

    # -- the run's values ---------------------------------------------------------------------

    @property
    def hot_values(self) -> Dict[str, Any]:
        """The hot values in effect (dotted key → value): restored from the resumed checkpoint
        (unless the config changed for that key) and applied from control.json since."""
        return dict(self._hot)

    def get(self, key: str, default: Any = None) -> Any:
        """The value a trainer should use for dotted ``key``: the hot value in effect, else the config's, else ``default``."""
        if key in self._hot:
            return self._hot[key]
        return get_dotted(self.config, key, default)

    def apply_overrides(self, config: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        """A deep copy of ``config`` (default: ``run.config``) with the hot values in effect merged (dotted keys)."""
        return apply_overrides(self.config if config is None else config, self._hot)

    def _restore_hot_values(self, ckpt: str) -> None:
        # The contract's resume rule: keep a checkpoint's hot value (a modify survives a pause)
        # unless config.json now says something else than when the checkpoint was saved (a fork
        # with --set); then the config's value applies, i.e. no hot value is kept for that key.
        try:
            with open(os.path.join(ckpt, HOT_FILE), encoding="utf-8") as f:
                saved = json.load(f)
        except (OSError, ValueError):
            return
        hot = saved.get("hot") if isinstance(saved, dict) else None
        then = saved.get("config") if isinstance(saved, dict) else None
        if not isinstance(hot, dict) or not isinstance(then, dict):
            return
        for k, v in hot.items():
            now = get_dotted(self.config, k, _MISSING)
            was = then.get(k, _MISSING)
            if (now is _MISSING and was is _MISSING) or (now is not _MISSING and was is not _MISSING and _json_key(now) == _json_key(was)):
                self._hot[k] = v

    # -- telemetry ----------------------------------------------------------------------------

    def log(self, metrics: Mapping[str, Any], step: int) -> None:
        """Append ``{"step","time","metrics"}`` to metrics.jsonl (NaN/±Inf as "NaN"/"Infinity"/"-Infinity")."""
        append_json_line(self.metrics_path, {"step": int(step), "time": time.time(), "metrics": dict(metrics)})

    def sample(self, step: int, prompt: Any, completion: Any, reward: Any = None, **fields: Any) -> None:
        """Append ``{"step","prompt","completion","reward",…}`` to samples.jsonl; extra fields are kept."""
        line: Dict[str, Any] = {"step": int(step), "prompt": prompt, "completion": completion}
        if reward is not None:
            line["reward"] = reward
        line.update(fields)
        append_json_line(self.samples_path, line)

    def should_sample(self, step: int) -> bool:
        """``step % sample_cadence == 0`` with the cadence of the last control read (default 50; ≤ 0 disables)."""
        c = int(self._current["sample_cadence"])
        return c > 0 and step % c == 0

    def event(self, type: str, **fields: Any) -> None:
        """Append ``{"type": type, …fields}`` to events.jsonl."""
        append_json_line(self.events_path, {"type": type, **fields})

    def paused(self, step: int) -> None:
        """Append ``{"type":"paused","step"}``: the trainer saved step-``step`` for a pause and exits 0."""
        self.event("paused", step=int(step))

    # -- control.json -------------------------------------------------------------------------

    def read_control(self) -> Dict[str, Any]:
        """The control file now (one ``stat``; re-read only if it changed), consuming nothing:
        e.g. to notice ``stop`` during a long step."""
        self._refresh_control()
        return copy.deepcopy(self._current)

    def control(self, step: int, apply: Optional[Callable[[Dict[str, Any]], ApplyResult]] = None) -> Control:
        """Duties 1-2 of the contract at ``step`` (the number of completed steps).

        Stats control.json and re-reads it only when its mtime, ctime, size or inode changed. When a
        new version brings override values this process has not handled yet (all of them at the
        first call of a fresh or resumed process; a repeated value is not handled again, and a
        version that only repeats values gets no ack), they are applied and acknowledged with one
        ``control_ack`` event for ``step + 1``:

        - with ``apply``: ``apply(new_values)`` returns ``applied`` or ``(applied, rejected)``;
        - without: numeric strings are coerced and every key is applied, except keys outside
          ``hot_keys`` (when given to :func:`init`), which are rejected.

        Applied values join :attr:`hot_values` (used by :meth:`get` and :meth:`apply_overrides`).
        """
        self._refresh_control()
        c = self._current
        new: Dict[str, Any] = {}
        if c["version"] > self._last_override_version:
            self._last_override_version = c["version"]
            for k, v in c["overrides"].items():
                j = _json_key(v)
                if self._returned.get(k) == j:
                    continue
                self._returned[k] = j
                new[k] = v
        applied: Dict[str, Any] = {}
        rejected: Dict[str, str] = {}
        if new:
            if apply is not None:
                result = apply(dict(new))
                if isinstance(result, tuple):
                    applied, rejected = dict(result[0] or {}), dict(result[1] or {})
                else:
                    applied = dict(result or {})
            else:
                for k, v in new.items():
                    if self.hot_keys is not None and k not in self.hot_keys:
                        rejected[k] = "not hot-modifiable by this trainer"
                    else:
                        applied[k] = coerce_number(v)
            self._hot.update(applied)
            self.acknowledge(c["version"], step + 1, applied, rejected)
        if c["save_now"] > self._handled_save_now:
            # Each request is answered once, by the next checkpoint saved.
            self._handled_save_now = c["save_now"]
            self._save_now_pending = True
        return Control(self, c, applied, rejected)

    def acknowledge(self, version: int, step: int, applied: Mapping[str, Any], rejected: Optional[Mapping[str, str]] = None) -> None:
        """Append ``{"type":"control_ack","version","step","applied"[,"rejected"]}`` (``rejected`` only when non-empty)."""
        fields: Dict[str, Any] = {"version": version, "step": int(step), "applied": dict(applied)}
        if rejected:
            fields["rejected"] = dict(rejected)
        self.event("control_ack", **fields)

    def _refresh_control(self) -> None:
        try:
            st = os.stat(self.control_path)
            sig: Optional[Tuple[int, ...]] = (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            sig = ()
        if sig == self._control_sig:
            return
        if sig == ():
            self._current = copy.deepcopy(dict(DEFAULT_CONTROL))
            self._control_sig = sig
            return
        try:
            with open(self.control_path, encoding="utf-8") as f:
                self._current = parse_control(f.read())
            self._control_sig = sig
        except (OSError, ValueError):
            # Torn or malformed: keep the previous control and look again next time.
            self._control_sig = None

    def tick(self, step: int, save: Callable[[str], None], apply: Optional[Callable[[Dict[str, Any]], ApplyResult]] = None) -> bool:
        """Duties 1-5 in one call, with ``step`` the completed steps: :meth:`control`; on ``stop``
        return False; on ``pause`` save step-``step`` with ``save(dir)``, append ``paused`` and
        return False; save a ``save_at``/``save_now`` checkpoint; return True (train ``step + 1``)."""
        c = self.control(step, apply)
        if c.should_stop:
            return False
        if c.should_pause:
            self.checkpoint(step, save)
            self.paused(step)
            return False
        if self.should_save(step):
            self.checkpoint(step, save)
        return True

    # -- checkpoints --------------------------------------------------------------------------

    def should_save(self, step: int) -> bool:
        """Whether to save step-``step`` now: listed in ``save_at`` or a ``save_now`` request is
        pending, and this run has no step-``step`` checkpoint yet."""
        wanted = step in self._current["save_at"] or self._save_now_pending
        return wanted and not self.has_checkpoint(step)

    def checkpoint_dir(self, step: int) -> str:
        return os.path.join(self.checkpoints_dir, f"step-{int(step)}")

    def has_checkpoint(self, step: int) -> bool:
        return step in self._saved or os.path.exists(self.checkpoint_dir(step))

    def hot_state(self) -> Dict[str, Any]:
        """What :meth:`checkpoint` stores in ``autolab-hot.json``: the hot values in effect and the config's values for those keys."""
        return {
            "format": "autolab-hot/1",
            "hot": dict(self._hot),
            "config": {k: get_dotted(self.config, k) for k in self._hot if get_dotted(self.config, k, _MISSING) is not _MISSING},
        }

    def checkpoint(self, step: int, save_fn: Callable[[str], None]) -> str:
        """Save step-``step`` atomically: ``save_fn(tmp)`` fills ``checkpoints/.tmp-step-N-<pid>``
        (plus ``autolab-hot.json``), which is renamed to ``checkpoints/step-N``, and only then the
        ``checkpoint`` event is appended. If ``save_fn`` raises, the temp dir is removed, no event.
        An existing ``step-N`` is never rewritten (its event is appended if missing). Returns the final dir."""
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"checkpoint step must be a non-negative integer, got {step!r}")
        final = self.checkpoint_dir(step)
        if os.path.exists(final):
            # Saved earlier, or a previous process died between rename and event: the rename made
            # it complete, so announce it if needed.
            if step not in self._saved and not self._event_exists("checkpoint", step):
                self.event("checkpoint", step=step, path=f"checkpoints/step-{step}")
            self._mark_saved(step)
            return final
        tmp = os.path.join(self.checkpoints_dir, f".tmp-step-{step}-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        try:
            save_fn(tmp)
            self._write_hot_file(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        os.rename(tmp, final)
        self.event("checkpoint", step=step, path=f"checkpoints/step-{step}")
        self._mark_saved(step)
        return final

    def announce_checkpoint(self, step: int, path: str) -> str:
        """Announce a checkpoint some other code wrote completely (e.g. Hugging Face's
        ``checkpoint-N``): adds ``autolab-hot.json`` and appends the ``checkpoint`` event with the
        path relative to the run dir. Raises ValueError when ``path`` is outside the run dir."""
        real_dir, real = os.path.realpath(self.run_dir), os.path.realpath(path)
        rel = os.path.relpath(real, real_dir)
        if rel == "." or rel.startswith(".." + os.sep) or rel == ".." or os.path.isabs(rel):
            raise ValueError(f"checkpoint {path} is not inside the run directory {self.run_dir}")
        self._write_hot_file(real)
        self.event("checkpoint", step=int(step), path=rel.replace(os.sep, "/"))
        self._mark_saved(int(step))
        return real

    def _mark_saved(self, step: int) -> None:
        self._saved.add(step)
        self._save_now_pending = False

    def _write_hot_file(self, directory: str) -> None:
        with open(os.path.join(directory, HOT_FILE), "w", encoding="utf-8") as f:
            json.dump(self.hot_state(), f)

    def _event_exists(self, type: str, step: int) -> bool:
        try:
            with open(self.events_path, encoding="utf-8") as f:
                lines = f.read().split("\n")
        except OSError:
            return False
        for line in lines:
            if not line:
                continue
            try:
                e = json.loads(line)
            except ValueError:
                continue  # a torn last line
            if isinstance(e, dict) and e.get("type") == type and e.get("step") == step:
                return True
        return False


def init(env: Optional[Mapping[str, str]] = None, hot_keys: Optional[Iterable[str]] = None, allow_offline: bool = False) -> Run:
    """Start the trainer's side of an autolab run from the launch environment.

    Reads ``AUTOLAB_RUN_DIR`` (required), ``AUTOLAB_RUN_ID``, ``AUTOLAB_CONFIG``,
    ``AUTOLAB_RESUME_FROM`` (empty: fresh start; relative: against the run dir) and ``AUTOLAB_CONTROL``.
    ``hot_keys`` limits the overrides :meth:`Run.control` accepts (others are rejected in the ack).

    Outside autolab (no ``AUTOLAB_RUN_DIR``) it raises ``RuntimeError`` — unless
    ``allow_offline=True``: then the run is an offline one in a fresh temporary directory
    (``autolab-offline-*``, announced on stderr) with an empty config and no control file, so the
    same script runs by hand.

    Example (the whole autolab part of a trainer)::

        import autolab
        run = autolab.init()
        step = run.resume_step or 0            # restore your state from run.resume_path first
        while run.tick(step, save=lambda d: save_state(d)) and step < run.config["max_steps"]:
            step += 1
            run.log({"loss": train_step(lr=run.get("learning_rate"))}, step)
    """
    env = os.environ if env is None else env
    run_dir = env.get("AUTOLAB_RUN_DIR")
    if not run_dir:
        if not allow_offline:
            raise RuntimeError(
                "AUTOLAB_RUN_DIR is not set: this trainer must be launched by autolab (or given the AUTOLAB_* "
                "environment of the trainer contract, see docs/trainer-contract.md); autolab.init(allow_offline=True) "
                "runs it in a temporary directory instead"
            )
        run_dir = tempfile.mkdtemp(prefix="autolab-offline-")
        sys.stderr.write(f"autolab: AUTOLAB_RUN_DIR is not set: offline run in {run_dir}\n")
    return Run(
        run_dir,
        run_id=env.get("AUTOLAB_RUN_ID") or None,
        config_path=env.get("AUTOLAB_CONFIG") or None,
        control_path=env.get("AUTOLAB_CONTROL") or None,
        resume_from=env.get("AUTOLAB_RESUME_FROM") or None,
        hot_keys=hot_keys,
    )
