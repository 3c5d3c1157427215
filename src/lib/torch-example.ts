// The `torch-mlp` recipe that `autolab init --example torch` adds to the example project file:
// a real PyTorch trainer (examples/torch-mlp/train.py, copied to dist/examples/torch-mlp by the
// build) using the Python SDK from autolab's python/ directory, without pip.
import {exampleProjectYaml} from './project.js'

export const EXAMPLES = ['toy', 'torch'] as const
export type ExampleName = (typeof EXAMPLES)[number]

/** The recipe `init --example <name>` points at in its `next:` line. */
export const EXAMPLE_RECIPE: Record<ExampleName, string> = {toy: 'toy', torch: 'torch-mlp'}

/** The torch-mlp trainer's defaults (examples/torch-mlp/common.py DEFAULT_CONFIG says the same). */
export const TORCH_MLP_DEFAULT_CONFIG = {
  learning_rate: 0.01,
  seed: 0,
  max_steps: 1000,
  save_every: 50,
  hidden: 64,
  batch_size: 64,
  step_time_ms: 20,
}

/** The torch-mlp recipe, as lines of the `recipes:` mapping (indented by two spaces). */
export function torchRecipeYaml(): string {
  const config = JSON.stringify(TORCH_MLP_DEFAULT_CONFIG)
  return `  torch-mlp:
    # A small PyTorch MLP on a synthetic 4-way classification task, through autolab's Python SDK
    # (examples/torch-mlp/). Needs PyTorch for /usr/bin/python3 (Debian: apt-get install
    # python3-torch); name another interpreter here to use yours. {examples}/../../python is
    # autolab's python/ directory: the SDK is found there without pip.
    command: "PYTHONPATH={examples}/../../python /usr/bin/python3 {examples}/torch-mlp/train.py"
    gpus: 0
    # One thread (the MLP is tiny), and no __pycache__ written into autolab's package.
    env: {OMP_NUM_THREADS: "1", PYTHONDONTWRITEBYTECODE: "1"}
    hot_params:
      learning_rate: {min: 0, max: 10}
    schema:
      learning_rate: {type: number, min: 0, description: "Adam step size (hot: applied to the optimizer's param groups at the acknowledged step)"}
      seed: {type: integer, description: "model initialisation and batch order (the data is the same for every seed)"}
      max_steps: {type: integer, min: 0, description: "steps to train, then a final checkpoint and exit 0"}
      save_every: {type: integer, min: 0, description: "checkpoint every N steps (0 = never)"}
      hidden: {type: integer, min: 1, max: 4096, description: "width of the two hidden layers"}
      batch_size: {type: integer, min: 1, max: 65536, description: "examples per step"}
      step_time_ms: {type: number, min: 0, max: 3600000, description: "sleep after each step, to imitate a slower trainer"}
    metrics:
      loss: {goal: min, description: "cross-entropy of the step's batch"}
      accuracy: {goal: max, description: "accuracy on the step's batch (chance 0.25)"}
      learning_rate: {goal: null, description: "the learning rate the step trained with"}
    primary_metric: loss
    # Eval suites (\`autolab eval RUN --suite heldout\`): settings may say {"split": "train"}.
    evals:
      heldout:
        command: "/usr/bin/python3 {examples}/torch-mlp/eval.py --checkpoint {checkpoint} --n {n} --out {out} --examples-out {examples_out} --settings {settings}"
        gpus: 0
        description: "accuracy on 1024 held-out examples the trainer never sees"
    observation_cadence: 10
    sample_cadence: 50
    trend_window: 20
    stall_seconds: 120
    config: ${config}
`
}

/** The project file `init --example <name>` writes: the toy example, plus the torch recipe. */
export function exampleProject(name: ExampleName): string {
  const toy = exampleProjectYaml()
  if (name === 'toy') return toy
  // The toy project ends inside its `recipes:` mapping (the toy recipe is the last entry).
  return `${toy.trimEnd()}\n${torchRecipeYaml()}`
}
