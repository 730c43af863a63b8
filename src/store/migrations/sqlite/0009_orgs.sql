-- patd schema v9 (#17): organizations. A person may be a member of
-- several, with a role (owner | member) and the token permission there;
-- a token is usable in an organization when its owner is a member with the
-- permission and its organizations ('' = all of them; else the slugs,
-- space-separated) name it. Audit events of an organization's own
-- administration carry its id. The installation until now becomes the
-- organization 'default': every person a member with their current
-- permission, superusers its owners, so nothing changes for it.
CREATE TABLE orgs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE org_members (
    org_id            INTEGER NOT NULL REFERENCES orgs(id),
    user_id           INTEGER NOT NULL REFERENCES users(id),
    role              TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    can_manage_tokens INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_user ON org_members(user_id);
ALTER TABLE tokens ADD COLUMN organizations TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN org_id INTEGER NOT NULL DEFAULT 0;
INSERT INTO orgs (slug, name, created_at, updated_at)
    VALUES ('default', 'Default', strftime('%s','now'), strftime('%s','now'));
INSERT INTO org_members (org_id, user_id, role, can_manage_tokens, created_at, updated_at)
    SELECT (SELECT id FROM orgs WHERE slug = 'default'), id,
           CASE WHEN role = 'superuser' THEN 'owner' ELSE 'member' END,
           can_manage_tokens, strftime('%s','now'), strftime('%s','now')
    FROM users;
