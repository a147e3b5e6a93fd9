package release

import (
	"bytes"
	"cmp"
	"strconv"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// usesPackages reports whether a snapshot needs the ferry-snapshot/2 form:
// it selects packages or has a step with deploy-package fields.
func usesPackages(snap domain.Snapshot) bool {
	if len(snap.Packages) > 0 {
		return true
	}
	for _, s := range snap.Process {
		if s.Type == domain.StepDeployPackage || s.Package != "" || s.Destination != "" || len(s.Substitute) > 0 || s.PreDeploy != "" || s.PostDeploy != "" {
			return true
		}
	}
	return false
}

// canonicalPackage is {"id":s,"sha256":s,"size":n,"version":s}.
func canonicalPackage(p domain.PackageRef) []byte {
	var b bytes.Buffer
	b.WriteString(`{"id":`)
	writeString(&b, p.ID)
	b.WriteString(`,"sha256":`)
	writeString(&b, p.SHA256)
	b.WriteString(`,"size":`)
	b.WriteString(strconv.FormatInt(p.Size, 10))
	b.WriteString(`,"version":`)
	writeString(&b, p.Version)
	b.WriteByte('}')
	return b.Bytes()
}

func comparePackages(x, y domain.PackageRef) int {
	if c := cmp.Compare(x.ID, y.ID); c != 0 {
		return c
	}
	return cmp.Compare(x.Version, y.Version)
}

// canonicalPackageStep is a step in the ferry-snapshot/2 form:
//
//	{"destination":s,"environments":[...],"name":s,"package":s,"postDeploy":s,
//	 "preDeploy":s,"script":s,"substitute":[...],"timeoutSeconds":n,"type":s}
//
// substitute keeps its order (files are substituted in that order). A step
// scoped to tenants adds "tenantTags":[...] and "tenants":[...] (sets) in
// their sorted places, as in the first form: which deployments run a step
// is part of what a release is.
func canonicalPackageStep(s domain.Step) []byte {
	var b bytes.Buffer
	b.WriteString(`{"destination":`)
	writeString(&b, s.Destination)
	b.WriteString(`,"environments":`)
	writeStrings(&b, scopeSet(s.Environments))
	writeParallelism(&b, s)
	b.WriteString(`,"name":`)
	writeString(&b, s.Name)
	b.WriteString(`,"package":`)
	writeString(&b, s.Package)
	b.WriteString(`,"postDeploy":`)
	writeString(&b, s.PostDeploy)
	b.WriteString(`,"preDeploy":`)
	writeString(&b, s.PreDeploy)
	writeRoles(&b, s)
	b.WriteString(`,"script":`)
	writeString(&b, s.Script)
	writeSkip(&b, s)
	b.WriteString(`,"substitute":`)
	writeStrings(&b, s.Substitute)
	writeTenantScope(&b, s.Tenants, s.TenantTags)
	b.WriteString(`,"timeoutSeconds":`)
	b.WriteString(strconv.Itoa(s.TimeoutSeconds))
	b.WriteString(`,"type":`)
	writeString(&b, s.Type)
	b.WriteByte('}')
	return b.Bytes()
}

// canonicalForward is {"environments":[...],"for":s,"name":s,"sealed":s}:
// the ciphertext is stored and passed on, so the digest covers it.
func canonicalForward(f domain.ForwardValue) []byte {
	var b bytes.Buffer
	b.WriteString(`{"environments":`)
	writeStrings(&b, scopeSet(f.Environments))
	b.WriteString(`,"for":`)
	writeString(&b, f.For)
	b.WriteString(`,"name":`)
	writeString(&b, f.Name)
	b.WriteString(`,"sealed":`)
	writeString(&b, f.Sealed)
	b.WriteByte('}')
	return b.Bytes()
}

func compareForward(x, y domain.ForwardValue) int {
	if c := cmp.Compare(x.Name, y.Name); c != 0 {
		return c
	}
	return cmp.Compare(x.For, y.For)
}

// canonicalSpace is {"fingerprint":s,"space":s}.
func canonicalSpace(r domain.SpaceRef) []byte {
	var b bytes.Buffer
	b.WriteString(`{"fingerprint":`)
	writeString(&b, r.Fingerprint)
	b.WriteString(`,"space":`)
	writeString(&b, r.Space)
	b.WriteByte('}')
	return b.Bytes()
}
