package auth_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/auth"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/store"
)

func TestBootstrapMakesOneAdministrator(t *testing.T) {
	env := servicetest.New(t)
	keyFile := filepath.Join(env.Dir, "admin.key")
	if _, err := env.Set.Auth.Bootstrap(env.Ctx, keyFile, "short"); err == nil {
		t.Error("a bootstrap password shorter than the minimum was accepted")
	}
	made, err := env.Set.Auth.Bootstrap(env.Ctx, keyFile, "")
	if err != nil || !made {
		t.Fatalf("bootstrap: %v %v", made, err)
	}
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	key, _ := os.ReadFile(keyFile)
	a, err := env.Set.Auth.Authenticate(env.Ctx, strings.TrimSpace(string(key)))
	if err != nil || a.Name != "admin" || !a.IsAdmin {
		t.Errorf("the bootstrap key acts as %+v (%v)", a, err)
	}
	if made, err := env.Set.Auth.Bootstrap(env.Ctx, filepath.Join(env.Dir, "again.key"), ""); made || err != nil {
		t.Errorf("a second bootstrap: %v %v", made, err)
	}
	if _, err := os.Stat(filepath.Join(env.Dir, "again.key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a second bootstrap wrote a key: %v", err)
	}
}

func TestKeysAreHashedAndRevocable(t *testing.T) {
	env := servicetest.New(t)
	env.User("ci", false)
	key, err := env.Set.Auth.NewAPIKey(env.Ctx, "ci", "pipeline")
	if err != nil || !strings.HasPrefix(key, "ferry_") {
		t.Fatalf("new key %q: %v", key, err)
	}
	a, err := env.Set.Auth.Authenticate(env.Ctx, key)
	if err != nil || a.Name != "ci" || a.IsAdmin {
		t.Fatalf("authenticate: %+v %v", a, err)
	}
	keys, err := env.Set.Auth.APIKeys(env.Ctx, "ci")
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys: %+v %v", keys, err)
	}
	if strings.Contains(keys[0].Hash, strings.TrimPrefix(key, "ferry_")) || keys[0].Hash == key {
		t.Error("the key's secret is stored")
	}
	for _, bad := range []string{"", "ferry_", "ferry_" + strings.Repeat("A", 300), strings.TrimPrefix(key, "ferry_"), key + "x"} {
		if _, err := env.Set.Auth.Authenticate(env.Ctx, bad); domain.KindOf(err) != domain.KindUnauthorized {
			t.Errorf("key %q: %v", bad, err)
		}
	}
	if err := env.Set.Auth.RevokeAPIKey(env.Ctx, "ci", keys[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Set.Auth.Authenticate(env.Ctx, key); domain.KindOf(err) != domain.KindUnauthorized {
		t.Errorf("a revoked key: %v", err)
	}
}

func TestUsersManageThemselvesAdministratorsEveryone(t *testing.T) {
	env := servicetest.New(t)
	env.User("ann", false)
	env.User("bob", false)
	ann := env.As("ann")
	if _, err := env.Set.Auth.CreateUser(ann, "eve", false); domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("a user creates a user: %v", err)
	}
	if _, err := env.Set.Auth.Users(ann); domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("a user lists users: %v", err)
	}
	if err := env.Set.Auth.SetPassword(ann, "ann", "ann's own long password"); err != nil {
		t.Errorf("a user sets their password: %v", err)
	}
	if err := env.Set.Auth.SetPassword(ann, "bob", "bob's password, set by ann"); domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("a user sets another's password: %v", err)
	}
	if _, err := env.Set.Auth.NewAPIKey(ann, "bob", "x"); domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("a user makes a key for another: %v", err)
	}
	if err := env.Set.Auth.SetPassword(env.Ctx, "bob", "short"); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("a short password: %v", err)
	}
	if _, err := env.Set.Auth.CreateUser(env.Ctx, "ann", false); domain.KindOf(err) != domain.KindConflict {
		t.Errorf("a second ann: %v", err)
	}
}

