/** The architecture graph's node types: colour, name and a small icon (24×24 stroke paths). */
import { svg } from 'lit'

export const NODE_TYPES = ['service', 'database', 'cache', 'queue', 'api', 'worker', 'view', 'frontend'] as const
export type NodeType = (typeof NODE_TYPES)[number]

export interface NodeLook {
  color: string
  label: string
  icon: ReturnType<typeof svg>
}

export const NODE_LOOK: Record<string, NodeLook> = {
  service: { color: '#6366f1', label: 'Service', icon: svg`<path d="M12 3 4 7.5v9L12 21l8-4.5v-9z"/><path d="m4 7.5 8 4.5 8-4.5M12 12v9"/>` },
  database: { color: '#d97706', label: 'Database', icon: svg`<ellipse cx="12" cy="5.5" rx="7.5" ry="2.5"/><path d="M4.5 5.5v13c0 1.4 3.4 2.5 7.5 2.5s7.5-1.1 7.5-2.5v-13M4.5 12c0 1.4 3.4 2.5 7.5 2.5s7.5-1.1 7.5-2.5"/>` },
  cache: { color: '#e11d48', label: 'Cache', icon: svg`<path d="M13 2 4 14h7l-1 8 9-12h-7z"/>` },
  queue: { color: '#0d9488', label: 'Queue', icon: svg`<rect x="3" y="4" width="18" height="4.5" rx="1.5"/><rect x="3" y="10" width="18" height="4.5" rx="1.5"/><rect x="3" y="16" width="18" height="4.5" rx="1.5"/>` },
  api: { color: '#0284c7', label: 'API', icon: svg`<path d="M8 4c-2 0-3 1-3 3v2.5C5 11 4 12 3 12c1 0 2 1 2 2.5V17c0 2 1 3 3 3M16 4c2 0 3 1 3 3v2.5c0 1.5 1 2.5 2 2.5-1 0-2 1-2 2.5V17c0 2-1 3-3 3"/>` },
  worker: { color: '#9333ea', label: 'Worker', icon: svg`<circle cx="12" cy="12" r="3"/><path d="M12 2v3M12 19v3M4.9 4.9l2.1 2.1M17 17l2.1 2.1M2 12h3M19 12h3M4.9 19.1 7 17M17 7l2.1-2.1"/>` },
  view: { color: '#db2777', label: 'View', icon: svg`<rect x="3" y="4" width="18" height="16" rx="2"/><path d="M3 9h18M9 9v11"/>` },
  frontend: { color: '#16a34a', label: 'Frontend', icon: svg`<rect x="2.5" y="4" width="19" height="13" rx="2"/><path d="M8 21h8M12 17v4"/>` },
}

const OTHER: NodeLook = { color: '#64748b', label: 'Component', icon: svg`<circle cx="12" cy="12" r="7"/>` }

export const lookOf = (type: string | undefined): NodeLook => NODE_LOOK[type ?? ''] ?? { ...OTHER, label: type || OTHER.label }
