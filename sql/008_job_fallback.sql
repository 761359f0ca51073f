-- A docker-mode job whose container could not start and that the coordinator ran on its host
-- instead (AGENT_FALLBACK_TO_HOST): `executor` becomes the executor it really ran on (`local`) and
-- `fallback_reason` holds why the container could not start. Null for every other job; a new claim
-- (retry) clears it.
alter table agent_jobs add column fallback_reason text;
