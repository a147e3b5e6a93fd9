package sqlstore

import (
	"fmt"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// variableAAD binds a sealed value to its variable's name.
const variableAAD = "ferry:variable:"

// storedVariable is a domain.Variable as the database holds it: a sensitive
// value is sealed, never plain. domain.Variable's own JSON drops sensitive
// values, which is right for people and wrong for storage.
type storedVariable struct {
	Name         string   `json:"name"`
	Value        string   `json:"value,omitempty"`
	Sealed       string   `json:"sealed,omitempty"`
	Sensitive    bool     `json:"sensitive,omitempty"`
	Environments []string `json:"environments"`
	Tenants      []string `json:"tenants,omitempty"`
	TenantTags   []string `json:"tenantTags,omitempty"`
}

// storedSnapshot is a domain.Snapshot with its variables sealed.
type storedSnapshot struct {
	Process   []domain.Step       `json:"process"`
	Variables []storedVariable    `json:"variables"`
	Templates []domain.Template   `json:"templates"`
	Packages  []domain.PackageRef `json:"packages,omitempty"`
	// Forward values are sealed to other spaces already.
	Spaces  []domain.SpaceRef     `json:"spaces,omitempty"`
	Forward []domain.ForwardValue `json:"forward,omitempty"`
}

func (db *DB) sealVariables(vars []domain.Variable) ([]storedVariable, error) {
	if vars == nil {
		return nil, nil
	}
	out := make([]storedVariable, len(vars))
	for i, v := range vars {
		sv := storedVariable{Name: v.Name, Sensitive: v.Sensitive, Environments: v.Environments, Tenants: v.Tenants, TenantTags: v.TenantTags}
		if v.Sensitive {
			sealed, err := db.sealer.Seal([]byte(v.Value), variableAAD+v.Name)
			if err != nil {
				return nil, fmt.Errorf("seal variable %q: %w", v.Name, err)
			}
			sv.Sealed = sealed
		} else {
			sv.Value = v.Value
		}
		out[i] = sv
	}
	return out, nil
}

func (db *DB) openVariables(stored []storedVariable) ([]domain.Variable, error) {
	if stored == nil {
		return nil, nil
	}
	out := make([]domain.Variable, len(stored))
	for i, sv := range stored {
		v := domain.Variable{Name: sv.Name, Value: sv.Value, Sensitive: sv.Sensitive, Environments: sv.Environments, Tenants: sv.Tenants, TenantTags: sv.TenantTags}
		if sv.Sensitive {
			plain, err := db.sealer.Open(sv.Sealed, variableAAD+sv.Name)
			if err != nil {
				return nil, fmt.Errorf("open variable %q: %w", sv.Name, err)
			}
			v.Value = string(plain)
		}
		out[i] = v
	}
	return out, nil
}

// encodeVariables is the JSON column value for vars, sensitive values sealed.
func (db *DB) encodeVariables(vars []domain.Variable) (string, error) {
	stored, err := db.sealVariables(vars)
	if err != nil {
		return "", err
	}
	return encodeJSON(stored)
}

func (db *DB) decodeVariables(s string) ([]domain.Variable, error) {
	var stored []storedVariable
	if err := decodeJSON(s, &stored); err != nil {
		return nil, err
	}
	return db.openVariables(stored)
}

func (db *DB) encodeSnapshot(s domain.Snapshot) (string, error) {
	vars, err := db.sealVariables(s.Variables)
	if err != nil {
		return "", err
	}
	return encodeJSON(storedSnapshot{Process: s.Process, Variables: vars, Templates: s.Templates, Packages: s.Packages, Spaces: s.Spaces, Forward: s.Forward})
}

func (db *DB) decodeSnapshot(s string) (domain.Snapshot, error) {
	var stored storedSnapshot
	if err := decodeJSON(s, &stored); err != nil {
		return domain.Snapshot{}, err
	}
	vars, err := db.openVariables(stored.Variables)
	if err != nil {
		return domain.Snapshot{}, err
	}
	return domain.Snapshot{Process: stored.Process, Variables: vars, Templates: stored.Templates, Packages: stored.Packages, Spaces: stored.Spaces, Forward: stored.Forward}, nil
}
