// Which way is better for a metric, as the run's recipe declared it (`metrics: {reward: {goal:
// max}}`, `primary_metric: reward`). A run keeps its recipe's declarations in its recipe_spec
// (see RecipeSpec in runs/start.ts); a run recorded before they existed declares nothing. An
// undeclared metric has goal null: no direction is better, so it has no "best" and its trend is
// judged without one (no name-based guessing: `entropy` and `learning_rate` are not "higher is
// better").

export type Goal = 'max' | 'min' | null

export interface DeclaredMetrics {
  /** Metric name → its goal. */
  goals: Record<string, Goal>
  /** The metric that says which run is best (one with a goal), or null. */
  primary: string | null
  /** The recipe's guards (`guards: {kl: {max: 1}}`): bounds whose crossing is a soft anomaly. */
  guards: Record<string, {min?: number; max?: number}>
}

/** The declarations stored in a run's recipe_spec JSON (tolerant: anything malformed declares nothing). */
export function declaredMetrics(recipeSpecJson: string | null | undefined): DeclaredMetrics {
  let spec: {metrics?: unknown; primary_metric?: unknown; guards?: unknown} = {}
  try {
    spec = recipeSpecJson ? JSON.parse(recipeSpecJson) as typeof spec : {}
  } catch {
    // A run's recipe_spec is written by autolab; an unreadable one declares nothing.
  }
  const goals: Record<string, Goal> = {}
  if (typeof spec.metrics === 'object' && spec.metrics !== null) {
    for (const [name, decl] of Object.entries(spec.metrics as Record<string, {goal?: unknown}>)) {
      const goal = decl?.goal
      goals[name] = goal === 'max' || goal === 'min' ? goal : null
    }
  }
  const primary = typeof spec.primary_metric === 'string' && Object.hasOwn(goals, spec.primary_metric) ? spec.primary_metric : null
  // Written by autolab from a validated project file; a malformed one guards nothing.
  const guards = spec.guards !== null && typeof spec.guards === 'object' && !Array.isArray(spec.guards) ? spec.guards as DeclaredMetrics['guards'] : {}
  return {goals, primary, guards}
}

export function goalOf(declared: DeclaredMetrics, metric: string): Goal {
  return Object.hasOwn(declared.goals, metric) ? declared.goals[metric] : null
}

/** `higher_is_better` as `show` has always said it: true for max, false for min, null without a goal. */
export function higherIsBetter(goal: Goal): boolean | null {
  return goal === null ? null : goal === 'max'
}
