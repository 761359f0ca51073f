-- The coordinators registry: each coordinator instance reports in (host, version, executor,
-- capacity, running jobs) every few seconds; the app derives live / idle / lost / stopped from the
-- report's age. Keyed by the credential it authenticates with and its instance id, so a coordinator
-- cannot overwrite another credential's row.
create table coordinators (
  credential           text not null,
  coordinator_id       text not null,
  host                 text not null,
  version              text not null,
  executor             text not null,
  capacity             integer not null,
  running_job_ids      integer[] not null default '{}',
  report_interval_sec  integer not null,
  started_at           timestamptz not null,
  last_seen_at         timestamptz not null default now(),
  stopped_at           timestamptz,
  primary key (credential, coordinator_id)
);
create index coordinators_last_seen on coordinators (last_seen_at desc);
