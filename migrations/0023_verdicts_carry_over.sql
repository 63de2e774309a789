-- Review state persists across revisions. When newer content supersedes a change, each
-- account's latest verdict on it is carried to the new change: "changes requested" keeps
-- counting until the reviewer approves the new revision or the verdict is dismissed (by the
-- reviewer, or an admin with a reason); an approval as reviewer is carried as stale, shown but
-- not counted, like a pull request's stale review. A dismissal is the reviewer's latest verdict
-- row, of kind `dismissed`, naming who dismissed it. Never edit this file once applied.
alter table review_verdict add column carried_from uuid references schema_change (id);
alter table review_verdict add column stale boolean not null default false;
alter table review_verdict add column dismissed_by bigint references account (id);

alter table review_verdict drop constraint review_verdict_verdict_check;
alter table review_verdict add constraint review_verdict_verdict_check
    check (verdict in ('approve', 'request_changes', 'dismissed'));
alter table review_verdict add constraint review_verdict_dismissal_check
    check (verdict <> 'dismissed' or (dismissed_by is not null
           and (dismissed_by = account_id or length(btrim(coalesce(comment, ''))) > 0)));

select schemagate.announce_every_table();
