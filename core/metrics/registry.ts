/**
 * A tiny metrics registry rendering the Prometheus text exposition format (version 0.0.4):
 * counters, gauges and histograms kept in this process, plus collectors that compute families at
 * scrape time (figures read from the database). No dependency; what the app and the coordinator
 * need, nothing more.
 *
 * Format: per family `# HELP name text` and `# TYPE name counter|gauge|histogram`, then one line
 * per sample `name{label="value",…} number`. Label values escape `\`, `"` and newlines; histograms
 * have cumulative `_bucket{le="…"}` samples ending with `le="+Inf"`, then `_sum` and `_count`.
 */

export type Labels = Record<string, string | number>
export type MetricType = 'counter' | 'gauge' | 'histogram'

export interface Sample {
  /** Appended to the family name: `_bucket`, `_sum`, `_count` for histograms. */
  suffix?: string
  labels: Labels
  value: number
}

export interface Family {
  name: string
  help: string
  type: MetricType
  samples: Sample[]
}

export interface Counter {
  inc(labels?: Labels, by?: number): void
}

export interface Gauge {
  set(value: number, labels?: Labels): void
  inc(labels?: Labels, by?: number): void
  dec(labels?: Labels, by?: number): void
}

export interface Histogram {
  observe(value: number, labels?: Labels): void
}

/** A family computed when scraped; may return nothing (a source that is down). */
export type Collector = () => Family[] | Promise<Family[]>

export interface Registry {
  counter(name: string, help: string): Counter
  gauge(name: string, help: string): Gauge
  histogram(name: string, help: string, buckets: readonly number[]): Histogram
  collect(collector: Collector): void
  /** The exposition text of every metric and collector, in registration order. */
  render(): Promise<string>
}

/** The content type of the exposition this registry renders. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

const keyOf = (labels: Labels) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)))

export function createRegistry(): Registry {
  const sources: Collector[] = []

  function valueFamily(name: string, help: string, type: 'counter' | 'gauge') {
    const values = new Map<string, Sample>()
    sources.push(() => [{ name, help, type, samples: [...values.values()] }])
    return (labels: Labels, change: (old: number) => number) => {
      const key = keyOf(labels)
      const sample = values.get(key) ?? { labels, value: 0 }
      sample.value = change(sample.value)
      values.set(key, sample)
    }
  }

  return {
    counter(name, help) {
      const update = valueFamily(name, help, 'counter')
      return { inc: (labels = {}, by = 1) => update(labels, (old) => old + by) }
    },
    gauge(name, help) {
      const update = valueFamily(name, help, 'gauge')
      return {
        set: (value, labels = {}) => update(labels, () => value),
        inc: (labels = {}, by = 1) => update(labels, (old) => old + by),
        dec: (labels = {}, by = 1) => update(labels, (old) => old - by),
      }
    },
    histogram(name, help, buckets) {
      const series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>()
      sources.push(() => [histogramFamily(name, help, buckets, [...series.values()])])
      return {
        observe(value, labels = {}) {
          const key = keyOf(labels)
          const entry = series.get(key) ?? { labels, counts: buckets.map(() => 0), sum: 0, count: 0 }
          buckets.forEach((le, i) => value <= le && entry.counts[i]!++)
          entry.sum += value
          entry.count++
          series.set(key, entry)
        },
      }
    },
    collect(collector) {
      sources.push(collector)
    },
    async render() {
      const families = (await Promise.all(sources.map((source) => source()))).flat()
      return families.map(renderFamily).join('')
    },
  }
}

/**
 * A histogram family from per-series bucket counts (`counts[i]` = observations ≤ `buckets[i]`,
 * already cumulative), for collectors that count in SQL as well as for the registry's own.
 */
export function histogramFamily(
  name: string,
  help: string,
  buckets: readonly number[],
  series: { labels: Labels; counts: number[]; sum: number; count: number }[],
): Family {
  const samples: Sample[] = []
  for (const { labels, counts, sum, count } of series) {
    buckets.forEach((le, i) => samples.push({ suffix: '_bucket', labels: { ...labels, le: String(le) }, value: counts[i]! }))
    samples.push({ suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: count })
    samples.push({ suffix: '_sum', labels, value: sum })
    samples.push({ suffix: '_count', labels, value: count })
  }
  return { name, help, type: 'histogram', samples }
}

function renderFamily(family: Family): string {
  const lines = [`# HELP ${family.name} ${family.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${family.name} ${family.type}`]
  for (const sample of family.samples) {
    const labels = Object.entries(sample.labels)
    const text = labels.length ? `{${labels.map(([key, value]) => `${key}="${escapeLabel(String(value))}"`).join(',')}}` : ''
    lines.push(`${family.name}${sample.suffix ?? ''}${text} ${formatValue(sample.value)}`)
  }
  return lines.join('\n') + '\n'
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return String(value)
}
