/**
 * The part of YAML that kubeconfig files use (what `kubectl config view --raw` writes): block
 * mappings, block sequences (also at their key's indentation), plain and quoted scalars (plain
 * integers become numbers, true/false booleans, null/~ null), `{}` and
 * `[]`, comments. Anchors, flow collections with content, multi-line and block scalars are refused
 * with a message rather than misread. A file that is JSON is parsed as JSON.
 */

interface Line { indent: number; text: string; number: number }

export function parseYamlSubset(source: string): unknown {
  if (/^\s*[{[]/.test(source) && !/^\s*(\{\}|\[\])\s*$/.test(source)) return JSON.parse(source)
  const lines: Line[] = []
  source.split(/\r?\n/).forEach((raw, index) => {
    const text = stripComment(raw).trimEnd()
    if (text.trim() === '' || text.trim() === '---') return
    if (/^\t/.test(text)) throw problem(index + 1, 'tabs are not allowed for indentation')
    lines.push({ indent: text.length - text.trimStart().length, text: text.trim(), number: index + 1 })
  })
  if (lines.length === 0) return null
  let position = 0

  const isItem = (line: Line | undefined, indent: number) => line !== undefined && line.indent === indent && (line.text === '-' || line.text.startsWith('- '))

  function block(indent: number): unknown {
    return isItem(lines[position], indent) ? sequence(indent) : mapping(indent)
  }

  function sequence(indent: number): unknown[] {
    const items: unknown[] = []
    while (isItem(lines[position], indent)) {
      const line = lines[position]!
      const rest = line.text.slice(1).trim()
      if (rest === '') {
        position++
        items.push(lines[position] && lines[position]!.indent > indent ? block(lines[position]!.indent) : null)
      } else if (keyValue(rest)) {
        // `- key: value` opens a mapping whose keys sit two columns in.
        lines[position] = { indent: indent + 2, text: rest, number: line.number }
        items.push(mapping(indent + 2))
      } else {
        position++
        items.push(scalar(rest, line.number))
      }
    }
    return items
  }

  function mapping(indent: number): Record<string, unknown> {
    const object: Record<string, unknown> = {}
    while (position < lines.length && lines[position]!.indent === indent && !isItem(lines[position], indent)) {
      const line = lines[position]!
      const pair = keyValue(line.text)
      if (!pair) throw problem(line.number, `expected "key: value": ${JSON.stringify(line.text.slice(0, 60))}`)
      position++
      const next = lines[position]
      if (pair.value !== '') object[pair.key] = scalar(pair.value, line.number)
      else if (next && next.indent > indent) object[pair.key] = block(next.indent)
      else if (isItem(next, indent)) object[pair.key] = sequence(indent)
      else object[pair.key] = null
    }
    if (position < lines.length && lines[position]!.indent > indent) throw problem(lines[position]!.number, 'unexpected indentation')
    return object
  }

  const value = block(lines[0]!.indent)
  if (position < lines.length) throw problem(lines[position]!.number, 'unexpected content')
  return value
}

function keyValue(text: string): { key: string; value: string } | undefined {
  const quoted = /^(?:"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)')\s*:(?:\s+(.*))?$/.exec(text)
  if (quoted) return { key: quoted[1] !== undefined ? JSON.parse(`"${quoted[1]}"`) : quoted[2]!.replace(/''/g, "'"), value: (quoted[3] ?? '').trim() }
  const plain = /^([^\s"'#:][^:]*?)\s*:(?:\s+(.*))?$/.exec(text)
  return plain ? { key: plain[1]!, value: (plain[2] ?? '').trim() } : undefined
}

function scalar(text: string, lineNumber: number): unknown {
  if (text.startsWith('"')) {
    if (!/^"(?:[^"\\]|\\.)*"$/.test(text)) throw problem(lineNumber, 'unterminated or multi-line double-quoted string')
    return JSON.parse(text)
  }
  if (text.startsWith("'")) {
    if (!/^'(?:[^']|'')*'$/.test(text)) throw problem(lineNumber, 'unterminated or multi-line single-quoted string')
    return text.slice(1, -1).replace(/''/g, "'")
  }
  if (text === '{}') return {}
  if (text === '[]') return []
  if (/^[|>&*!{[]/.test(text)) throw problem(lineNumber, `unsupported YAML (${text[0]}): write this value on one line, or use JSON`)
  if (text === 'true' || text === 'false') return text === 'true'
  if (text === 'null' || text === '~') return null
  if (/^-?(0|[1-9]\d{0,14})$/.test(text)) return Number(text)
  return text
}

/** Drops a `#` comment that starts a line or follows a space, outside quotes. */
function stripComment(line: string): string {
  let quote: string | undefined
  for (let index = 0; index < line.length; index++) {
    const char = line[index]!
    if (quote) {
      if (char === '\\' && quote === '"') index++
      else if (char === quote) quote = undefined
    } else if (char === '"' || char === "'") {
      if (index === 0 || /[\s:-]/.test(line[index - 1]!)) quote = char
    } else if (char === '#' && (index === 0 || /\s/.test(line[index - 1]!))) {
      return line.slice(0, index)
    }
  }
  return line
}

const problem = (line: number, message: string) => new Error(`line ${line}: ${message}`)
