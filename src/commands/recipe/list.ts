import {AutolabCommand, type Parsed} from '../../base-command.js'
import type {Ctx} from '../../lib/context.js'
import {loadProject} from '../../lib/project.js'
import {table} from '../../lib/output/render.js'
import {type RecipeSummary, listRecipes} from '../../lib/recipes.js'

export interface RecipeListResult {
  project_file: string | null
  recipes: RecipeSummary[]
}

export default class RecipeList extends AutolabCommand<RecipeListResult> {
  static summary = 'List the recipes of the project file (or the built-in toy recipe).'
  static examples = ['<%= config.bin %> recipe list', '<%= config.bin %> recipe list --json']

  // Reads only the project file: it answers outside any store too.
  static needsStore = false

  async execute(ctx: Ctx | undefined, {flags}: Parsed<typeof RecipeList>): Promise<RecipeListResult> {
    return listRecipes(ctx?.project() ?? loadProject(flags.project))
  }

  render(r: RecipeListResult): string {
    return table(r.recipes, [
      {header: 'RECIPE', value: (x) => x.name},
      {header: 'GPUS', value: (x) => x.gpus, align: 'right'},
      {header: 'KEYS', value: (x) => (x.schema_source === 'none' ? '-' : `${x.keys} ${x.schema_source}`)},
      {header: 'HOT', value: (x) => x.hot_params.join(', ')},
      {header: 'PRIMARY', value: (x) => x.primary_metric},
      {header: 'COMMAND', value: (x) => x.command},
    ])
  }
}
