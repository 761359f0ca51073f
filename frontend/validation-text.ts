/**
 * The API's refusals in words for people. The API names the field by path (`/body/title`) and says
 * what is wrong in TypeBox's terms ("Expected string length less or equal to 300"); the UI shows
 * "Title is too long: at most 300 characters". One table maps fields to labels, one maps messages
 * to sentences; a message neither knows is shown as the API wrote it, after the field's label.
 */
import type { ErrorDetail } from './api.ts'
import { settingLabel } from './setting-labels.ts'

/** Labels by field key (`fieldOf` of the path: `title`, `columns.2.title`); settings (`values.KEY`) are setting-labels.ts's. */
const LABELS: Record<string, string> = {
  title: 'Title',
  description: 'Description',
  name: 'Name',
  key: 'Project key',
  content: 'Content',
  priority: 'Priority',
  column_id: 'Column',
  position: 'Position',
  associated_node_ids: 'Linked components',
  associated_edge_ids: 'Linked connections',
  repo_url: 'Repository URL',
  github_url: 'Repository URL',
  default_branch: 'Default branch',
  execution_mode: 'Execution',
  project_path: 'Project path',
  worker_mode: 'Worker CLI',
  setup_command: 'Setup command',
  test_command: 'Test command',
  username: 'Username',
  password: 'Password',
  email: 'Email',
  role: 'Role',
  body: 'Comment',
  confirm: 'Confirmation',
  version: 'Version',
}

/** What a URL setting looks like, for "must be a URL like …". */
const URL_SHAPES: Record<string, string> = {
  'values.WORKER_LLM_URL': 'https://host/v1',
  'values.AGENT_LLM_URL': 'https://host/v1',
  'values.EMBEDDING_SERVICE_URL': 'https://host/v1',
  'values.GITHUB_API_URL': 'https://api.github.com',
  repo_url: 'https://github.com/owner/repo',
  github_url: 'https://github.com/owner/repo',
}

/** Pattern refusals per field: the rule in words. */
const PATTERNS: Record<string, string> = {
  key: 'must be 2 to 6 capital letters A–Z, like SHOP',
  default_branch: 'must be a branch name without spaces or any of ~ ^ : ? * [ \\',
  column_id: 'may hold only letters, digits, - and _',
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

/** TypeBox's and the API's own phrasings → the sentence after the label. `key` is the field key. */
const RULES: [RegExp, (match: RegExpMatchArray, key: string) => string][] = [
  [/^Expected string length less or equal to (\d+)$/, (m) => `is too long: at most ${plural(Number(m[1]), 'character', 'characters')}`],
  [/^Expected string length greater or equal to (\d+)$/, (m) => (m[1] === '1' ? 'is required' : `is too short: at least ${plural(Number(m[1]), 'character', 'characters')}`)],
  [/^Expected string to match /, (_m, key) => PATTERNS[key.split('.').pop()!] ?? PATTERNS[key] ?? 'is not in the allowed form'],
  [/^Expected (?:integer|number) to be less or equal to (-?\d+)$/, (m) => `must be at most ${m[1]}`],
  [/^Expected (?:integer|number) to be greater or equal to (-?\d+)$/, (m) => `must be at least ${m[1]}`],
  [/^Expected integer$/, () => 'must be a whole number'],
  [/^Expected number$/, () => 'must be a number'],
  [/^Expected string$/, () => 'must be text'],
  [/^Expected boolean$/, () => 'must be on or off'],
  [/^Expected array length to be less or equal to (\d+)$/, (m) => `may hold at most ${plural(Number(m[1]), 'item', 'items')}`],
  [/^Expected array length to be greater or equal to (\d+)$/, (m) => `needs at least ${plural(Number(m[1]), 'item', 'items')}`],
  [/^Expected required property$/, () => 'is required'],
  [/^Unexpected property$/, () => 'is not accepted here'],
  [/^Expected (?:union value|'.*')$/, () => 'is not one of the allowed values'],
  [/^unknown setting$/, () => 'is not a setting this app knows'],
  [/^not set$/, () => 'is not set'],
  [/^not absolute$/, () => 'must be an absolute path, starting with /'],
  [/^not a repository URL$/, () => 'must be an https, http or ssh URL, or git@host:path'],
  [/^contains credentials$/, () => 'must not carry a password or token: set the GitHub token in Settings instead'],
  [/^must be an? (?:http\(s\) )?URL$/, (m, key) => (URL_SHAPES[key] ? `${m[0]} like ${URL_SHAPES[key]}` : m[0])],
]

/** The setting a field key names: `values.KEY` (a settings form) or `settings.KEY` (what a run lacks). */
const settingOf = (key: string) => /^(?:values|settings)\.([A-Z0-9_]+)$/.exec(key)?.[1]

/** `values.WORKER_LLM_URL` → "Worker LLM URL"; an unknown key → its last part in words ("columns.2.title" → "Title"). */
export function fieldLabel(key: string): string {
  const setting = settingOf(key)
  const known = LABELS[key] ?? (setting ? settingLabel(setting) : undefined)
  if (known) return known
  const last = key.split('.').filter((part) => !/^\d+$/.test(part)).pop() ?? key
  const words = LABELS[last] ?? last.replace(/_/g, ' ').toLowerCase()
  return words.charAt(0).toUpperCase() + words.slice(1)
}

/** The sentence after the label ("is too long: at most 300 characters"), or null when no rule knows the message. */
export function problemText(key: string, message: string): string | null {
  for (const [pattern, sentence] of RULES) {
    const match = message.match(pattern)
    if (match) return sentence(match, key)
  }
  return null
}

/** One refusal in words: "Title is too long: at most 300 characters". */
export function detailText(key: string, message: string): string {
  if (!key) return message.charAt(0).toUpperCase() + message.slice(1)
  const problem = problemText(key, message)
  if (problem) return `${fieldLabel(key)} ${problem}`
  // "WORKER_MODEL is not set: …" names the setting by its variable: by its label instead.
  const setting = settingOf(key)
  if (setting && message.startsWith(`${setting} `)) return `${fieldLabel(key)}${message.slice(setting.length)}`
  return `${fieldLabel(key)}: ${message}`
}

/** Every refusal of a response, one sentence each, the first of a field only. */
export function detailsText(details: ErrorDetail[], fieldOf: (path: string) => string): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (const detail of details) {
    const key = fieldOf(detail.path)
    if (seen.has(key)) continue
    seen.add(key)
    out.push(detailText(key, detail.message))
  }
  return out
}
