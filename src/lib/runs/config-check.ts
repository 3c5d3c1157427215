// A run's config is checked against its recipe's schema once, before anything starts (no row,
// no directory, no process): launch checks against the project's recipe, fork against the
// schema its parent was started with.
import type {JsonObject} from '../config-merge.js'
import {type ConfigSchema, assertValidConfig, extendSchema, inferSchema, withHotParams} from '../config-schema.js'
import type {Recipe} from '../project.js'
import type {Store} from '../store/open.js'
import type {RunRow} from '../store/schema.js'
import {getConfigBody} from './queries.js'
import {runRecipeSpec} from './start.js'

export interface ConfigCheckOptions {
  /** Accept keys the schema does not know (recorded as allow_new_keys in the event). */
  allowNewKeys?: boolean
}

/** Throws UNKNOWN_CONFIG_KEY or INVALID_VALUE (exit 2) for the first problem of a launch's merged config. */
export function checkLaunchConfig(recipe: Recipe, config: JsonObject, options: ConfigCheckOptions = {}): void {
  assertValidConfig(config, recipe.schema ?? null, {recipe: recipe.name, hotParams: recipe.hotParams, allowNewKeys: options.allowNewKeys})
}

/** The same for a fork's config, against the parent's schema. */
export function checkForkConfig(store: Store, parent: RunRow, config: JsonObject, options: ConfigCheckOptions = {}): void {
  const spec = runRecipeSpec(parent.recipe_spec)
  assertValidConfig(config, schemaOfRun(store, parent), {recipe: parent.recipe, hotParams: spec.hot_params, allowNewKeys: options.allowNewKeys})
}

/**
 * The schema a run's config is held to: the one stored with the run (a run from before schemas:
 * inferred from its config), extended with the keys its config already holds, so its forks
 * accept what it was launched with (--allow-new-keys included).
 */
export function schemaOfRun(store: Store, run: RunRow): ConfigSchema | null {
  const spec = runRecipeSpec(run.recipe_spec)
  const config = getConfigBody(store, run.config_id)
  const schema = spec.schema !== undefined ? spec.schema : withHotParams(inferSchema(config), spec.hot_params)
  return extendSchema(schema, config)
}
