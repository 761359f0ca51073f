-- Issue intake (core/services/intake/): a forge issue a writer labelled becomes a ticket.
-- One row per imported issue: unique per project and issue, so an issue is imported once even when
-- the webhook and the poller handle it at the same time (the row is inserted in the transaction that
-- creates the ticket). A deleted ticket keeps the row (ticket_id null): the issue is not imported again.
create table ticket_issues (
  id            serial primary key,
  project_id    integer not null references projects (id) on delete cascade,
  ticket_id     integer references tickets (id) on delete set null,
  forge_kind    text not null,
  repo          text not null,
  issue_number  integer not null,
  issue_url     text,
  state         text not null default 'open' check (state in ('open', 'closed')),
  -- Who applied the label that imported it.
  imported_by   text not null,
  -- The issue's text as the ticket last took it; an edit is told apart from these.
  synced_title  text not null,
  synced_body   text not null,
  -- The last edit not applied (not by a writer, or its editor unknown): {by, at}.
  ignored_edit  jsonb,
  -- The app's one comment on the issue naming the ticket (null until posted).
  comment_id    bigint,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now()
);
create unique index ticket_issues_issue on ticket_issues (project_id, lower(repo), issue_number);
create index ticket_issues_ticket on ticket_issues (ticket_id);

-- What the intake last decided about an issue it did not import, and the poller's place per project.
create table issue_intake_seen (
  project_id    integer not null references projects (id) on delete cascade,
  repo          text not null,
  issue_number  integer not null,
  updated_at    text not null,
  outcome       text not null,
  primary key (project_id, repo, issue_number)
);
create table issue_intake_cursors (
  project_id     integer primary key references projects (id) on delete cascade,
  repo           text not null,
  cursor         jsonb not null default '{}',
  last_polled_at timestamptz,
  last_error     text
);
