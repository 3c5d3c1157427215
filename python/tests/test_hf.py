"""AutolabCallback against stand-ins with transformers' attributes, and the resume rule on a real torch optimizer."""
import json
import os
import shutil
import sys
import tempfile
import unittest
from types import SimpleNamespace

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import autolab  # noqa: E402
import autolab.hf  # noqa: E402


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(x) for x in f.read().split("\n") if x]


class FakeOptimizer:
    def __init__(self, lr):
        self.param_groups = [{"lr": lr, "initial_lr": lr}, {"lr": lr, "initial_lr": lr}]


class FakeScheduler:  # LambdaLR-like
    def __init__(self, lr):
        self.base_lrs = [lr, lr]
        self._last_lr = [lr, lr]


class HFTestBase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="autolab-hf-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.version = 0
        with open(os.path.join(self.dir, "config.json"), "w") as f:
            json.dump({"learning_rate": 0.1}, f)

    def write_control(self, **fields):
        self.version += 1
        data = {"version": self.version, "state": "run", "overrides": {}, "save_at": [], "save_now": 0}
        data.update(fields)
        tmp = os.path.join(self.dir, ".c.tmp")
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, os.path.join(self.dir, "control.json"))

    def make(self, resume_from=None):
        self.run = autolab.init({"AUTOLAB_RUN_DIR": self.dir, "AUTOLAB_RESUME_FROM": resume_from or ""})
        self.args = SimpleNamespace(output_dir=os.path.join(self.dir, "checkpoints"), learning_rate=0.1, beta=0.04, epsilon=0.2,
                                    temperature=1.0, top_p=1.0, top_k=None)
        self.state = SimpleNamespace(global_step=0)
        self.control = SimpleNamespace(should_save=False, should_training_stop=False, should_log=False)
        self.kwargs = {"optimizer": FakeOptimizer(0.1), "lr_scheduler": FakeScheduler(0.1),
                       "model": SimpleNamespace(generation_config=SimpleNamespace(temperature=1.0, top_p=1.0, top_k=50))}
        self.trainer = SimpleNamespace(beta=0.04, epsilon_low=0.2, epsilon_high=0.2, temperature=1.0,
                                       generation_config=SimpleNamespace(temperature=1.0, top_p=1.0, top_k=50))
        self.cb = autolab.hf.AutolabCallback(self.run, trainer=self.trainer)
        self.cb.on_init_end(self.args, self.state, self.control)
        return self.cb

    def hf_save(self):
        """What Trainer._save_checkpoint does, then on_save."""
        step = self.state.global_step
        d = os.path.join(self.args.output_dir, f"checkpoint-{step}")
        os.makedirs(d)
        with open(os.path.join(d, "optimizer.pt"), "w") as f:
            f.write("state")
        self.control.should_save = False
        self.cb.on_save(self.args, self.state, self.control, **self.kwargs)
        return d

    def train_step(self):
        """One step of Trainer._inner_training_loop, as far as callbacks see it."""
        cb, a, s, c, k = self.cb, self.args, self.state, self.control, self.kwargs
        cb.on_step_begin(a, s, c, **k)
        s.global_step += 1
        cb.on_step_end(a, s, c, **k)
        cb.on_log(a, s, c, logs={"loss": 0.5, "learning_rate": k["lr_scheduler"]._last_lr[0], "note": "text"})
        if c.should_save:
            self.hf_save()


