package cli

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/client"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/server"
)

// Connection settings come, strongest first, from flags, FERRY_*
// variables, the profile in use (saved by `ferry login`), and defaults.

const defaultServer = "http://127.0.0.1:8080"

// profile is one saved connection: what `ferry login` checked and wrote.
type profile struct {
	Server            string `json:"server"`
	APIKey            string `json:"apiKey"`
	Space             string `json:"space,omitempty"`
	ServerFingerprint string `json:"serverFingerprint,omitempty"`
}

// profiles is the file $XDG_CONFIG_HOME/ferry/profiles.json (mode 0600),
// documented in docs/operations.md#the-cli-s-profiles.
type profiles struct {
	SchemaVersion int                `json:"schemaVersion"`
	Current       string             `json:"current"`
	Profiles      map[string]profile `json:"profiles"`
}

func profilesPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no folder for the CLI's settings: %w", err)
	}
	return filepath.Join(dir, "ferry", "profiles.json"), nil
}

func loadProfiles() (profiles, error) {
	ps := profiles{SchemaVersion: 1, Profiles: map[string]profile{}}
	path, err := profilesPath()
	if err != nil {
		return ps, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return ps, nil
	}
	if err != nil {
		return ps, err
	}
	if err := json.Unmarshal(data, &ps); err != nil {
		return ps, fmt.Errorf("read %s: %w (fix it, or remove it and run `ferry login` again)", path, err)
	}
	if ps.Profiles == nil {
		ps.Profiles = map[string]profile{}
	}
	return ps, nil
}

func (ps profiles) save() error {
	path, err := profilesPath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	data, err := json.MarshalIndent(ps, "", "  ")
	if err != nil {
		return err
	}
	return writePrivateFile(path, append(data, '\n'))
}

// profileName is the profile asked for: --profile, FERRY_PROFILE, or the
// current one.
func (a *app) profileName(ps profiles) string {
	if a.profile != "" {
		return a.profile
	}
	if ps.Current != "" {
		return ps.Current
	}
	return "default"
}

// useProfile fills the connection settings that neither a flag nor a
// FERRY_* variable gave from the profile in use. It runs once.
func (a *app) useProfile(root *cobra.Command) error {
	if a.profileRead {
		return nil
	}
	a.profileRead = true
	ps, err := loadProfiles()
	if errors.Is(err, fs.ErrPermission) && a.profile == "" {
		return nil // a folder this user may not read (sudo -u) holds no profile of theirs
	}
	if err != nil {
		return err
	}
	name := a.profileName(ps)
	p, ok := ps.Profiles[name]
	if !ok {
		if a.profile != "" {
			return exitError{kind: api.KindNotFound, msg: fmt.Sprintf("no profile %q%s; save one with `ferry login --profile %s --server URL --api-key KEY`", name, knownProfiles(ps), name)}
		}
		return nil
	}
	given := func(flag, env string) bool {
		f := root.PersistentFlags().Lookup(flag)
		return (f != nil && f.Changed) || os.Getenv(env) != ""
	}
	for _, s := range []struct {
		flag, env string
		to        *string
		value     string
	}{
		{"server", "FERRY_SERVER", &a.server, p.Server},
		{"api-key", "FERRY_API_KEY", &a.apiKey, p.APIKey},
		{"space", "FERRY_SPACE", &a.space, p.Space},
		{"server-fingerprint", "FERRY_SERVER_FINGERPRINT", &a.pin, p.ServerFingerprint},
	} {
		if !given(s.flag, s.env) && s.value != "" {
			*s.to = s.value
		}
	}
	return nil
}

func knownProfiles(ps profiles) string {
	if len(ps.Profiles) == 0 {
		return ""
	}
	names := make([]string, 0, len(ps.Profiles))
	for n := range ps.Profiles {
		names = append(names, n)
	}
	slices.Sort(names)
	return " (profiles: " + strings.Join(names, ", ") + ")"
}

// serverURL makes --server a URL. Without a scheme, a loopback address
// is taken as http:// and any other as https://, so that an API key never
// crosses a network in clear text by a guess.
func serverURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return defaultServer, nil
	}
	if !strings.Contains(s, "://") {
		host := strings.TrimRight(s, "/")
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		scheme := "https://"
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			scheme = "http://"
		}
		s = scheme + s
	}
	u, err := url.Parse(s)
	bad := err != nil || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.RawQuery != "" || u.Fragment != ""
	if !bad && u.Port() != "" {
		_, perr := net.LookupPort("tcp", u.Port())
		bad = perr != nil
	}
	if bad {
		why := ""
		if strings.ContainsAny(s, "@?#") {
			why = " (a user, password, query or fragment is not taken: the API key goes in --api-key or FERRY_API_KEY)"
		}
		return "", usagef("--server %q is not a server URL%s: give http://HOST:PORT or https://HOST:PORT (for example %s)", shownURL(s), why, defaultServer)
	}
	return strings.TrimRight(s, "/"), nil
}

