-- Brings databases made before two released migrations were edited in line with fresh ones: the
-- first release of 001_init lacked agent_jobs_pending_fifo, the first commit of 003_accounts lacked
-- login_failures_at. Both are no-ops on databases that have them. From here on released migrations
-- are never edited (docs/migrations.md); schema_migrations records each file's checksum.
create index if not exists agent_jobs_pending_fifo on agent_jobs (id) where status = 'pending';
create index if not exists login_failures_at on login_failures (at);
