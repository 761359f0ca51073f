-- Ticket dependencies: a ticket is blocked by other tickets of its project
-- (core/services/ticket-dependencies.ts). Deleting either ticket removes the edge.
create table ticket_dependencies (
  ticket_id   integer not null references tickets (id) on delete cascade,
  blocker_id  integer not null references tickets (id) on delete cascade,
  created_at  timestamptz not null default now(),
  primary key (ticket_id, blocker_id),
  check (ticket_id <> blocker_id)
);
create index ticket_dependencies_blocker on ticket_dependencies (blocker_id);

-- A ticket moved to In Progress while a blocker is not Done waits: no job exists until it starts.
-- `waiting_notes` says what happened to its blockers meanwhile ("WIDG-1 was deleted").
alter table tickets add column waiting_since timestamptz;
alter table tickets add column waiting_notes jsonb not null default '[]';
