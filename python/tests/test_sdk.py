"""The Python SDK against real files in a temporary run directory."""
import json
import math
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import autolab  # noqa: E402
from autolab import Run  # noqa: E402


def lines(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert text == "" or text.endswith("\n"), "every line ends in \\n"
    return [json.loads(line) for line in text.split("\n") if line]


def events(run, type=None):
    if not os.path.exists(run.events_path):
        return []
    return [e for e in lines(run.events_path) if type is None or e["type"] == type]


class RunDirTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="autolab-py-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.version = 0

    def write_config(self, config, dir=None):
        with open(os.path.join(dir or self.dir, "config.json"), "w") as f:
            json.dump(config, f)

    def write_control(self, **fields):
        # As autolab does: temp file + rename. A new inode makes the change visible even within
        # one mtime tick.
        self.version += 1
        data = {"version": self.version, "state": "run", "overrides": {}, "save_at": [], "save_now": 0,
                "observation_cadence": 10, "sample_cadence": 50}
        data.update(fields)
        tmp = os.path.join(self.dir, ".control.tmp")
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, os.path.join(self.dir, "control.json"))


class TestInit(RunDirTest):
    def test_reads_the_contract_environment(self):
        self.write_config({"learning_rate": 0.1, "optimizer": {"lr": 1}})
        ckpt = os.path.join(self.dir, "checkpoints", "step-40")
        os.makedirs(ckpt)
        run = autolab.init({"AUTOLAB_RUN_DIR": self.dir, "AUTOLAB_RUN_ID": "r-1", "AUTOLAB_CONFIG": os.path.join(self.dir, "config.json"),
                            "AUTOLAB_RESUME_FROM": "checkpoints/step-40", "AUTOLAB_CONTROL": os.path.join(self.dir, "control.json")})
        self.assertEqual(run.run_id, "r-1")
        self.assertEqual(run.run_dir, self.dir)
        self.assertEqual(run.config, {"learning_rate": 0.1, "optimizer": {"lr": 1}})
        self.assertEqual(run.resume_path, ckpt)  # relative: against the run dir
        self.assertEqual(run.resume_step, 40)

    def test_fresh_start_and_defaults(self):
        run = autolab.init({"AUTOLAB_RUN_DIR": self.dir, "AUTOLAB_RESUME_FROM": ""})
        self.assertIsNone(run.resume_path)
        self.assertIsNone(run.resume_step)
        self.assertEqual(run.config, {})
        self.assertEqual(run.run_id, os.path.basename(self.dir))

    def test_outside_autolab_is_a_clear_error_unless_offline(self):
        with self.assertRaisesRegex(RuntimeError, "AUTOLAB_RUN_DIR is not set"):
            autolab.init({})
        run = autolab.init({}, allow_offline=True)
        self.addCleanup(shutil.rmtree, run.run_dir, True)
        self.assertTrue(os.path.basename(run.run_dir).startswith("autolab-offline-"))
        run.log({"loss": 1.0}, 1)
        self.assertEqual(len(lines(run.metrics_path)), 1)

    def test_unreadable_config_is_a_clear_error(self):
        with open(os.path.join(self.dir, "config.json"), "w") as f:
            f.write("[1, 2]")
        with self.assertRaisesRegex(RuntimeError, "not a JSON object"):
            autolab.init({"AUTOLAB_RUN_DIR": self.dir})
        with self.assertRaisesRegex(RuntimeError, "cannot read run config"):
            autolab.init({"AUTOLAB_RUN_DIR": self.dir, "AUTOLAB_CONFIG": os.path.join(self.dir, "missing.json")})


