// Non-finite numbers across JSON: the trainer writes "NaN", "Infinity", "-Infinity" (JSON has
// no such literals), the store keeps the trainer's lines as written, and output shows the same
// strings, so a metric value is always a number or one of three strings.

export type JsonNumber = number | 'NaN' | 'Infinity' | '-Infinity'

export function parseMetricValue(raw: unknown): number | undefined {
  if (typeof raw === 'number') return raw
  if (raw === 'NaN') return Number.NaN
  if (raw === 'Infinity' || raw === 'inf') return Number.POSITIVE_INFINITY
  if (raw === '-Infinity' || raw === '-inf') return Number.NEGATIVE_INFINITY
  if (raw === null) return Number.NaN
  return undefined
}

/** The metrics object of a stored metric_steps record (the trainer's line). */
export function recordMetrics(record: string): Record<string, unknown> {
  const metrics = (JSON.parse(record) as {metrics?: unknown}).metrics
  return typeof metrics === 'object' && metrics !== null ? (metrics as Record<string, unknown>) : {}
}

export function toJsonNumber(value: number): JsonNumber {
  if (Number.isFinite(value)) return value
  if (Number.isNaN(value)) return 'NaN'
  return value > 0 ? 'Infinity' : '-Infinity'
}
