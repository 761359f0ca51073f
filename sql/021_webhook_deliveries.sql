-- Forge webhook deliveries already received (docs/SECURITY.md "Webhooks"): the forge's delivery id
-- per kind, kept 24 hours, so a captured delivery replayed within that time is refused. Only
-- verified deliveries are recorded; rows older than a day are pruned as new ones arrive.
create table webhook_deliveries (
  kind         text not null,
  delivery_id  text not null,
  received_at  timestamptz not null default now(),
  primary key (kind, delivery_id)
);
create index webhook_deliveries_received on webhook_deliveries (received_at);