class TestTelemetry(RunDirTest):
    def test_metrics_lines_parse_with_non_finite_spellings(self):
        run = Run(self.dir)
        run.log({"loss": float("nan"), "up": float("inf"), "down": -math.inf, "reward": 0.5, "n": 3}, 1)
        run.log({"loss": 0.25}, step=2)
        got = lines(run.metrics_path)
        self.assertEqual([g["step"] for g in got], [1, 2])
        self.assertEqual(got[0]["metrics"], {"loss": "NaN", "up": "Infinity", "down": "-Infinity", "reward": 0.5, "n": 3})
        self.assertIsInstance(got[0]["time"], float)
        self.assertEqual(autolab.decode_number(got[0]["metrics"]["down"]), -math.inf)
        with open(run.metrics_path) as f:
            self.assertNotIn("NaN,", f.read().replace('"NaN"', ""))  # never a bare NaN

    def test_samples_keep_extra_fields(self):
        run = Run(self.dir)
        run.sample(50, "(3 + 5) mod 7 =", " 1", reward=1.0, label=" 1", input={"a": 3})
        run.sample(100, "p", "c")
        run.sample(150, "p", "c", reward=float("nan"))
        got = lines(run.samples_path)
        self.assertEqual(got[0], {"step": 50, "prompt": "(3 + 5) mod 7 =", "completion": " 1", "reward": 1.0, "label": " 1", "input": {"a": 3}})
        self.assertEqual(got[1], {"step": 100, "prompt": "p", "completion": "c"})
        self.assertEqual(got[2]["reward"], "NaN")

    def test_tensor_like_values_are_unwrapped(self):
        class Scalar:
            def item(self):
                return float("-inf")
        run = Run(self.dir)
        run.log({"loss": Scalar()}, 1)
        self.assertEqual(lines(run.metrics_path)[0]["metrics"], {"loss": "-Infinity"})


class TestControl(RunDirTest):
    def test_missing_control_means_defaults(self):
        run = Run(self.dir)
        c = run.control(0)
        self.assertEqual((c.version, c.state, c.overrides, c.changed, c.save_at, c.save_now, c.sample_cadence), (0, "run", {}, {}, [], 0, 50))
        self.assertFalse(c.should_pause or c.should_stop or c.should_save(0))
        self.assertEqual(events(run), [])

    def test_reread_only_when_the_file_changed(self):
        self.write_control(overrides={"learning_rate": 0.01})
        run = Run(self.dir)
        reads = []
        real_open = open

        def counting_open(path, *a, **k):
            if str(path).endswith("control.json"):
                reads.append(path)
            return real_open(path, *a, **k)

        import builtins
        builtins.open = counting_open
        try:
            run.control(0)
            run.control(1)
            run.control(2)
            self.assertEqual(len(reads), 1)
            self.write_control(overrides={"learning_rate": 0.02})
            run.control(3)
            run.control(4)
            self.assertEqual(len(reads), 2)
        finally:
            builtins.open = real_open

    def test_acks_once_per_version_with_applied_values_for_the_next_step(self):
        self.write_control(overrides={"learning_rate": 0.01})
        run = Run(self.dir)
        c = run.control(10)
        self.assertEqual(c.changed, {"learning_rate": 0.01})
        self.assertEqual(run.get("learning_rate"), 0.01)
        run.control(11)
        self.assertEqual(events(run, "control_ack"), [{"type": "control_ack", "version": 1, "step": 11, "applied": {"learning_rate": 0.01}}])
        # A new version that only repeats a value applied already: no ack (the contract).
        self.write_control(overrides={"learning_rate": 0.01}, state="run")
        self.assertEqual(run.control(12).changed, {})
        self.assertEqual(len(events(run, "control_ack")), 1)
        # A changed value and a new key: acked with only those, numeric strings coerced.
        self.write_control(overrides={"learning_rate": 0.01, "beta": "0.5", "optimizer.eps": 1e-6})
        c = run.control(13)
        self.assertEqual(c.changed, {"beta": 0.5, "optimizer.eps": 1e-6})
        self.assertEqual(c.overrides, {"learning_rate": 0.01, "beta": 0.5, "optimizer.eps": 1e-6})
        self.assertEqual(events(run, "control_ack")[-1], {"type": "control_ack", "version": 3, "step": 14, "applied": {"beta": 0.5, "optimizer.eps": 1e-6}})

    def test_a_fresh_process_applies_every_override_in_the_file(self):
        self.write_control(overrides={"learning_rate": 0.01, "beta": 0.1})
        Run(self.dir).control(0)
        second = Run(self.dir)  # e.g. the resumed process
        self.assertEqual(second.control(5).changed, {"learning_rate": 0.01, "beta": 0.1})
        self.assertEqual([e["step"] for e in events(second, "control_ack")], [1, 6])

    def test_hot_keys_and_apply_decide_what_is_rejected(self):
        self.write_control(overrides={"learning_rate": 0.01, "batch_size": 64})
        run = Run(self.dir, hot_keys=["learning_rate"])
        c = run.control(0)
        self.assertEqual((c.changed, c.rejected), ({"learning_rate": 0.01}, {"batch_size": "not hot-modifiable by this trainer"}))
        self.assertEqual(events(run, "control_ack")[-1]["rejected"], {"batch_size": "not hot-modifiable by this trainer"})
        run2 = Run(self.dir)
        c = run2.control(0, apply=lambda new: ({"learning_rate": 0.02}, {"batch_size": "too late"}))
        self.assertEqual(run2.get("learning_rate"), 0.02)
        self.assertEqual(events(run2, "control_ack")[-1], {"type": "control_ack", "version": 1, "step": 1, "applied": {"learning_rate": 0.02}, "rejected": {"batch_size": "too late"}})

    def test_states_cadence_and_a_torn_file(self):
        run = Run(self.dir)
        self.write_control(state="pause", sample_cadence=0)
        c = run.control(3)
        self.assertTrue(c.should_pause)
        self.assertFalse(run.should_sample(50))
        self.write_control(state="stop")
        self.assertTrue(run.control(4).should_stop)
        with open(os.path.join(self.dir, "control.json"), "w") as f:
            f.write('{"version": 9, "sta')
        self.assertTrue(run.control(5).should_stop)  # the torn file is ignored until it changes
        self.assertEqual(run.read_control()["version"], 2)

    def test_overrides_merge_into_a_config_with_dotted_keys(self):
        self.write_config({"learning_rate": 0.1, "optimizer": {"eps": 1e-8, "betas": [0.9, 0.99]}})
        self.write_control(overrides={"learning_rate": 0.01, "optimizer.eps": 1e-6, "sched.warmup": 5})
        run = Run(self.dir)
        run.control(0)
        merged = run.apply_overrides()
        self.assertEqual(merged, {"learning_rate": 0.01, "optimizer": {"eps": 1e-6, "betas": [0.9, 0.99]}, "sched": {"warmup": 5}})
        self.assertEqual(run.config["optimizer"]["eps"], 1e-8)  # a copy
        self.assertEqual(autolab.apply_overrides({"a": 1}, {"b.c": 2}), {"a": 1, "b": {"c": 2}})


