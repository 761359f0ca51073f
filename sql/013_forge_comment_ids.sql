-- A forge numbers its comments on its own: GitHub and GitLab (or two GitLab instances) can both have
-- a comment 1234. A review comment is therefore one per request, kind and forge id, no longer one
-- per kind and id app-wide (core/services/review/comments.ts stores each once per tracked request;
-- a request is tracked for one ticket, whose branch is its head).
alter table pr_review_comments drop constraint if exists pr_review_comments_kind_github_id_key;
alter table pr_review_comments add constraint pr_review_comments_pr_kind_forge_id_key unique (pr_id, kind, github_id);
