/** Path-parameter and shared query schemas of the HTTP API. */
import { Type } from '@sinclair/typebox'
import { Id } from '../types.ts'

export const ProjectParams = Type.Object({ id: Id })
export const ProjectItemParams = Type.Object({ pid: Id, tid: Id })
export const NoteParams = Type.Object({ pid: Id, nid: Id })
export const JobParams = Type.Object({ id: Id })
