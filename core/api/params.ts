/** Path-parameter and shared query schemas of the HTTP API. */
import { Type } from '@sinclair/typebox'
import { Id } from '../types.ts'

export const ProjectParams = Type.Object({ id: Id })
export const ProjectItemParams = Type.Object({ pid: Id, tid: Id })
export const NoteParams = Type.Object({ pid: Id, nid: Id })
export const JobParams = Type.Object({ id: Id })
/** A coordinator's instance id (COORDINATOR_ID), repeated by every call bound to its claims. */
export const CoordinatorId = Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9._:@-]+$' })
