-- Organizations (#17); see the SQLite migration 0009.
CREATE TABLE orgs (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version    BIGINT NOT NULL DEFAULT 1
);
CREATE TABLE org_members (
    org_id            BIGINT NOT NULL REFERENCES orgs(id),
    user_id           BIGINT NOT NULL REFERENCES users(id),
    role              TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    can_manage_tokens BOOLEAN NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_user ON org_members(user_id);
ALTER TABLE tokens ADD COLUMN organizations TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN org_id BIGINT NOT NULL DEFAULT 0;
INSERT INTO orgs (slug, name, created_at, updated_at)
    VALUES ('default', 'Default', extract(epoch FROM now())::bigint,
            extract(epoch FROM now())::bigint);
INSERT INTO org_members (org_id, user_id, role, can_manage_tokens, created_at, updated_at)
    SELECT (SELECT id FROM orgs WHERE slug = 'default'), id,
           CASE WHEN role = 'superuser' THEN 'owner' ELSE 'member' END,
           can_manage_tokens, extract(epoch FROM now())::bigint, extract(epoch FROM now())::bigint
    FROM users;
