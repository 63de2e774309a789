-- Reviews that carry weight. A reviewer's verdict on a pending change (approve, or request
-- changes with a comment): the latest verdict of each account counts, and a change with any
-- latest "request_changes" needs a typed confirmation to be approved. With four-eyes on, the
-- first admin approval of a destructive, breaking or security change is recorded here and the
-- change stays pending until a second admin approves. Never edit this file once applied; add a
-- new one.

create table review_verdict (
    id         bigint generated always as identity primary key,
    change_id  uuid not null references schema_change (id),
    account_id bigint not null references account (id),
    verdict    text not null,
    comment    text,
    created_at timestamptz not null default now(),
    constraint review_verdict_verdict_check check (verdict in ('approve', 'request_changes')),
    constraint review_verdict_comment_check
        check (verdict <> 'request_changes' or length(btrim(coalesce(comment, ''))) > 0)
);
create index review_verdict_change_idx on review_verdict (change_id, account_id, id desc);

-- The first of two admin approvals, pinned to the SQL plan the admin saw: a change whose plan
-- changed since needs its first approval again.
create table admin_approval (
    change_id   uuid not null references schema_change (id),
    account_id  bigint not null references account (id),
    plan_sha256 text,
    note        text,
    created_at  timestamptz not null default now(),
    primary key (change_id, account_id)
);
