package bench

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/variables"
)

// smallScript is a typical deployment step: about 20 lines, 10 references.
const smallScript = `#!/bin/bash
set -euo pipefail

# Deploy #{Ferry.Project.Name} release #{Ferry.Release.Number}
echo "Deploying to #{Ferry.Environment.Name}"
export APP_ENV="#{Ferry.Environment.Name | ToLower}"
export DB_URL="#{DbUrl}"
export API_TOKEN="#{ApiToken}"

cd /opt/#{Ferry.Project.Name}
tar -xzf package.tar.gz

#{if RunMigrations}
./migrate --url "$DB_URL"
#{/if}

systemctl restart #{ServiceName}
curl -fsS "#{HealthUrl}" > /dev/null
echo "Deployment #{Ferry.Deployment.Id} done"
`

func smallSet() *variables.Set {
	s := variables.NewSet()
	s.Set("Ferry.Project.Name", "shop", false)
	s.Set("Ferry.Release.Number", "1.4.2", false)
	s.Set("Ferry.Environment.Name", "Staging", false)
	s.Set("Ferry.Deployment.Id", "Deployments-42", false)
	s.Set("DbHost", "db.staging.internal", false)
	s.Set("DbUrl", "postgres://shop@#{DbHost}/shop", false)
	s.Set("ApiToken", "tok-7f3a9c", true)
	s.Set("RunMigrations", "True", false)
	s.Set("ServiceName", "shop-web", false)
	s.Set("HealthUrl", "https://#{Ferry.Environment.Name | ToLower}.shop.example/health", false)
	return s
}

func BenchmarkSubstituteSmallScript(b *testing.B) {
	s := smallSet()
	b.SetBytes(int64(len(smallScript)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := variables.Substitute(smallScript, s); err != nil {
			b.Fatal(err)
		}
	}
}

// largeConfig builds a 1 MiB config file with about 10,000 references, an
// #{if} block every 100 lines and an #{each} block every 500 lines.
func largeConfig() (string, *variables.Set) {
	s := variables.NewSet()
	for i := 0; i < 100; i++ {
		s.Set(fmt.Sprintf("App.Setting.%d", i), fmt.Sprintf("value-%d", i), false)
	}
	s.Set("Feature.Enabled", "True", false)
	s.Set("Servers", "web1, web2, web3, web4, web5, web6, web7, web8", false)
	s.Set("Port", "8080", false)

	var b strings.Builder
	for i := 0; b.Len() < 1<<20; i++ {
		switch {
		case i%500 == 499:
			b.WriteString("#{each server in Servers}\nupstream_#{Ferry.Template.Each.Index} = \"#{server}:#{Port}\"\n#{/each}\n")
		case i%100 == 99:
			fmt.Fprintf(&b, "#{if Feature.Enabled}\nfeature_%d = on\n#{else}\nfeature_%d = off\n#{/if}\n", i, i)
		default:
			fmt.Fprintf(&b, "setting_%06d = \"#{App.Setting.%d}\" # %s\n", i, i%100, strings.Repeat("-", 60))
		}
	}
	return b.String(), s
}

func BenchmarkSubstituteLargeFile(b *testing.B) {
	text, s := largeConfig()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := variables.Substitute(text, s); err != nil {
			b.Fatal(err)
		}
	}
}

// resolveCandidates returns 10,000 candidates: 500 names, each with an
// unscoped value and values scoped to 19 of 20 environments, a quarter of
// those also scoped to a tenant.
func resolveCandidates() []variables.Candidate {
	envs := make([]string, 20)
	for i := range envs {
		envs[i] = fmt.Sprintf("Env%02d", i)
	}
	cands := make([]variables.Candidate, 0, 10000)
	for n := 0; n < 500; n++ {
		name := fmt.Sprintf("Project.Variable.%03d", n)
		cands = append(cands, variables.Candidate{Name: name, Value: "default"})
		for e := 1; e < 20; e++ {
			c := variables.Candidate{
				Name:  name,
				Value: fmt.Sprintf("%s-%d", envs[e], n),
				Scope: variables.Scope{Environments: []string{envs[e]}},
			}
			if e%4 == 0 {
				c.Scope.Tenants = []string{"acme"}
			}
			cands = append(cands, c)
		}
	}
	return cands
}

func BenchmarkResolve10kVariables(b *testing.B) {
	cands := resolveCandidates()
	ctx := variables.Context{Environment: "Env08", Tenant: "acme"}
	b.ReportAllocs()
	for b.Loop() {
		if got := variables.Resolve(cands, ctx); len(got.Names()) != 500 {
			b.Fatalf("resolved %d names, want 500", len(got.Names()))
		}
	}
}

func BenchmarkMask(b *testing.B) {
	s := variables.NewSet()
	for i := 0; i < 100; i++ {
		s.Set(fmt.Sprintf("Secret%d", i), fmt.Sprintf("s3cr3t-%03d-%08x", i, i*2654435761), true)
	}
	m := s.Masker()
	secret, _ := s.Get("Secret42")
	line := "2026-01-02T03:04:05Z INFO connecting to db with password " + secret + " as user shop; "
	line += strings.Repeat("x", 200-len(line))
	if masked := m.Mask(line); strings.Contains(masked, secret) {
		b.Fatalf("secret not masked: %q", masked)
	}
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		m.Mask(line)
	}
}
