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

// pipelineFor builds the probe pipeline of a profile:
//
//	quick    negotiate and the dedicated SMB1 probe only (dialect, signing, SMB1)
//	default  the scan pipeline: negotiate, smb1, null session, IPC$ and shares, stat
//	full     everything probes offers (for now the same as default)
func pipelineFor(profile string, opts *probes.Options) *probes.Pipeline {
	p := probes.DefaultPipeline(opts)
	if profile == "quick" {
		return pickStages(p, "negotiate", "smb1")
	}
	return p
}

// pickStages returns a pipeline with the named stages of p, in p's order. Stages whose Needs
// are not picked are skipped with a reason by the pipeline itself, so callers pick closed sets.
func pickStages(p *probes.Pipeline, names ...string) *probes.Pipeline {
	out := &probes.Pipeline{Opts: p.Opts}
	for _, st := range p.Stages {
		if slices.Contains(names, st.Name) {
			out.Stages = append(out.Stages, st)
		}
	}
	return out
}
