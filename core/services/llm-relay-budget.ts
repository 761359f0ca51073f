/**
 * The LLM relay's budget refusal, shared by the app (which sends it) and the agent (which recognises
 * it in whatever a CLI prints about a failed call, core/agent/budget.ts).
 */

/**
 * Status of the refusal. 402, not 429 (measured, docs/clis.md): on a 429 Claude Code retries,
 * OpenCode retried for 84 s and Codex retried and then reported no message; on a 402 all four CLIs
 * give up and print the message.
 */
export const BUDGET_STATUS = 402

/**
 * The refusal's text, in the protocol's error body. The first figure counts the tokens reserved by
 * the job's calls still running (core/services/llm-relay-spend.ts), named after the parenthesis.
 */
export const budgetMessage = (jobId: number, used: number, limit: number, reserved = 0) =>
  `token budget of job ${jobId} exhausted (${used + reserved} of ${limit} tokens)${reserved > 0 ? `, ${reserved} of them reserved by calls still running` : ''}`

export const BUDGET_MESSAGE = /token budget of job (\d+) exhausted \((\d+) of (\d+) tokens\)/
