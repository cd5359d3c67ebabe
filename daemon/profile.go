package daemon

import (
	"fmt"
	"slices"
	"strings"

	"github.com/smbsweep/smbsweep/configs"
	"github.com/smbsweep/smbsweep/probes"
)

// defaultProfile is the probe profile of jobs and API scans that name none.
const defaultProfile = "default"

// profiles are the probe profiles jobs and API scans choose from: the same compiled-in
// configs/profiles.yaml that `smbsweep scan -profile` uses, so a profile means one thing
// everywhere.
var profiles = configs.BuiltinProfiles()

// profileNames returns the accepted profile names, sorted.
func profileNames() []string { return configs.ProfileNames(profiles) }

// checkProfile returns an error naming the accepted profiles when name is not one of them.
func checkProfile(name string) error {
	if _, ok := profiles[name]; ok {
		return nil
	}
	return fmt.Errorf("profile %q: want one of %s", name, strings.Join(profileNames(), ", "))
}

// profileStages returns the probe stages of a profile (configs/profiles.yaml); with credentials
// the auth stage is added to any profile.
func profileStages(profile string, withCredentials bool) []string {
	p, ok := profiles[profile]
	if !ok {
		p = profiles[defaultProfile]
	}
	names := slices.Clone(p.Stages)
	if withCredentials && !slices.Contains(names, string(probes.StageAuth)) {
		names = append(names, string(probes.StageAuth))
	}
	return names
}

// pipelineFor builds the probe pipeline of a profile (profileStages) for opts; the stat stage
// joins when opts names a share and path.
func pipelineFor(profile string, opts *probes.Options) *probes.Pipeline {
	p, err := probes.NewPipeline(profileStages(profile, opts.Credentials != nil), opts)
	if err != nil {
		panic("daemon: profile " + profile + ": " + err.Error()) // a configs test keeps profiles valid
	}
	return p
}

// stagesPipeline builds a pipeline of exactly the named stages (and what they need).
func stagesPipeline(opts *probes.Options, stages ...probes.StageName) *probes.Pipeline {
	names := make([]string, len(stages))
	for i, s := range stages {
		names[i] = string(s)
	}
	p, err := probes.NewPipeline(names, opts)
	if err != nil {
		panic("daemon: " + err.Error())
	}
	return p
}
