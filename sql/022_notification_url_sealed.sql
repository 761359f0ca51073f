-- Notification endpoint URLs are secrets too (a Slack incoming-webhook URL is a bearer credential):
-- `url` holds the URL sealed with the app's secret key like `secret`, and `url_shown` what lists and
-- the audit log show, its scheme and host. SQL cannot seal with the app's key: a URL still in clear
-- (http(s)://…) is sealed by the app when its notification sender starts.
alter table notification_endpoints add column url_shown text;
update notification_endpoints set url_shown = coalesce(substring(url from '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*'), '');
alter table notification_endpoints alter column url_shown set not null;
