/**
 * Terarchitect's core as a library (`import … from 'terarchitect/core'`): the domain types, the
 * Executor, Worker and Forge plugin interfaces, errors and logging. Custom executors, workers and
 * forges are written against these and handed to the coordinator, agent or app without forking.
 */
export type { Executor, JobSpec, OutputChunk, OutputSink, ProbeResult, RunResult } from './executor.ts'
export { selectExecutor } from './executor.ts'
export type { Worker, WorkerEvent, WorkerSettings, WorkerTurn, Invocation, ParseState } from './worker.ts'
export { runWorkerTurn } from './agent/run-worker.ts'
export type { Forge, ForgeClient, ForgeConnection, ForgeComment, ForgeWebhooks, PollCursor, PullRequest, RequestCommit, RequestFile, RequestState, WebhookEvent } from './forge.ts'
export { ForgeError } from './forge.ts'
export type { TurnResult } from './agent/run-worker.ts'
export * from './types.ts'
export { AppError, isAppError, badRequest, unauthorized, forbidden, notFound, conflict, unprocessable, unavailable } from './errors.ts'
export type { ErrorDetail } from './errors.ts'
export { createLogger, redact, redactText } from './log.ts'
export type { Logger, LogLevel } from './log.ts'
export { SETTINGS, WORKER_MODES } from './settings.ts'
export type { SettingDefinition } from './settings.ts'
export { VERSION } from './version.ts'
