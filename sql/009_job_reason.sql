-- Why a job ended other than in success, for people (core/services/job-reason*.ts): a class
-- (`reason_kind`), one plain sentence (`reason`, agent-produced text: stored masked like job events),
-- the job event it came from (`reason_event_id`, a job_events id; no foreign key: both rows go with
-- the job, and an event is never deleted alone) and, when the cause has one, where to fix it
-- (`reason_fix`: {"kind":"setting","key":…} or {"kind":"project","field":…}).
alter table agent_jobs
  add column reason_kind text check (reason_kind in ('setup', 'worker', 'git', 'forge', 'budget', 'cancelled', 'config', 'internal')),
  add column reason text,
  add column reason_event_id bigint,
  add column reason_fix jsonb;

-- Jobs that ended before this migration keep their error as an unclassified reason.
update agent_jobs set reason_kind = case when status = 'cancelled' then 'cancelled' else 'internal' end,
  reason = coalesce(error, case when status = 'cancelled' then 'Stopped' else 'Failed' end)
where status in ('failed', 'cancelled');
