package release

import (
	"fmt"
	"strings"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/versions"
)

// channelFor is the channel a new release goes to: the one named, or the
// project's default; none for a project without channels.
func channelFor(p domain.Project, name string) (domain.Channel, error) {
	if name == "" {
		ch, _ := p.DefaultChannel()
		return ch, nil
	}
	if ch, ok := p.Channel(name); ok {
		return ch, nil
	}
	if len(p.Channels) == 0 {
		return domain.Channel{}, domain.Invalidf("project %q has no channel %q: it has no channels at all (declare them under `channels:` with `ferry apply`), so leave out --channel", p.Name, name)
	}
	return domain.Channel{}, domain.Invalidf("project %q has no channel %q (its channels: %s)", p.Name, name, channelNames(p))
}

// checkChannel refuses a release whose pinned packages break a rule of its
// channel, naming the package, the rule and why.
func checkChannel(p domain.Project, ch domain.Channel, r domain.Release) error {
	for _, rule := range ch.Rules {
		check, err := versions.CompileRule(rule.VersionRange, rule.Tag)
		if err != nil { // apply checked it; say so if it no longer reads
			return domain.Invalidf("channel %q of %q: the rule for package %q does not read: %v", ch.Name, p.Name, rule.Package, err)
		}
		for _, ref := range r.Snapshot.Packages {
			if ref.ID != rule.Package {
				continue
			}
			if err := check.Check(ref.Version); err != nil {
				return domain.Invalidf("release %s of %q does not fit channel %q: package %s %s breaks its rule %s: %v. Choose a version that fits, or another channel with --channel (channels: %s)",
					r.Version, p.Name, ch.Name, ref.ID, ref.Version, ruleText(rule), err, channelNames(p))
			}
		}
	}
	return nil
}

// ruleText writes a rule as YAML's flow style: {package: web, versionRange: "[1.0,2.0)", tag: "^$"}.
func ruleText(r domain.ChannelRule) string {
	parts := []string{"package: " + r.Package}
	if r.VersionRange != "" {
		parts = append(parts, fmt.Sprintf("versionRange: \"%s\"", r.VersionRange))
	}
	if r.Tag != "" {
		parts = append(parts, fmt.Sprintf("tag: \"%s\"", r.Tag))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func channelNames(p domain.Project) string {
	var names []string
	for _, ch := range p.Channels {
		n := ch.Name
		if ch.Default {
			n += " (default)"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}
