/**
 * A minimal OpenAI-compatible Chat Completions client for the Director (non-streaming). The agent
 * points it at the app's LLM relay (`…/api/relay/llm/director`, the job token as the key), which
 * forwards to AGENT_LLM_URL with AGENT_API_KEY. The base URL may be given with or without `/v1`
 * (`http://host:8000`, `http://host:8000/v1`) or as the full `…/chat/completions` endpoint. Every
 * message is redacted before it leaves the process.
 */
import { redactText } from '../log.ts'
import { versionedEndpoint } from '../services/llm-relay-urls.ts'
import { agentError } from './errors.ts'

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant'
  content: string
}

export interface ChatAnswer {
  text: string
  /** As reported by the server; estimated (4 characters a token) when it reports none. */
  usage: { input_tokens: number; output_tokens: number }
}

export interface ChatClient {
  chat(messages: ChatMessage[], options?: { signal?: AbortSignal; maxTokens?: number }): Promise<ChatAnswer>
}

export interface ChatClientOptions {
  url: string
  model: string
  apiKey?: string
  /** Per request; default 5 minutes. */
  timeoutMs?: number
}

export function chatEndpoint(url: string): string {
  return versionedEndpoint(url, 'chat/completions')
}

export function createChatClient(options: ChatClientOptions): ChatClient {
  const endpoint = chatEndpoint(options.url)
  const timeoutMs = options.timeoutMs ?? 5 * 60 * 1000
  return {
    async chat(messages, { signal, maxTokens } = {}) {
      const body = {
        model: options.model,
        messages: messages.map((message) => ({ role: message.role, content: redactText(message.content) })),
        temperature: 0,
        ...(maxTokens ? { max_tokens: maxTokens } : {}),
      }
      let lastError: unknown
      for (let attempt = 1; attempt <= 3; attempt++) {
        const timeout = AbortSignal.timeout(timeoutMs)
        let res: Response
        try {
          res = await fetch(endpoint, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) },
            body: JSON.stringify(body),
            signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
          })
        } catch (error) {
          if (signal?.aborted) throw error
          lastError = agentError('director', `Director LLM unreachable: ${(error as Error).message}`, error)
          await new Promise((resolve) => setTimeout(resolve, 1000 * attempt))
          continue
        }
        const text = await res.text()
        if (!res.ok) {
          lastError = agentError('director', redactText(`Director LLM answered ${res.status}: ${text.slice(0, 300)}`))
          if (res.status < 500 && res.status !== 429) throw lastError
          await new Promise((resolve) => setTimeout(resolve, 1000 * attempt))
          continue
        }
        let parsed: any
        try {
          parsed = JSON.parse(text)
        } catch {
          throw agentError('director', `Director LLM answered non-JSON: ${text.slice(0, 200)}`)
        }
        const content = parsed?.choices?.[0]?.message?.content
        const answer = typeof content === 'string' ? content : Array.isArray(content) ? content.map((part: any) => part?.text ?? '').join('') : ''
        const sent = body.messages.reduce((n, message) => n + message.content.length, 0)
        return {
          text: answer,
          usage: {
            input_tokens: Math.round(Number(parsed?.usage?.prompt_tokens ?? sent / 4)) || 0,
            output_tokens: Math.round(Number(parsed?.usage?.completion_tokens ?? answer.length / 4)) || 0,
          },
        }
      }
      throw lastError
    },
  }
}

/**
 * The first JSON object in a model's answer: bare, in a ```json fence, or amid prose. Models do all
 * three even when told to answer with JSON only.
 */
export function extractJson(text: string): Record<string, unknown> | undefined {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(text)
  const candidates = [text.trim(), fenced?.[1]?.trim() ?? '']
  const start = text.indexOf('{')
  const end = text.lastIndexOf('}')
  if (start >= 0 && end > start) candidates.push(text.slice(start, end + 1))
  for (const candidate of candidates) {
    if (!candidate.startsWith('{')) continue
    try {
      const value = JSON.parse(candidate)
      if (value && typeof value === 'object' && !Array.isArray(value)) return value
    } catch {}
  }
  return undefined
}
