/**
 * The forge host of test/multi-host.test.ts, run as its own process inside the `forge` namespace:
 * a git smart-HTTP server and a fake GitHub (both requiring the forge token), and a scripted fake
 * LLM, all listening on MH_FORGE_ADDRESS. The token comes in MH_FORGE_TOKEN (never argv). Prints
 * one JSON line ({llm, github, git, root, repos}) once serving; exits when its stdin closes (its
 * test is gone). `GET <control>/asked` lists the tickets whose worker has asked the model.
 *
 * The model takes MH_LLM_DELAY_MS per answer and tells the worker which file to write:
 * `ticket-<id>.txt` on the first line, its content after.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { start as startGithub } from './fixtures/fake-github.ts'
import { start as startGitHttp } from './fixtures/git-http.ts'
import { start as startLlm, type LlmRequest, type Reply } from './fixtures/fake-llm.ts'

export const REPOS = ['acme/widgets', 'acme/gadgets']

const host = process.env.MH_FORGE_ADDRESS ?? '127.0.0.1'
const token = process.env.MH_FORGE_TOKEN ?? ''
const delayMs = Number(process.env.MH_LLM_DELAY_MS ?? '4000')
const asked = new Set<number>()

function script(request: LlmRequest): Reply {
  const id = /branch ticket-(\d+)\b/.exec(request.allText)?.[1]
  if (!id) return { text: 'ok' }
  asked.add(Number(id))
  return { text: `ticket-${id}.txt\nchange for ticket ${id}`, delayMs }
}

const llm = await startLlm({ host, script })
const github = await startGithub({ host, tokens: { [token]: 'terarchitect-bot' } })
const git = await startGitHttp({ host, token })
const repos: Record<string, string> = {}
for (const name of REPOS) repos[name] = await git.createRepo(name, { 'README.md': `# ${name}\n`, 'package.json': '{"name":"demo"}\n' })
const control = createServer((req, res) => {
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify(req.url === '/asked' ? [...asked] : null))
})
await new Promise<void>((resolve) => control.listen(0, host, resolve))

process.stdout.write(JSON.stringify({ llm: llm.url, github: github.url, git: git.url, root: git.root, repos, control: `http://${host}:${(control.address() as AddressInfo).port}` }) + '\n')
process.stdin.resume()
process.stdin.on('end', async () => {
  control.close()
  await Promise.all([llm.close(), github.close(), git.close()])
  process.exit(0)
})
