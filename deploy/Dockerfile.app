# The Terarchitect app (API + UI + migrations) as an image. Built from the repository root after
# `npm run build` (the bundle is copied, not rebuilt, so no registry is needed at build time):
#   npm ci && npm run build
#   docker build -f deploy/Dockerfile.app -t terarchitect-app .
#   docker build -f deploy/Dockerfile.app --build-arg BASE_IMAGE=terarchitect-base:bookworm -t terarchitect-app .
# BASE_IMAGE: any Debian-based image with Node 20 at `node` on PATH (default the public one; a
# locally imported base works where no registry is reachable, see scripts/provision-docker.sh).
ARG BASE_IMAGE=node:20-bookworm-slim
FROM ${BASE_IMAGE}

WORKDIR /app
# The server bundle keeps PGlite and postgres.js external (PGlite loads its WebAssembly and data
# files relative to its package): exactly those packages are copied, nothing else from node_modules.
COPY package.json ./
COPY node_modules/@electric-sql/pglite ./node_modules/@electric-sql/pglite
COPY node_modules/@electric-sql/pglite-socket ./node_modules/@electric-sql/pglite-socket
COPY node_modules/@electric-sql/pglite-pgvector ./node_modules/@electric-sql/pglite-pgvector
COPY node_modules/postgres ./node_modules/postgres
COPY dist/server.js dist/server.js.map ./dist/
COPY dist/sql ./dist/sql
COPY dist/public ./dist/public

RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin terarchitect \
 && mkdir -p /data && chown terarchitect /data
USER terarchitect

# Off loopback the app requires TERARCHITECT_ADMIN_TOKEN, TERARCHITECT_WORKER_API_KEY and
# PUBLIC_URL or ALLOWED_HOSTS, and refuses to start without them. Without DATABASE_URL it runs the embedded database in /data.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=5010 TERARCHITECT_DATA_DIR=/data
VOLUME /data
EXPOSE 5010
# Readiness: 503 while the database does not answer within 2 s (docs/RUNBOOK.md "Health and metrics").
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:5010/api/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/server.js"]
