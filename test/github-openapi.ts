/**
 * Checks recorded GitHub API requests against GitHub's published OpenAPI description (the
 * `@octokit/openapi` dev dependency: api.github.com, or a GitHub Enterprise Server release such as
 * `ghes-3.19`): each request must be a described operation
 * (method and path template), use only described query parameters, and send a JSON body with the
 * operation's required fields and no property the description does not know.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

export interface RecordedRequest { method: string; url: string; body: unknown }

interface Operation { parameters?: any[]; requestBody?: any }
interface Description { paths: Record<string, Record<string, Operation>>; components: Record<string, Record<string, any>> }

type Loaded = { description: Description; templates: { template: string; pattern: RegExp }[] }
const cache = new Map<string, Loaded>()

function load(name: string): Loaded {
  const cached = cache.get(name)
  if (cached) return cached
  const file = createRequire(import.meta.url).resolve(`@octokit/openapi/generated/${name}.json`)
  const description = JSON.parse(readFileSync(file, 'utf8')) as Description
  const templates = Object.keys(description.paths).map((template) => ({
    template,
    pattern: new RegExp(`^${template.split('/').map((part) => (/^\{.+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))).join('/')}$`),
  }))
  const loaded = { description, templates }
  cache.set(name, loaded)
  return loaded
}

/** `#/components/parameters/owner` → the object it names. */
function resolve(description: Description, value: any): any {
  let current = value
  for (let depth = 0; current && typeof current.$ref === 'string' && depth < 10; depth++) {
    const [, , group, name] = current.$ref.split('/')
    current = description.components[group!]?.[name!]
  }
  return current
}

/** The API path of a recorded URL: origin and GitHub Enterprise's `/api/v3` prefix removed. */
function apiPath(url: URL): string {
  return url.pathname.replace(/^\/api\/v3(?=\/)/, '')
}

function problemsOf(description: Description, operation: Operation, url: URL, body: unknown): string[] {
  const problems: string[] = []
  const parameters = (operation.parameters ?? []).map((p) => resolve(description, p))
  const queryNames = new Set(parameters.filter((p) => p?.in === 'query').map((p) => p.name))
  for (const name of url.searchParams.keys()) if (!queryNames.has(name)) problems.push(`query parameter ${name} is not described`)
  const schema = resolve(description, resolve(description, operation.requestBody)?.content?.['application/json']?.schema)
  if (body === undefined) {
    if (resolve(description, operation.requestBody)?.required) problems.push('a body is required')
    return problems
  }
  if (!schema) return [...problems, 'the operation takes no JSON body']
  const fields = body as Record<string, unknown>
  for (const name of schema.required ?? []) if (fields[name] === undefined) problems.push(`required body field ${name} is missing`)
  if (schema.properties) {
    for (const name of Object.keys(fields)) if (!(name in schema.properties)) problems.push(`body field ${name} is not described`)
  }
  return problems
}

/** One line per request that does not match the description; empty when all do. */
export function checkAgainstDescription(requests: RecordedRequest[], name = 'api.github.com'): string[] {
  const { description, templates } = load(name)
  const problems: string[] = []
  for (const request of requests) {
    const url = new URL(request.url)
    const path = apiPath(url)
    const method = request.method.toLowerCase()
    const candidates = templates.filter((t) => t.pattern.test(path) && description.paths[t.template]![method])
    const what = `${request.method} ${path}`
    if (!candidates.length) {
      problems.push(`${what}: not described`)
      continue
    }
    const outcomes = candidates.map((t) => ({ template: t.template, problems: problemsOf(description, description.paths[t.template]![method]!, url, request.body) }))
    const fit = outcomes.find((o) => o.problems.length === 0)
    if (!fit) problems.push(`${what} (${outcomes[0]!.template}): ${outcomes[0]!.problems.join('; ')}`)
  }
  return [...new Set(problems)]
}
