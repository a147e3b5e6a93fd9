-- Tenants (issue 18): the customers a space deploys one release to, each
-- with its own values. Tenants belong to the space that deploys them and
-- never travel in a bundle.
--
-- tenants: tags is a JSON list of "SET/TAG"; projects a JSON object of
-- project name to the environments the tenant is connected to for it;
-- template_values a JSON list of {project, environment, name, value |
-- sealed, sensitive}: a project template's value for this tenant in one
-- environment, sensitive ones sealed with the master key like variables.
--
-- projects.tenanted_deployments is untenanted (the default, as before),
-- tenanted or both; targets.tenants and targets.tenant_tags (JSON lists)
-- limit a target to some tenants.

CREATE TABLE tenants (
    id              INTEGER PRIMARY KEY,
    space_id        BIGINT  NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    tags            TEXT    NOT NULL DEFAULT '[]',
    projects        TEXT    NOT NULL DEFAULT '{}',
    template_values TEXT    NOT NULL DEFAULT '[]',
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    UNIQUE (space_id, name)
);

ALTER TABLE projects ADD COLUMN tenanted_deployments TEXT NOT NULL DEFAULT '';
ALTER TABLE targets ADD COLUMN tenants TEXT NOT NULL DEFAULT '';
ALTER TABLE targets ADD COLUMN tenant_tags TEXT NOT NULL DEFAULT '';