class TestCallback(HFTestBase):
    def test_import_does_not_need_transformers(self):
        cls = autolab.hf.AutolabCallback
        self.assertEqual(cls.__name__, "AutolabCallback")
        for hook in ("on_init_end", "on_train_begin", "on_step_begin", "on_step_end", "on_save", "on_log"):
            self.assertTrue(callable(getattr(cls, hook)))

    def test_on_log_writes_metrics_and_merges_lines_of_one_step(self):
        self.make()
        self.train_step()
        self.cb.on_log(self.args, self.state, self.control, logs={"train_runtime": 3.0, "loss": float("nan")})
        got = read_lines(self.run.metrics_path)
        self.assertEqual([g["step"] for g in got], [1, 1])
        self.assertEqual(got[0]["metrics"], {"loss": 0.5, "learning_rate": 0.1})
        self.assertEqual(got[1]["metrics"], {"loss": "NaN", "learning_rate": 0.1, "train_runtime": 3.0})

    def test_hot_modifies_reach_optimizer_scheduler_args_trainer_and_generation_config(self):
        self.make()
        self.train_step()
        self.write_control(overrides={"learning_rate": 0.01, "beta": 0.1, "epsilon": 0.3, "temperature": 0.7, "top_p": 0.9,
                                      "top_k": "20", "max_steps": 5})
        self.train_step()
        opt, sched, gen = self.kwargs["optimizer"], self.kwargs["lr_scheduler"], self.kwargs["model"].generation_config
        self.assertEqual([g["lr"] for g in opt.param_groups], [0.01, 0.01])
        self.assertEqual(sched.base_lrs, [0.01, 0.01])
        self.assertEqual((self.args.learning_rate, self.args.beta, self.args.epsilon, self.args.temperature, self.args.top_p, self.args.top_k),
                         (0.01, 0.1, 0.3, 0.7, 0.9, 20))
        self.assertEqual((self.trainer.beta, self.trainer.epsilon_low, self.trainer.epsilon_high, self.trainer.temperature), (0.1, 0.3, 0.3, 0.7))
        for g in (gen, self.trainer.generation_config):
            self.assertEqual((g.temperature, g.top_p, g.top_k), (0.7, 0.9, 20))
        acks = [e for e in read_lines(self.run.events_path) if e["type"] == "control_ack"]
        self.assertEqual(acks, [{"type": "control_ack", "version": 1, "step": 2,
                                 "applied": {"learning_rate": 0.01, "beta": 0.1, "epsilon": 0.3, "temperature": 0.7, "top_p": 0.9, "top_k": 20},
                                 "rejected": {"max_steps": "not hot-modifiable by this trainer"}}])
        # The learning rate logged for the acknowledged step already shows the new value.
        self.assertEqual(read_lines(self.run.metrics_path)[-1], {**read_lines(self.run.metrics_path)[-1], "step": 2})
        self.assertEqual(read_lines(self.run.metrics_path)[-1]["metrics"]["learning_rate"], 0.01)

    def test_save_at_save_now_and_checkpoint_events_relative_to_the_run_dir(self):
        self.make()
        self.write_control(save_at=[2])
        for _ in range(3):
            self.train_step()
        self.write_control(save_at=[2], save_now=1)
        self.train_step()
        self.train_step()
        got = [e for e in read_lines(self.run.events_path) if e["type"] == "checkpoint"]
        self.assertEqual(got, [{"type": "checkpoint", "step": 2, "path": "checkpoints/checkpoint-2"},
                               {"type": "checkpoint", "step": 4, "path": "checkpoints/checkpoint-4"}])
        with open(os.path.join(self.dir, "checkpoints", "checkpoint-2", autolab.HOT_FILE)) as f:
            self.assertEqual(json.load(f)["format"], "autolab-hot/1")

    def test_pause_saves_then_stops_and_stop_stops(self):
        self.make()
        self.train_step()
        self.write_control(state="pause")
        self.train_step()
        self.assertTrue(self.control.should_training_stop)
        self.assertEqual([(e["type"], e["step"]) for e in read_lines(self.run.events_path)], [("checkpoint", 2), ("paused", 2)])
        self.make()
        self.write_control(state="stop")
        self.train_step()
        self.assertTrue(self.control.should_training_stop)
        self.assertFalse(self.control.should_save)

    def test_an_output_dir_outside_the_run_dir_is_redirected(self):
        run = autolab.init({"AUTOLAB_RUN_DIR": self.dir})
        args = SimpleNamespace(output_dir="/tmp/elsewhere")
        autolab.hf.AutolabCallback(run).on_init_end(args, SimpleNamespace(global_step=0), SimpleNamespace())
        self.assertEqual(args.output_dir, os.path.join(self.dir, "checkpoints"))

    def test_on_train_begin_after_a_fork_the_config_learning_rate_wins(self):
        # Parent: lr 0.1 in config, modified to 0.05, checkpoint at step 1.
        self.make()
        self.write_control(overrides={"learning_rate": 0.05})
        self.write_control(overrides={"learning_rate": 0.05}, save_at=[1])
        self.train_step()
        ckpt = os.path.join(self.dir, "checkpoints", "checkpoint-1")
        # Fork with --set learning_rate=0.001: config changed; HF restored the parent's 0.05.
        with open(os.path.join(self.dir, "config.json"), "w") as f:
            json.dump({"learning_rate": 0.001}, f)
        os.remove(os.path.join(self.dir, "control.json"))
        self.make(resume_from=ckpt)
        self.kwargs["optimizer"] = FakeOptimizer(0.05)
        self.kwargs["lr_scheduler"] = FakeScheduler(0.05)
        self.cb.on_train_begin(self.args, self.state, self.control, **self.kwargs)
        self.assertEqual([g["lr"] for g in self.kwargs["optimizer"].param_groups], [0.001, 0.001])
        self.assertEqual(self.kwargs["lr_scheduler"].base_lrs, [0.001, 0.001])
        # A plain resume (config unchanged): the modified 0.05 survives.
        with open(os.path.join(self.dir, "config.json"), "w") as f:
            json.dump({"learning_rate": 0.1}, f)
        self.make(resume_from=ckpt)
        self.kwargs["optimizer"] = FakeOptimizer(0.1)
        self.cb.on_train_begin(self.args, self.state, self.control, **self.kwargs)
        self.assertEqual([g["lr"] for g in self.kwargs["optimizer"].param_groups], [0.05, 0.05])


