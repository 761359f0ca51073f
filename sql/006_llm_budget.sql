-- A job's token budget as the LLM relay enforces it (core/services/llm-relay-spend.ts): one row per
-- job with the tokens spent (`used`, the sum of llm_usage) and the tokens reserved by calls still
-- running (`reserved`, each call's estimate). A generating call starts only if one statement can
-- add its estimate while `used + reserved` is below DIRECTOR_MAX_TOKENS, so parallel calls cannot
-- all pass one check; when its answer ends, one statement moves it from reserved to used.
create table llm_budget (
  job_id      integer primary key references agent_jobs (id) on delete cascade,
  used        bigint not null default 0 check (used >= 0),
  reserved    bigint not null default 0 check (reserved >= 0),
  updated_at  timestamptz not null default now()
);

-- Jobs already running keep what they spent.
insert into llm_budget (job_id, used)
select job_id, sum(input_tokens + output_tokens) from llm_usage group by job_id;