// shownURL is s fit to print: a user and password (where a key put by
// mistake would be), a query and a fragment are replaced by "***".
func shownURL(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i+1] + "***"
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		scheme, rest = "", s
	} else {
		scheme += "://"
	}
	authority, path, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		authority = "***" + authority[i:]
	}
	if path != "" || strings.Contains(rest, "/") {
		authority += "/" + path
	}
	return scheme + authority
}

// explain turns a failure to reach the server into what happened and the
// command to run next: HTTPS spoken to a plain-HTTP server or the other
// way round, or a certificate no authority of this machine signed.
func (a *app) explain(err error) error {
	if client.KindOf(err) != api.KindUnreachable {
		return err
	}
	u, perr := url.Parse(a.server)
	if perr != nil {
		return err
	}
	var verify *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var record tls.RecordHeaderError
	switch {
	case errors.As(err, &verify) && len(verify.UnverifiedCertificates) > 0 && (errors.As(err, &unknown) || isSelfSigned(verify.UnverifiedCertificates[0])):
		fp := identity.Fingerprint(verify.UnverifiedCertificates[0].Raw)
		return exitError{kind: api.KindUnreachable, msg: fmt.Sprintf(
			"the server at %s has a TLS certificate that no authority this machine trusts has signed (a self-signed one, as `ferry server --tls-generate` makes).\n"+
				"Its SHA-256 fingerprint is %s.\nCompare it with the one the server logged at start (\"tls fingerprint\"); if they are the same, pin it:\n"+
				"  ferry login --server %s --server-fingerprint %s\n(or add --server-fingerprint to each command, or set FERRY_SERVER_FINGERPRINT)",
			a.server, fp, a.server, fp)}
	case (errors.As(err, &record) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")) && u.Scheme == "https":
		u.Scheme = "http"
		return exitError{kind: api.KindUnreachable, msg: fmt.Sprintf("the server at %s speaks plain HTTP, not HTTPS: use --server %s (or start it with --tls-generate or --tls-cert/--tls-key for HTTPS)", a.server, u)}
	case strings.Contains(err.Error(), "speaks HTTPS") && u.Scheme == "http":
		u.Scheme = "https"
		return exitError{kind: api.KindUnreachable, msg: fmt.Sprintf("the server at %s speaks HTTPS, not plain HTTP: use --server %s (with --server-fingerprint FP when its certificate is self-signed)", a.server, u)}
	}
	return err
}

func isSelfSigned(c *x509.Certificate) bool {
	return c.CheckSignatureFrom(c) == nil
}

// versionInfo is what `ferry version` prints.
type versionInfo struct {
	Client      string `json:"client"`
	Platform    string `json:"platform"`
	Server      string `json:"server,omitempty"`
	ServerURL   string `json:"serverUrl"`
	ServerError string `json:"serverError,omitempty"`
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the client's version and, when it answers, the server's",
		Example: `  ferry version -o json
  ferry --version`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.printVersion(cmd) },
	}
}

func (a *app) printVersion(cmd *cobra.Command) error {
	v := versionInfo{Client: server.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, ServerURL: a.server}
	c, err := a.client()
	if err == nil {
		var h api.Health
		h, err = c.Health(cmd.Context())
		v.Server = h.Version
		if err == nil && v.Server == "" {
			v.Server = "unknown (a server older than `ferry version`)"
		}
	}
	if err != nil {
		v.ServerError = a.explain(err).Error()
	}
	return a.render(v, func(w io.Writer) {
		fmt.Fprintf(w, "client: ferry %s %s\n", v.Client, v.Platform)
		if v.ServerError != "" {
			fmt.Fprintf(w, "server: %s: not reachable: %s\n", v.ServerURL, v.ServerError)
			return
		}
		fmt.Fprintf(w, "server: %s: ferry %s\n", v.ServerURL, v.Server)
	})
}

// loggedIn is what `ferry login` prints with -o json.
type loggedIn struct {
	Profile string `json:"profile"`
	Server  string `json:"server"`
	Space   string `json:"space"`
	File    string `json:"file"`
}