try:
    import torch
except Exception as err:  # noqa: BLE001 - any failure to import means no torch here
    torch = None
    TORCH_MISSING = f"torch is not importable by {sys.executable} ({err.__class__.__name__}: {err}); the real-optimizer test runs under a Python that has it (e.g. Debian's /usr/bin/python3 with python3-torch)"


@unittest.skipIf(torch is None, TORCH_MISSING if torch is None else "")
class TestTorchResumeRule(unittest.TestCase):
    def test_load_state_dict_restores_the_parent_lr_and_the_sdk_undoes_it(self):
        parent_dir = tempfile.mkdtemp(prefix="autolab-torch-parent-")
        child_dir = tempfile.mkdtemp(prefix="autolab-torch-child-")
        self.addCleanup(shutil.rmtree, parent_dir, True)
        self.addCleanup(shutil.rmtree, child_dir, True)
        with open(os.path.join(parent_dir, "config.json"), "w") as f:
            json.dump({"learning_rate": 0.1}, f)
        parent = autolab.init({"AUTOLAB_RUN_DIR": parent_dir})
        w = torch.nn.Parameter(torch.zeros(3))
        opt = torch.optim.Adam([w], lr=parent.get("learning_rate"))
        for _ in range(3):
            opt.zero_grad()
            w.sum().backward()  # constant gradient: each Adam step moves every weight by ~lr
            opt.step()
        ckpt = parent.checkpoint(3, lambda d: torch.save({"w": w.detach().clone(), "opt": opt.state_dict()}, os.path.join(d, "state.pt")))

        # The fork: config.json says learning_rate 0.001 (fork --set), resuming from the parent's step-3.
        with open(os.path.join(child_dir, "config.json"), "w") as f:
            json.dump({"learning_rate": 0.001}, f)
        run = autolab.init({"AUTOLAB_RUN_DIR": child_dir, "AUTOLAB_RESUME_FROM": ckpt})
        saved = torch.load(os.path.join(run.resume_path, "state.pt"))
        w2 = torch.nn.Parameter(saved["w"].clone())
        opt2 = torch.optim.Adam([w2], lr=run.get("learning_rate"))
        opt2.load_state_dict(saved["opt"])
        self.assertAlmostEqual(opt2.param_groups[0]["lr"], 0.1)  # the trap: the parent's rate is back
        autolab.set_learning_rate(opt2, run.get("learning_rate"))
        self.assertAlmostEqual(opt2.param_groups[0]["lr"], 0.001)
        before = w2.detach().clone()
        opt2.zero_grad()
        w2.sum().backward()
        opt2.step()
        moved = (before - w2.detach()).abs().max().item()
        self.assertAlmostEqual(moved, 0.001, delta=1e-5)  # trained at the fork's rate, not 0.1


if __name__ == "__main__":
    unittest.main()
