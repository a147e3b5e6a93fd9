# Sourced by bench/packages.sh and bench/import_memory.sh (from the repo's
# root): connect_pair sets up the two spaces they measure between.
#
# connect_pair: with $A and $B (ferry commands logged in to two servers)
# and $dir (a scratch folder), creates space Source on A and Target on B,
# has each trust the other (Source may promote to Target; Target takes
# Source's releases), and applies a lifecycle whose one phase is Target's
# environment Live and a project Bench on Source that deploys through it.
connect_pair() {
	$A space create Source >/dev/null
	$B space create Target >/dev/null
	$A space cert Source --out "$dir/source.pem" >/dev/null
	$B space cert Target --out "$dir/target.pem" >/dev/null
	$A --space Source remote-space add Target --cert "$dir/target.pem" --trust promote >/dev/null
	$B --space Target remote-space add Source --cert "$dir/source.pem" --trust releases >/dev/null
	cat >"$dir/a.yaml" <<-YAML
		remoteEnvironments: ["Target: Live"]
		lifecycles: [{name: L, phases: [{name: Live, environments: ["Target: Live"]}]}]
		projects: [{name: Bench, lifecycle: L, process: [{name: S, type: script, script: "true"}]}]
	YAML
	cat >"$dir/b.yaml" <<-YAML
		environments: [{name: Live}]
		lifecycles: [{name: L, phases: [{name: Live, environments: [Live]}]}]
	YAML
	$A --space Source apply -f "$dir/a.yaml" >/dev/null
	$B --space Target apply -f "$dir/b.yaml" >/dev/null
}
