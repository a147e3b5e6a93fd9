package domain

import (
	"slices"
	"time"
)

// Permission is something a user may do in a space.
type Permission string

const (
	PermView          Permission = "view"           // see the space and its projects
	PermDeploy        Permission = "deploy"         // deploy releases, cancel deployments
	PermPromote       Permission = "promote"        // promote releases to other spaces
	PermEditProject   Permission = "edit-project"   // change process and variables
	PermCreateRelease Permission = "create-release" // create releases
	PermAdminSpace    Permission = "administer-space"
)

// Roles maps each role to what it allows. The system-wide administrator
// (User.IsAdmin) may do everything everywhere, including spaces and users.
var Roles = map[string][]Permission{
	"viewer":              {PermView},
	"deployer":            {PermView, PermDeploy, PermPromote},
	"project-contributor": {PermView, PermEditProject, PermCreateRelease},
	"space-admin":         {PermView, PermDeploy, PermPromote, PermEditProject, PermCreateRelease, PermAdminSpace},
}

// RoleNames lists the roles in order of power.
var RoleNames = []string{"viewer", "deployer", "project-contributor", "space-admin"}

// Team is a group of users with one role in one space, optionally limited
// to some projects and environments.
type Team struct {
	ID           int64     `json:"id"`
	SpaceID      int64     `json:"-"`
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	Projects     []string  `json:"projects"`     // empty: every project
	Environments []string  `json:"environments"` // empty: every environment
	Members      []string  `json:"members"`      // user names
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// Limited reports whether the team's grant is limited to some projects or
// environments rather than covering the whole space.
func (t Team) Limited() bool { return len(t.Projects) > 0 || len(t.Environments) > 0 }

// Allows reports whether the team's grant covers perm for the project and
// environment ("" means the check is not about one).
func (t Team) Allows(perm Permission, project, env string) bool {
	if !slices.Contains(Roles[t.Role], perm) {
		return false
	}
	if project != "" && len(t.Projects) > 0 && !slices.Contains(t.Projects, project) {
		return false
	}
	if env != "" && len(t.Environments) > 0 && !slices.Contains(t.Environments, env) {
		return false
	}
	return true
}
