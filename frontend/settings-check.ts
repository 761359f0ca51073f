/**
 * The settings check (`GET /api/settings/check`), shared by every view that shows the banner or
 * disables Run. Views hold a `SettingsCheckController`; `refreshSettingsCheck()` reloads it for
 * all of them (after a save, or a `settings.updated` event).
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit'
import { api } from './api.ts'
import { denied } from './session.ts'
import type { Project, SettingsCheck } from './types.ts'

let check: SettingsCheck | null = null
let loading: Promise<void> | null = null
const hosts = new Set<ReactiveControllerHost>()

export function refreshSettingsCheck(): Promise<void> {
  loading ??= api
    .get<SettingsCheck>('/api/settings/check')
    .then((value) => {
      check = value
    })
    .catch(() => {
      // Unknown is not "broken": Run stays enabled and the server's own 422 explains a refusal.
    })
    .finally(() => {
      loading = null
      for (const host of hosts) host.requestUpdate()
    })
  return loading
}

export class SettingsCheckController implements ReactiveController {
  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this)
  }

  get value(): SettingsCheck | null {
    return check
  }

  hostConnected(): void {
    hosts.add(this.host)
    if (!check) void refreshSettingsCheck()
  }

  hostDisconnected(): void {
    hosts.delete(this.host)
  }
}

/** Why agents cannot run for this project right now, or null when they can. */
/**
 * Why the current person may not start agents in `project`: a local project's agents run on the
 * app's host, so only admins start them (the server answers 403 to anyone else).
 */
export function localRunDenied(project: Project | null): string | null {
  return project?.execution_mode === 'local' ? denied('admin', 'start agents in a local project (they run on the app\'s host)') : null
}

export function runBlocker(project: Project | null, value: SettingsCheck | null): string | null {
  if (value && !value.ok) {
    const errors = value.problems.filter((problem) => problem.severity === 'error').map((problem) => problem.message)
    return `Agents can't run until settings are complete: ${errors.join('; ')}`
  }
  if (project?.execution_mode === 'docker' && !project.repo_url) return 'Add a repository URL to this project to run agents (docker mode clones it).'
  if (project?.execution_mode === 'local' && !project.project_path) return 'Set the project path to run agents in local mode.'
  return null
}