func TestSignInAndSessionsEndWithThePassword(t *testing.T) {
	env := servicetest.New(t)
	env.User("ann", false)
	if err := env.Set.Auth.SetPassword(env.Ctx, "ann", "the first password"); err != nil {
		t.Fatal(err)
	}
	from := auth.Client{Address: "192.0.2.1"}
	if _, err := env.Set.Auth.SignIn(env.Ctx, "ann", "a wrong password", from); domain.KindOf(err) != domain.KindUnauthorized {
		t.Errorf("a wrong password: %v", err)
	}
	if _, err := env.Set.Auth.SignIn(env.Ctx, "nobody", "the first password", from); err == nil || err.Error() != "wrong user name or password" {
		t.Errorf("an unknown user: %v", err)
	}
	in, err := env.Set.Auth.SignIn(env.Ctx, "ann", "the first password", from)
	if err != nil || in.Session.Actor.Name != "ann" || in.Device == "" {
		t.Fatalf("sign in: %+v %v", in, err)
	}
	if a, err := env.Set.Auth.Resume(env.Ctx, in.Session); err != nil || a.Name != "ann" {
		t.Errorf("resume: %+v %v", a, err)
	}
	if err := env.Set.Auth.SetPassword(env.Ctx, "ann", "the second password"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Set.Auth.Resume(env.Ctx, in.Session); domain.KindOf(err) != domain.KindUnauthorized {
		t.Errorf("a session after a password change: %v", err)
	}
	events, err := env.Set.Audit.List(env.Ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	fails := 0
	for _, e := range events {
		if e.Action == "user.signin.fail" {
			fails++
			if strings.Contains(e.Details["address"], "password") || e.Actor != "anonymous" {
				t.Errorf("failure event %+v", e)
			}
		}
	}
	if fails != 2 {
		t.Errorf("%d failed sign-ins audited, want 2", fails)
	}
}

// TestNoUserIsTheSystem: what the server does itself is done as "system"
// (domain.System), and a trigger whose setter is "system" fires without
// checking a user's permission, so no user may be named "system": before,
// an administrator could create one, and a trigger that user set went on
// deploying after the user lost the deploy permission (and the audit log
// could not tell the user from the server). Nor may a user be named so
// that a person reads "system": in another case, in full-width letters,
// with Cyrillic or Greek look-alike letters, or with a character that
// shows nothing (before, all of these were accepted).
func TestNoUserIsTheSystem(t *testing.T) {
	env := servicetest.New(t)
	for _, name := range []string{
		domain.System.Name, "System", "SYSTEM", "sYstem",
		"ѕуѕtem", "ѕystem", "sуstеm", // Cyrillic dze, u, ie
		"ｓｙｓｔｅｍ", "ＳＹＳＴＥＭ", // full width
		"ſystem", "syste\u217f", // long s; small roman numeral one thousand
		"systern", "SYSTERN", "ꜱystem", // rn reads as m; Latin letter small capital s
	} {
		_, err := env.Set.Auth.CreateUser(env.Ctx, name, false)
		if domain.KindOf(err) != domain.KindInvalid || !strings.Contains(err.Error(), "choose another name") {
			t.Errorf("a user named %q: %v", name, err)
		}
	}
	// What shows nothing is refused in any name (domain.ValidateName).
	for _, name := range []string{"system\u200b", "sys\u00adtem", "\u2060system", "sys\u200dtem"} {
		_, err := env.Set.Auth.CreateUser(env.Ctx, name, false)
		if domain.KindOf(err) != domain.KindInvalid || !strings.Contains(err.Error(), "invisible") || !strings.Contains(err.Error(), "write the name without it") {
			t.Errorf("a user named %q: %v", name, err)
		}
	}
	for _, name := range []string{"systems", "system-admin", "sys", "stem"} {
		if _, err := env.Set.Auth.CreateUser(env.Ctx, name, false); err != nil {
			t.Errorf("a user named %q: %v", name, err)
		}
	}
	users, _ := env.Set.Auth.Users(env.Ctx)
	if len(users) != 4 {
		t.Errorf("users: %+v", users)
	}
}

// TestUserNamesThatLookAlikeAreRefused: a user name is an identity, so a
// new one that a person could take for an existing user's — another case,
// width, look-alike letters — is refused, naming the existing user and
// saying what to do; before, "Bob" was accepted beside "bob". Names that
// merely share letters are not refused.
func TestUserNamesThatLookAlikeAreRefused(t *testing.T) {
	env := servicetest.New(t)
	for _, name := range []string{"bob", "alice", "jan.kowalski", "admin"} {
		env.User(name, false)
	}
	for name, like := range map[string]string{
		"Bob": "bob", "BOB": "bob", "ｂｏｂ": "bob", "Ьob": "bob", "b0b": "bob", "bоb": "bob", // Cyrillic soft sign; zero; Cyrillic o
		"aIice": "alice", "a1ice": "alice", "аlice": "alice", "ALICE": "alice", // capital I; one; Cyrillic a
		"Jan.Kowalski": "jan.kowalski", "jan.kоwalski": "jan.kowalski",
		"adrnin": "admin", "ΑDMIN": "admin", // rn; Greek capital alpha
	} {
		_, err := env.Set.Auth.CreateUser(env.Ctx, name, false)
		want := fmt.Sprintf("user name %q is too like existing user %q", name, like)
		if domain.KindOf(err) != domain.KindConflict || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "choose another name") {
			t.Errorf("a user named %q beside %q: %v", name, like, err)
		}
	}
	if _, err := env.Set.Auth.CreateUser(env.Ctx, "bob", false); domain.KindOf(err) != domain.KindConflict {
		t.Errorf("a second bob: %v", err)
	}
	for _, name := range []string{"bobby", "rob", "alicia", "jan.kowalska", "bób"} {
		if _, err := env.Set.Auth.CreateUser(env.Ctx, name, false); err != nil {
			t.Errorf("a user named %q: %v", name, err)
		}
	}
}

// TestLookalikeUsersFromBeforeKeepWorking: a data folder from before the
// rule may hold "bob" and "Bob" (or a user "System"); both still sign in
// with their keys and act as themselves. Only new names are checked.
func TestLookalikeUsersFromBeforeKeepWorking(t *testing.T) {
	env := servicetest.New(t)
	env.User("bob", false)
	for _, name := range []string{"Bob", "System"} {
		u := domain.User{Name: name}
		if err := env.Store.Users().Create(env.Ctx, &u); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"bob", "Bob", "System"} {
		key, err := env.Set.Auth.NewAPIKey(env.Ctx, name, "laptop")
		if err != nil {
			t.Fatalf("key of %q: %v", name, err)
		}
		if a, err := env.Set.Auth.Authenticate(env.Ctx, key); err != nil || a.Name != name {
			t.Errorf("%q signs in as %+v (%v)", name, a, err)
		}
		if err := env.Set.Auth.SetPassword(env.Ctx, name, "a long password "+name); err != nil {
			t.Errorf("password of %q: %v", name, err)
		}
	}
}
