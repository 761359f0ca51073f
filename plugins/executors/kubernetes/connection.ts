/**
 * Where the API server is and how to reach it: a kubeconfig file (its current context, or a named
 * one), else the pod's own service account when the coordinator runs in the cluster
 * (KUBERNETES_SERVICE_HOST/PORT set by Kubernetes, the token, CA and namespace mounted at
 * /var/run/secrets/kubernetes.io/serviceaccount). Only bearer tokens and client certificates are
 * supported: exec and auth-provider plugins (cloud logins) are refused with a message.
 */
import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, join } from 'node:path'
import type { KubernetesConnection } from './client.ts'
import { KubernetesError } from './errors.ts'
import { parseYamlSubset } from './yaml.ts'

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount'

export interface ConnectionSettings {
  /** A kubeconfig file (KUBERNETES_KUBECONFIG); unset = in-cluster. */
  kubeconfig?: string
  /** A context of the kubeconfig; default its current-context. */
  context?: string
  /** The jobs' namespace (KUBERNETES_NAMESPACE); default the context's, else the service account's, else `default`. */
  namespace?: string
  /** KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, as Kubernetes sets them in every pod. */
  serviceHost?: string
  servicePort?: string
  /** Where the service account's files are; default SERVICE_ACCOUNT_DIR (tests point it elsewhere). */
  serviceAccountDir?: string
}

const fail = (message: string, cause?: unknown) => new KubernetesError('k8s_config', 0, message, undefined, cause)

function read(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw fail(`${what}: cannot read ${path}: ${(error as Error).message}`, error)
  }
}

/** Resolves the connection from a kubeconfig when one is named, else from the in-cluster service account. */
export function resolveConnection(settings: ConnectionSettings): KubernetesConnection {
  return settings.kubeconfig ? fromKubeconfig(settings.kubeconfig, settings) : inCluster(settings)
}

export function inCluster(settings: ConnectionSettings): KubernetesConnection {
  const dir = settings.serviceAccountDir ?? SERVICE_ACCOUNT_DIR
  if (!settings.serviceHost) throw fail('not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST is unset): set KUBERNETES_KUBECONFIG')
  const host = settings.serviceHost.includes(':') ? `[${settings.serviceHost}]` : settings.serviceHost
  let namespace = settings.namespace
  if (!namespace) {
    try {
      namespace = readFileSync(join(dir, 'namespace'), 'utf8').trim()
    } catch {}
  }
  // The token is re-read from its file: the kubelet rotates bound service account tokens.
  read(join(dir, 'token'), 'service account token')
  return {
    server: `https://${host}:${settings.servicePort || '443'}`,
    ca: read(join(dir, 'ca.crt'), 'service account CA'),
    tokenFile: join(dir, 'token'),
    namespace: namespace || 'default',
    source: 'in-cluster service account',
  }
}

type Named<T> = { name?: string } & T
interface Kubeconfig {
  'current-context'?: string
  clusters?: Named<{ cluster?: Record<string, unknown> }>[]
  contexts?: Named<{ context?: Record<string, unknown> }>[]
  users?: Named<{ user?: Record<string, unknown> }>[]
}

export function fromKubeconfig(path: string, settings: ConnectionSettings): KubernetesConnection {
  let config: Kubeconfig
  try {
    config = (parseYamlSubset(read(path, 'kubeconfig')) ?? {}) as Kubeconfig
  } catch (error) {
    if (error instanceof KubernetesError) throw error
    throw fail(`kubeconfig ${path}: ${(error as Error).message}`, error)
  }
  const contextName = settings.context ?? config['current-context']
  if (!contextName) throw fail(`kubeconfig ${path}: no current-context (set KUBERNETES_CONTEXT)`)
  const find = <T>(list: Named<T>[] | undefined, name: unknown, what: string): T => {
    const entry = (Array.isArray(list) ? list : []).find((item) => item?.name === name)
    if (!entry) throw fail(`kubeconfig ${path}: no ${what} named ${JSON.stringify(name)}`)
    return entry
  }
  const context = find(config.contexts, contextName, 'context').context ?? {}
  const cluster = find(config.clusters, context.cluster, 'cluster').cluster ?? {}
  const user = context.user === undefined ? {} : (find(config.users, context.user, 'user').user ?? {})
  const relative = (file: unknown) => (typeof file === 'string' && !isAbsolute(file) ? join(dirname(path), file) : String(file))
  const dataOrFile = (data: unknown, file: unknown, what: string) =>
    typeof data === 'string' ? Buffer.from(data, 'base64').toString('utf8') : file !== undefined && file !== null ? read(relative(file), what) : undefined

  const server = typeof cluster.server === 'string' ? cluster.server.replace(/\/+$/, '') : ''
  if (!/^https:\/\//.test(server)) throw fail(`kubeconfig ${path}: cluster server must be an https:// URL, got ${JSON.stringify(cluster.server)}`)
  if (cluster['insecure-skip-tls-verify'] === true) throw fail(`kubeconfig ${path}: insecure-skip-tls-verify is not supported; give the cluster's CA (certificate-authority-data)`)
  if (user.exec || user['auth-provider']) throw fail(`kubeconfig ${path}: exec and auth-provider credentials are not supported; use a service account token (docs/scaling.md)`)
  // A plain scalar of digits only reads as a number.
  const text = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? String(value) : undefined)
  const token = text(user.token)
  const tokenFile = typeof user.tokenFile === 'string' ? relative(user.tokenFile) : undefined
  const cert = dataOrFile(user['client-certificate-data'], user['client-certificate'], 'client certificate')
  const key = dataOrFile(user['client-key-data'], user['client-key'], 'client key')
  if (!token && !tokenFile && !(cert && key)) throw fail(`kubeconfig ${path}: user ${JSON.stringify(context.user)} has no token, tokenFile or client certificate and key`)
  const ca = dataOrFile(cluster['certificate-authority-data'], cluster['certificate-authority'], 'cluster CA')
  return {
    server,
    ...(ca ? { ca } : {}),
    ...(token ? { token } : {}),
    ...(tokenFile ? { tokenFile } : {}),
    ...(cert && key ? { cert, key } : {}),
    namespace: settings.namespace || text(context.namespace) || 'default',
    source: `kubeconfig ${path} (context ${contextName})`,
  }
}
