package variables

import (
	"regexp"
	"strconv"
)

// version is a version string split as Octopus splits it (its
// OctopusVersionParser): [v]MAJOR[.MINOR[.PATCH[.REVISION]]][-PRERELEASE][+METADATA],
// where the prerelease is PREFIX[.|-|_COUNTER].
type version struct {
	major, minor, patch, revision          string
	release, releasePrefix, releaseCounter string
	metadata                               string
}

var versionRE = regexp.MustCompile(`^\s*(?:\s*(?P<prefix>v|V)?\s*(?P<major>\d+)\s*(?:\.\s*(?P<minor>\d+)\s*)?(?:\.\s*(?P<patch>\d+)\s*)?(?:\.\s*(?P<revision>\d+)\s*)?)?(?:[.\-_\\])?(?P<prerelease>(?P<prereleaseprefix>[A-Za-z0-9]*?)(?:[.\-_\\](?P<prereleasecounter>[A-Za-z0-9.\-_\\]*?)?)?)?(?:\+(?P<buildmetadata>[A-Za-z0-9_\-.\\+]*?))?\s*$`)

func parseVersion(s string) (version, bool) {
	if len(s) == 0 || len(s) > 4096 {
		return version{}, false
	}
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return version{}, false
	}
	group := func(name string) string { return m[versionRE.SubexpIndex(name)] }
	num := func(name string) (string, bool) {
		g := group(name)
		if g == "" {
			return "0", true
		}
		n, err := strconv.ParseInt(g, 10, 32)
		return strconv.FormatInt(n, 10), err == nil
	}
	var v version
	var ok [4]bool
	v.major, ok[0] = num("major")
	v.minor, ok[1] = num("minor")
	v.patch, ok[2] = num("patch")
	v.revision, ok[3] = num("revision")
	if !ok[0] || !ok[1] || !ok[2] || !ok[3] {
		return version{}, false
	}
	v.release, v.releasePrefix, v.releaseCounter = group("prerelease"), group("prereleaseprefix"), group("prereleasecounter")
	v.metadata = group("buildmetadata")
	return v, true
}

func versionPart(part func(version) string) filterFunc {
	return func(_ *evaluator, arg string, hasArg bool, _ []string) (string, bool, string) {
		if !hasArg {
			return "", false, noInput
		}
		v, ok := parseVersion(arg)
		if !ok || isBlank(arg) {
			return "", false, "the input is not a version"
		}
		return part(v), true, ""
	}
}

func isBlank(s string) bool {
	for _, r := range s {
		if !isWS(r) {
			return false
		}
	}
	return true
}
