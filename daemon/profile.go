package daemon

import (
	"fmt"
	"slices"
	"strings"

	"github.com/smbsweep/smbsweep/probes"
)

// DefaultProfile is the probe profile of jobs and API scans that name none.
const DefaultProfile = "default"

// profileNames is the one place that knows which probe profiles exist. It will follow
// probes' own profile list once that lands (issue 5 note: switch here, nowhere else).
var profileNames = []string{"quick", "default", "full"}

// ProfileNames returns the accepted profile names.
func ProfileNames() []string { return slices.Clone(profileNames) }

// checkProfile returns an error naming the accepted profiles when name is not one of them.
func checkProfile(name string) error {
	if slices.Contains(profileNames, name) {
		return nil
	}
	return fmt.Errorf("profile %q: want one of %s", name, strings.Join(profileNames, ", "))
}

// profileStages returns the probe stages of a profile:
//
//	quick    negotiate and the dedicated SMB1 probe only (dialect, signing, SMB1)
//	default  probes.DefaultStages: negotiate, smb1, null session, IPC$ and shares, SRVSVC share list
//	full     every stage probes has (dialect enumeration, guest, access checks, and the
//	         credentialed auth/ls/read stages, which skip themselves without credentials)
//
// With credentials the auth stage is added to any profile.
func profileStages(profile string, withCredentials bool) []string {
	var names []string
	switch profile {
	case "quick":
		names = []string{"negotiate", "smb1"}
	case "full":
		names = probes.StageNames()
	default:
		names = slices.Clone(probes.DefaultStages)
	}
	if withCredentials && !slices.Contains(names, "auth") {
		names = append(names, "auth")
	}
	return names
}

// pipelineFor builds the probe pipeline of a profile (profileStages) for opts; the stat stage
// joins when opts names a share and path.
func pipelineFor(profile string, opts *probes.Options) *probes.Pipeline {
	p, err := probes.NewPipeline(profileStages(profile, opts.Credentials != nil), opts)
	if err != nil {
		panic("daemon: profile " + profile + ": " + err.Error()) // stage names come from probes itself
	}
	return p
}

// stagesPipeline builds a pipeline of exactly the named stages (and what they need).
func stagesPipeline(opts *probes.Options, names ...string) *probes.Pipeline {
	p, err := probes.NewPipeline(names, opts)
	if err != nil {
		panic("daemon: " + err.Error())
	}
	return p
}
