// Non-finite numbers across JSON: the trainer writes "NaN", "Infinity", "-Infinity" (JSON has
// no such literals); SQLite stores NaN as NULL (it has no NaN) and ±Infinity as they are;
// output shows them as the same strings, so a value is always a number or one of three strings.

export type JsonNumber = number | 'NaN' | 'Infinity' | '-Infinity'

export function parseMetricValue(raw: unknown): number | undefined {
  if (typeof raw === 'number') return raw
  if (raw === 'NaN') return Number.NaN
  if (raw === 'Infinity' || raw === 'inf') return Number.POSITIVE_INFINITY
  if (raw === '-Infinity' || raw === '-inf') return Number.NEGATIVE_INFINITY
  if (raw === null) return Number.NaN
  return undefined
}

export function fromStored(value: number | null): number {
  return value === null ? Number.NaN : value
}

export function toJsonNumber(value: number): JsonNumber {
  if (Number.isFinite(value)) return value
  if (Number.isNaN(value)) return 'NaN'
  return value > 0 ? 'Infinity' : '-Infinity'
}
