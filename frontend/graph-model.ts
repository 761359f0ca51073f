/** Geometry and small pure helpers of the graph editor. Coordinates are graph units (zoom 1 = 1px). */
import type { GraphEdge, GraphNode } from './types.ts'

export const NODE_W = 200
export const NODE_H = 62

export interface View {
  x: number
  y: number
  k: number
}

export const newId = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 9)}`

export interface Point {
  x: number
  y: number
}

export const center = (node: GraphNode): Point => ({ x: (node.x ?? 0) + NODE_W / 2, y: (node.y ?? 0) + NODE_H / 2 })

/** Where the segment from the node's centre towards `toward` leaves its rectangle. */
export function borderPoint(node: GraphNode, toward: Point, pad = 2): Point {
  const c = center(node)
  const dx = toward.x - c.x
  const dy = toward.y - c.y
  if (!dx && !dy) return c
  const sx = (NODE_W / 2 + pad) / Math.abs(dx || 1e-9)
  const sy = (NODE_H / 2 + pad) / Math.abs(dy || 1e-9)
  const s = Math.min(sx, sy)
  return { x: c.x + dx * s, y: c.y + dy * s }
}

/** The straight edge between two nodes, clipped to their borders; `bend` offsets a pair of opposite edges. */
export function edgePath(source: GraphNode, target: GraphNode, bend = 0): { d: string; mid: Point } {
  const a = center(source)
  const b = center(target)
  if (!bend) {
    const start = borderPoint(source, b)
    const end = borderPoint(target, a, 6)
    return { d: `M${start.x},${start.y} L${end.x},${end.y}`, mid: { x: (start.x + end.x) / 2, y: (start.y + end.y) / 2 } }
  }
  const len = Math.hypot(b.x - a.x, b.y - a.y) || 1
  const control = { x: (a.x + b.x) / 2 - ((b.y - a.y) / len) * bend, y: (a.y + b.y) / 2 + ((b.x - a.x) / len) * bend }
  const start = borderPoint(source, control)
  const end = borderPoint(target, control, 6)
  const mid = { x: 0.25 * start.x + 0.5 * control.x + 0.25 * end.x, y: 0.25 * start.y + 0.5 * control.y + 0.25 * end.y }
  return { d: `M${start.x},${start.y} Q${control.x},${control.y} ${end.x},${end.y}`, mid }
}

export function nodeAt(nodes: GraphNode[], point: Point): GraphNode | undefined {
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!
    const x = node.x ?? 0
    const y = node.y ?? 0
    if (point.x >= x && point.x <= x + NODE_W && point.y >= y && point.y <= y + NODE_H) return node
  }
  return undefined
}

/** A free spot near `near` (spiralling out), so new nodes do not stack and a connection's label fits between them. */
export function freeSpot(nodes: GraphNode[], near: Point): Point {
  const overlaps = (x: number, y: number) =>
    nodes.some((node) => Math.abs((node.x ?? 0) - x) < NODE_W + 100 && Math.abs((node.y ?? 0) - y) < NODE_H + 56)
  const start = { x: Math.round(near.x - NODE_W / 2), y: Math.round(near.y - NODE_H / 2) }
  for (let ring = 0; ring < 12; ring++) {
    for (let step = 0; step < Math.max(1, ring * 8); step++) {
      const angle = (step / Math.max(1, ring * 8)) * Math.PI * 2
      const x = Math.round(start.x + Math.cos(angle) * ring * (NODE_W * 1.6))
      const y = Math.round(start.y + Math.sin(angle) * ring * (NODE_H * 2))
      if (!overlaps(x, y)) return { x, y }
    }
  }
  return start
}

/** Gives nodes without coordinates (created through the API) a place on a grid. */
export function placeMissing(nodes: GraphNode[]): GraphNode[] {
  let slot = 0
  return nodes.map((node) => {
    if (typeof node.x === 'number' && typeof node.y === 'number') return node
    const at = slot++
    return { ...node, x: (at % 4) * (NODE_W + 60), y: Math.floor(at / 4) * (NODE_H + 80) }
  })
}

/** The view that shows every node with a margin, inside a `width`×`height` viewport. */
export function fitView(nodes: GraphNode[], width: number, height: number): View {
  if (!nodes.length) return { x: width / 2 - NODE_W / 2, y: height / 2 - NODE_H / 2, k: 1 }
  const xs = nodes.map((node) => node.x ?? 0)
  const ys = nodes.map((node) => node.y ?? 0)
  const minX = Math.min(...xs)
  const minY = Math.min(...ys)
  const w = Math.max(...xs) + NODE_W - minX
  const h = Math.max(...ys) + NODE_H - minY
  const k = Math.max(0.2, Math.min(1.25, Math.min((width - 120) / w, (height - 120) / h)))
  return { k, x: (width - w * k) / 2 - minX * k, y: (height - h * k) / 2 - minY * k }
}

/** Edges between the same two nodes in both directions bend apart so both stay visible. */
export function bends(edges: GraphEdge[]): Map<string, number> {
  const keys = new Set(edges.map((edge) => `${edge.source}\u0000${edge.target}`))
  return new Map(edges.map((edge) => [edge.id, keys.has(`${edge.target}\u0000${edge.source}`) && edge.source !== edge.target ? 28 : 0]))
}

export function parsePorts(text: string): (number | string)[] {
  return text.split(/[,\s]+/).map((part) => part.trim()).filter(Boolean).map((part) => (/^\d{1,5}$/.test(part) ? Number(part) : part))
}