func (a *app) loginCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "login --server URL --api-key KEY [--space S] [--server-fingerprint FP] [--profile NAME]",
		Short: "Check and save connection settings, so later commands need no flags",
		Long: `Checks that the server answers and takes the API key, then saves the server,
key, space and pinned fingerprint as a profile (default "default") in
$XDG_CONFIG_HOME/ferry/profiles.json (mode 0600) and makes it the current one.
Later commands use it; flags and FERRY_* variables still win.`,
		Example: `  ferry login --server https://ferry.example.com:8443 --api-key "$KEY" --server-fingerprint AB:CD:...
  ferry login --profile prod --server https://prod.example.com:8443 --api-key "$PROD_KEY" --space "Prod Space"
  ferry profile use prod`,
		Args: cobra.NoArgs,
	}
	return do(a, cmd, func(x call) error {
		if _, err := x.GetSpace(x, a.space); err != nil {
			return err
		}
		ps, err := loadProfiles()
		if err != nil {
			return err
		}
		name := a.profile
		if name == "" {
			name = "default"
		}
		key := a.apiKey
		if key == "" {
			key = a.localAdminKey()
		}
		ps.Profiles[name] = profile{Server: a.server, APIKey: key, Space: a.space, ServerFingerprint: a.pin}
		ps.Current = name
		if err := ps.save(); err != nil {
			return err
		}
		path, _ := profilesPath()
		return a.render(loggedIn{Profile: name, Server: a.server, Space: a.space, File: path}, func(w io.Writer) {
			fmt.Fprintf(w, "Logged in to %s, space %q: saved as profile %q in %s\n", a.server, a.space, name, path)
		})
	})
}

func (a *app) logoutCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "logout [--profile NAME]",
		Short: "Forget a saved profile (the current one by default)",
		Example: `  ferry logout
  ferry logout --profile prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ps, err := loadProfiles()
			if err != nil {
				return err
			}
			name := a.profileName(ps)
			if _, ok := ps.Profiles[name]; !ok {
				return exitError{kind: api.KindNotFound, msg: fmt.Sprintf("no profile %q%s", name, knownProfiles(ps))}
			}
			delete(ps.Profiles, name)
			if ps.Current == name {
				ps.Current = ""
			}
			if err := ps.save(); err != nil {
				return err
			}
			return a.render(map[string]string{"removed": name}, func(w io.Writer) { fmt.Fprintf(w, "Removed profile %q\n", name) })
		},
	}
}

// profileRow is one profile as `ferry profile list` shows it (no key).
type profileRow struct {
	Name              string `json:"name"`
	Current           bool   `json:"current"`
	Server            string `json:"server"`
	Space             string `json:"space,omitempty"`
	ServerFingerprint string `json:"serverFingerprint,omitempty"`
}

func (a *app) profileCommand() *cobra.Command {
	list := &cobra.Command{Use: "list", Short: "List saved profiles (keys are not shown)", Args: cobra.NoArgs,
		Example: "  ferry profile list\n  ferry profile list -o json",
		RunE: func(cmd *cobra.Command, args []string) error {
			ps, err := loadProfiles()
			if err != nil {
				return err
			}
			rows := []profileRow{}
			for name, p := range ps.Profiles {
				rows = append(rows, profileRow{Name: name, Current: name == ps.Current, Server: p.Server, Space: p.Space, ServerFingerprint: p.ServerFingerprint})
			}
			slices.SortFunc(rows, func(x, y profileRow) int { return strings.Compare(x.Name, y.Name) })
			return a.render(rows, func(w io.Writer) {
				rowsOf := make([][]string, len(rows))
				for i, r := range rows {
					mark := ""
					if r.Current {
						mark = "*"
					}
					rowsOf[i] = []string{mark, r.Name, r.Server, r.Space}
				}
				table(w, "\tPROFILE\tSERVER\tSPACE", rowsOf)
			})
		}}
	use := &cobra.Command{Use: "use NAME", Short: "Make a saved profile the current one", Args: cobra.ExactArgs(1),
		Example: "  ferry profile use prod",
		RunE: func(cmd *cobra.Command, args []string) error {
			ps, err := loadProfiles()
			if err != nil {
				return err
			}
			if _, ok := ps.Profiles[args[0]]; !ok {
				return exitError{kind: api.KindNotFound, msg: fmt.Sprintf("no profile %q%s", args[0], knownProfiles(ps))}
			}
			ps.Current = args[0]
			if err := ps.save(); err != nil {
				return err
			}
			return a.render(map[string]string{"current": args[0]}, func(w io.Writer) { fmt.Fprintf(w, "Using profile %q\n", args[0]) })
		}}
	return group("profile", "Saved connection settings (see 'ferry login')", list, use)
}
