-- Outgoing webhooks (docs/notifications.md). Admins configure endpoints; an event writes one
-- delivery per subscribed, enabled endpoint in the transaction that makes the event true, so a
-- committed event is delivered at least once. `secret` is the HMAC key, AES-GCM sealed with the
-- app's secret key (core/secrets.ts). `body` is the event as sent, minus `sent_at` (per attempt).
-- A delivery keeps the remote's status code and a classified reason, never its response body.
create table notification_endpoints (
  id          serial primary key,
  name        text not null,
  url         text not null,
  events      text[] not null,
  format      text not null check (format in ('json', 'slack')),
  secret      text not null,
  enabled     boolean not null default true,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);

create table notification_deliveries (
  id               bigserial primary key,
  endpoint_id      integer not null references notification_endpoints(id) on delete cascade,
  event_id         uuid not null,
  event            text not null,
  project_id       integer,
  body             jsonb not null,
  status           text not null default 'pending' check (status in ('pending', 'sending', 'delivered', 'failed')),
  attempts         integer not null default 0,
  -- null = one try plus one per NOTIFY_RETRY_DELAYS_SEC delay; a test send is tried once.
  max_attempts     integer,
  next_attempt_at  timestamptz not null default now(),
  locked_until     timestamptz,
  last_status_code integer,
  last_reason      text,
  created_at       timestamptz not null default now(),
  delivered_at     timestamptz
);
-- The sender's claim: due pending rows, and sending rows whose sender stopped (lock ran out).
create index notification_deliveries_due on notification_deliveries (next_attempt_at) where status in ('pending', 'sending');
create index notification_deliveries_endpoint on notification_deliveries (endpoint_id, id desc);
