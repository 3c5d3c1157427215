import * as Args from '@oclif/core/args'
import chalk from 'chalk'
import {AutolabCommand, type Parsed} from '../../base-command.js'
import {expectedPhrase} from '../../lib/config-schema.js'
import type {Ctx} from '../../lib/context.js'
import {loadProject} from '../../lib/project.js'
import {table} from '../../lib/output/render.js'
import {type RecipeView, keyRows, recipeView} from '../../lib/recipes.js'

export default class RecipeShow extends AutolabCommand<RecipeView> {
  static summary = 'One recipe: its config keys with types and ranges, defaults, hot params, metrics and environment.'
  static description = 'The schema is the recipe\'s `schema:`, or else inferred from its default config (each value\'s JSON type); launch and fork check every config against it (UNKNOWN_CONFIG_KEY, INVALID_VALUE) before anything starts.'
  static examples = ['<%= config.bin %> recipe show toy', '<%= config.bin %> recipe show toy --json']
  static args = {recipe: Args.string({description: 'Recipe name from the project file.', required: true})}

  // Reads only the project file: it answers outside any store too.
  static needsStore = false

  async execute(ctx: Ctx | undefined, {args, flags}: Parsed<typeof RecipeShow>): Promise<RecipeView> {
    return recipeView(ctx?.project() ?? loadProject(flags.project), args.recipe)
  }

  render(r: RecipeView): string {
    const range = (min?: number, max?: number) => (min === undefined && max === undefined ? 'hot' : `hot [${min ?? '-∞'}, ${max ?? '∞'}]`)
    const keys = table(keyRows(r), [
      {header: 'KEY', value: (k) => k.key},
      {header: 'TAKES', value: (k) => expectedPhrase(k.spec)},
      {header: 'DEFAULT', value: (k) => (k.default === undefined ? '' : JSON.stringify(k.default))},
      {header: 'HOT', value: (k) => (k.hot ? range(k.hot.min, k.hot.max) : '')},
      {header: 'DESCRIPTION', value: (k) => k.spec.description ?? ''},
    ])
    const metrics = Object.entries(r.metrics).map(([m, d]) => `${m}${d.goal ? ` (${d.goal})` : ''}${m === r.primary_metric ? chalk.bold(' primary') : ''}${d.description ? chalk.dim(` ${d.description}`) : ''}`)
    return [
      `${chalk.bold(r.name)} · ${r.command} · ${r.gpus} GPU${r.gpus === 1 ? '' : 's'} · ${r.project_file ?? 'built-in project'}`,
      `config keys (schema ${r.schema_source}):`,
      r.schema === null ? chalk.dim('  no schema and no default config: keys are not checked') : keys,
      `metrics: ${metrics.join(', ') || 'none declared'}`,
      `evals: ${Object.entries(r.evals).map(([name, e]) => `${name}${e.gpus > 0 ? ` (${e.gpus} GPU)` : ''}${e.description ? chalk.dim(` ${e.description}`) : ''}`).join(', ') || 'none declared'}`,
      `env: ${Object.entries(r.env).map(([k, v]) => `${k}=${v}`).join(' ') || 'none'} · pass_env: ${r.pass_env.join(' ') || 'none'}`,
    ].join('\n')
  }
}
