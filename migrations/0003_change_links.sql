-- A change made for newer content of a package links the change it replaced (superseded, or
-- failed and then superseded), so reviewers can see what changed since the last review.
alter table schema_change add column supersedes uuid references schema_change (id);
create index schema_change_supersedes_idx on schema_change (supersedes);