class TestCheckpoints(RunDirTest):
    def test_atomic_then_event(self):
        run = Run(self.dir)
        seen = {}

        def save(d):
            seen["dir"] = d
            self.assertTrue(os.path.basename(d).startswith(".tmp-step-7-"))
            self.assertEqual(os.path.dirname(d), run.checkpoints_dir)
            self.assertFalse(os.path.exists(run.checkpoint_dir(7)))
            self.assertEqual(events(run, "checkpoint"), [])  # never announced before it is complete
            with open(os.path.join(d, "weights.bin"), "wb") as f:
                f.write(b"w")

        final = run.checkpoint(7, save)
        self.assertEqual(final, os.path.join(self.dir, "checkpoints", "step-7"))
        self.assertFalse(os.path.exists(seen["dir"]))
        self.assertTrue(os.path.exists(os.path.join(final, "weights.bin")))
        self.assertEqual(events(run), [{"type": "checkpoint", "step": 7, "path": "checkpoints/step-7"}])
        # Immutable: a second save neither calls save_fn nor writes another event.
        run.checkpoint(7, lambda d: self.fail("rewrote a checkpoint"))
        self.assertEqual(len(events(run)), 1)

    def test_a_failed_save_leaves_nothing(self):
        run = Run(self.dir)

        def boom(d):
            raise OSError("disk full")

        with self.assertRaises(OSError):
            run.checkpoint(3, boom)
        self.assertEqual(os.listdir(run.checkpoints_dir), [])
        self.assertEqual(events(run), [])

    def test_an_unannounced_directory_is_announced_once(self):
        os.makedirs(os.path.join(self.dir, "checkpoints", "step-4"))  # died between rename and event
        run = Run(self.dir)
        run.checkpoint(4, lambda d: self.fail("rewrote"))
        self.assertEqual(events(run), [{"type": "checkpoint", "step": 4, "path": "checkpoints/step-4"}])
        Run(self.dir).checkpoint(4, lambda d: None)
        self.assertEqual(len(events(run)), 1)

    def test_save_at_and_save_now(self):
        run = Run(self.dir)
        self.write_control(save_at=[3, 5])
        saves = []
        save = lambda d: saves.append(d)  # noqa: E731
        for step in range(0, 7):
            self.assertTrue(run.tick(step, save))
        self.assertEqual([e["step"] for e in events(run, "checkpoint")], [3, 5])
        # save_now: answered once, by the next checkpoint, whatever step polled it.
        self.write_control(save_at=[3, 5], save_now=1)
        c = run.control(9)
        self.assertTrue(c.should_save(9))
        self.assertTrue(run.should_save(10))  # e.g. a Hugging Face on_step_end after step 10
        run.checkpoint(10, save)
        self.assertFalse(run.should_save(11))
        run.control(11)
        self.assertFalse(run.should_save(11))  # same request id: nothing new
        self.write_control(save_at=[3, 5], save_now=2)
        self.assertTrue(run.tick(12, save))
        self.assertEqual([e["step"] for e in events(run, "checkpoint")], [3, 5, 10, 12])

    def test_tick_pause_and_stop(self):
        run = Run(self.dir)
        self.write_control(state="pause")
        self.assertFalse(run.tick(8, lambda d: None))
        self.assertEqual([e["type"] for e in events(run)], ["checkpoint", "paused"])
        self.assertEqual(events(run, "paused"), [{"type": "paused", "step": 8}])
        self.write_control(state="stop")
        self.assertFalse(Run(self.dir).tick(9, lambda d: None))
        self.assertEqual(len(events(run)), 2)


