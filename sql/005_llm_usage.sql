-- Tokens each job spent through the LLM relay (core/services/llm-relay.ts), per purpose
-- (worker CLI, Director, embeddings), as the provider's usage fields reported them. The relay reads
-- the job's sum before every call to enforce DIRECTOR_MAX_TOKENS mid-run.
create table llm_usage (
  job_id         integer not null references agent_jobs (id) on delete cascade,
  purpose        text not null check (purpose in ('worker', 'director', 'embeddings')),
  input_tokens   bigint not null default 0,
  output_tokens  bigint not null default 0,
  calls          integer not null default 0,
  updated_at     timestamptz not null default now(),
  primary key (job_id, purpose)
);
