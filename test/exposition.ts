/**
 * A strict little parser of the Prometheus text exposition format (0.0.4) for the metrics suites:
 * every line must be a `# HELP`, a `# TYPE` or a sample of a family whose TYPE came first; label
 * values must be properly escaped; histograms must be cumulative and end with `le="+Inf"` equal
 * to their `_count`. Throws naming the first bad line.
 */
import * as assert from 'uvu/assert'

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"'
const VALUE = 'NaN|[+-]Inf|[+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?'
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,(?:${LABEL}))*)?\\})? (${VALUE})(?: -?\\d+)?$`)
const HELP = new RegExp(`^# HELP (${NAME}) .*$`)
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`)

export interface ParsedSample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Exposition {
  types: Map<string, string>
  samples: ParsedSample[]
  /** The value of the sample `name` whose labels include all of `labels`; undefined when none. */
  value(name: string, labels?: Record<string, string>): number | undefined
  /** The sum over every sample named `name` whose labels include `labels`. */
  sum(name: string, labels?: Record<string, string>): number
}

export function parseExposition(text: string): Exposition {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline')
  const types = new Map<string, string>()
  const samples: ParsedSample[] = []
  text.slice(0, -1).split('\n').forEach((line, index) => {
    const where = `line ${index + 1}: ${JSON.stringify(line)}`
    if (line.startsWith('# HELP ')) return assert.ok(HELP.test(line), `bad HELP, ${where}`)
    const type = TYPE.exec(line)
    if (type) {
      assert.not.ok(types.has(type[1]!), `TYPE declared twice, ${where}`)
      types.set(type[1]!, type[2]!)
      return
    }
    const sample = SAMPLE.exec(line)
    assert.ok(sample, `not a valid sample line, ${where}`)
    const name = sample![1]!
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '')
    assert.ok(types.has(family), `sample before its TYPE, ${where}`)
    if (family !== name) assert.is(types.get(family), 'histogram', `only histograms have _bucket/_sum/_count samples, ${where}`)
    const labels: Record<string, string> = {}
    for (const match of (sample![2] ?? '').matchAll(new RegExp(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`, 'g'))) {
      labels[match[1]!] = match[2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c))
    }
    const raw = sample![3]!
    samples.push({ name, labels, value: raw === 'NaN' ? NaN : raw.endsWith('Inf') ? (raw.startsWith('-') ? -Infinity : Infinity) : Number(raw) })
  })
  checkHistograms(types, samples)
  const matches = (name: string, labels: Record<string, string>) => samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  return {
    types,
    samples,
    value: (name, labels = {}) => matches(name, labels)[0]?.value,
    sum: (name, labels = {}) => matches(name, labels).reduce((total, s) => total + s.value, 0),
  }
}

function checkHistograms(types: Map<string, string>, samples: ParsedSample[]): void {
  for (const [family, type] of types) {
    if (type !== 'histogram') continue
    const series = new Map<string, ParsedSample[]>()
    for (const sample of samples.filter((s) => s.name === `${family}_bucket`)) {
      const { le, ...rest } = sample.labels
      assert.ok(le !== undefined, `${family}_bucket without le`)
      const key = JSON.stringify(rest)
      series.set(key, [...(series.get(key) ?? []), sample])
    }
    for (const [key, buckets] of series) {
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, `${family} ${key}: buckets are cumulative`)
      const last = buckets[buckets.length - 1]!
      assert.is(last.labels.le, '+Inf', `${family} ${key}: the last bucket is +Inf`)
      const count = samples.find((s) => s.name === `${family}_count` && JSON.stringify(s.labels) === key)
      assert.is(count?.value, last.value, `${family} ${key}: +Inf equals _count`)
    }
  }
}