class TestResumeRule(RunDirTest):
    def parent_checkpoint(self, config, overrides):
        self.write_config(config)
        self.write_control(overrides=overrides)
        parent = Run(self.dir)
        parent.control(0)
        return parent.checkpoint(20, lambda d: None)

    def child(self, config, ckpt):
        child_dir = tempfile.mkdtemp(prefix="autolab-py-child-")
        self.addCleanup(shutil.rmtree, child_dir, True)
        self.write_config(config, child_dir)
        return autolab.init({"AUTOLAB_RUN_DIR": child_dir, "AUTOLAB_RESUME_FROM": ckpt})

    def test_a_hot_value_survives_a_resume_with_the_same_config(self):
        ckpt = self.parent_checkpoint({"learning_rate": 0.1, "beta": 0.01}, {"learning_rate": 0.05})
        with open(os.path.join(ckpt, autolab.HOT_FILE)) as f:
            self.assertEqual(json.load(f), {"format": "autolab-hot/1", "hot": {"learning_rate": 0.05}, "config": {"learning_rate": 0.1}})
        run = self.child({"learning_rate": 0.1, "beta": 0.01}, ckpt)
        self.assertEqual(run.resume_step, 20)
        self.assertEqual(run.get("learning_rate"), 0.05)
        self.assertEqual(run.apply_overrides()["learning_rate"], 0.05)

    def test_a_changed_config_wins_over_the_checkpoint(self):
        ckpt = self.parent_checkpoint({"learning_rate": 0.1, "beta": 0.01}, {"learning_rate": 0.05, "beta": 0.2})
        run = self.child({"learning_rate": 0.001, "beta": 0.01}, ckpt)  # fork --set learning_rate=0.001
        self.assertEqual(run.get("learning_rate"), 0.001)
        self.assertEqual(run.get("beta"), 0.2)  # unchanged in the config: the hot value stays


class TestSetLearningRate(unittest.TestCase):
    def test_plain_and_scheduled(self):
        opt = type("Opt", (), {"param_groups": [{"lr": 0.1}, {"lr": 0.2}]})()
        self.assertEqual(autolab.set_learning_rate(opt, 0.01), [0.01, 0.01])
        sched = type("Sched", (), {"base_lrs": [0.1, 0.1], "_last_lr": [0.05, 0.05]})()
        opt.param_groups = [{"lr": 0.05, "initial_lr": 0.1}, {"lr": 0.05, "initial_lr": 0.1}]
        self.assertEqual(autolab.set_learning_rate(opt, 0.02, sched), [0.01, 0.01])  # half-way through a decay stays half-way
        self.assertEqual(sched.base_lrs, [0.02, 0.02])
        self.assertEqual(sched._last_lr, [0.01, 0.01])
        self.assertEqual(opt.param_groups[0]["initial_lr"], 0.02)


if __name__ == "__main__":
    unittest.main()
