-- Tickets shown per project as KEY-N. `projects.key` (2–6 uppercase letters, unique) is derived
-- from the name at creation and editable; `tickets.number` counts per project, taken from
-- `projects.last_ticket_number` in the ticket's insert transaction (the counter's row lock
-- serializes concurrent inserts, and a deleted ticket's number is never given out again).
-- The global ticket id stays in the API and in branch names (`ticket-<id>`).

-- The first free key for a project name: the initials of its words when it has two or more
-- (at most 6), else the first 4 letters of its one word ("PRJ" when it has fewer than 2 letters);
-- when that is taken, its first 4 letters followed by AA, AB, … ZZ. Callers serialize on
-- pg_advisory_xact_lock(hashtext('projects.key')) so two creations cannot pick the same key.
create function project_key_for(project_name text) returns text language plpgsql as $$
declare
  letters text := upper(regexp_replace(project_name, '[^A-Za-z]+', ' ', 'g'));
  words text[] := array_remove(string_to_array(trim(letters), ' '), '');
  base text;
  candidate text;
  i integer;
begin
  if coalesce(array_length(words, 1), 0) >= 2 then
    base := left(array_to_string(array(select left(w, 1) from unnest(words) as w), ''), 6);
  else
    base := left(coalesce(words[1], ''), 4);
  end if;
  if length(base) < 2 then base := 'PRJ'; end if;
  if not exists (select 1 from projects where key = base) then return base; end if;
  for i in 0 .. 675 loop
    candidate := left(base, 4) || chr(65 + i / 26) || chr(65 + i % 26);
    if not exists (select 1 from projects where key = candidate) then return candidate; end if;
  end loop;
  raise exception 'no free project key for %', project_name;
end $$;

alter table projects add column key text;
alter table projects add column last_ticket_number integer not null default 0;
do $$
declare
  p record;
begin
  for p in select id, name from projects order by id loop
    update projects set key = project_key_for(p.name) where id = p.id;
  end loop;
end $$;
alter table projects alter column key set not null;
alter table projects add constraint projects_key_format check (key ~ '^[A-Z]{2,6}$');
alter table projects add constraint projects_key_unique unique (key);

alter table tickets add column number integer;
update tickets t set number = n.number
from (select id, row_number() over (partition by project_id order by id) as number from tickets) n
where t.id = n.id;
update projects p set last_ticket_number = coalesce((select max(number) from tickets where project_id = p.id), 0);
alter table tickets alter column number set not null;
alter table tickets add constraint tickets_number_unique unique (project_id, number);
