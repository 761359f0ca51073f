/** The product version, reported by /api/health and the coordinator. Kept in step with package.json. */
export const VERSION = '0.1.0'
