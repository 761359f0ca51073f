-- CI auto-fix (docs/ci-fix.md): a new job kind, and one record per tracked request and head commit
-- the follower (core/services/ci-fix/) looked at. `round` is set on records that queued a ci_fix
-- job (1, 2, …; CI_FIX_MAX_ROUNDS caps them per request); the others say what the checks of that
-- commit came to (passed, never started, skipped because a person pushed it, the cap reached).
-- One record per (request, commit): a webhook and the poller racing each other write it once, and
-- only the one whose update moved it out of `waiting` queues the job.
alter table agent_jobs drop constraint if exists agent_jobs_kind_check;
alter table agent_jobs add constraint agent_jobs_kind_check check (kind in ('ticket', 'review', 'ci_fix'));

create table ci_rounds (
  id          serial primary key,
  pr_id       integer not null references prs (id) on delete cascade,
  project_id  integer not null references projects (id) on delete cascade,
  ticket_id   integer not null references tickets (id) on delete cascade,
  sha         text not null,
  round       integer,
  outcome     text not null default 'waiting'
                check (outcome in ('waiting', 'passed', 'fixing', 'fixed', 'fix_failed', 'exhausted', 'not_started', 'skipped')),
  -- One plain sentence people read (agent-free text: check names and the app's own words).
  reason      text,
  job_id      integer references agent_jobs (id) on delete set null,
  -- The failing checks as the job's prompt got them: [{name, state, summary, details_url, excerpt}],
  -- bounded and redacted (core/services/ci-fix/excerpt.ts).
  failing     jsonb not null default '[]',
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  unique (pr_id, sha)
);
create index ci_rounds_ticket on ci_rounds (ticket_id, id);
create index ci_rounds_job on ci_rounds (job_id) where job_id is not null;
