-- Per-project settings (docs/forges.md "Per-project settings"): a project's own value of a setting
-- it may override, before the app's. Secrets are AES-GCM sealed with the app's secret key, like
-- app_settings. Deleting the project deletes its settings.
create table project_settings (
  project_id  integer not null references projects(id) on delete cascade,
  key         text not null,
  value       text not null,
  secret      boolean not null default false,
  updated_at  timestamptz not null default now(),
  primary key (project_id, key)
);
