package daemon

import (
	"context"
	"errors"
	"net/netip"
)

// maxNetworkLines bounds the networks Networks lists per job.
const maxNetworkLines = 50

// Networks lists what the job scans as of now — its targets, the targets file as it reads
// today, minus the exclusions — one range or name per entry (scanner.TargetSet.Describe), and
// the number of targets. Names are not resolved (they are at each run), so listing sends no
// packet; an excluded address a name resolves to is dropped only then.
func (j *Job) Networks() (lines []string, targets uint64, err error) {
	b, err := j.targets()
	if err != nil {
		return nil, 0, err
	}
	set, err := b.Build(context.Background(), noLookup{})
	if err != nil {
		return nil, 0, err
	}
	return set.Describe(maxNetworkLines), set.Len(), nil
}

// noLookup resolves nothing: config check must not send DNS queries.
type noLookup struct{}

func (noLookup) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return nil, errors.New("not resolved by config check")
}
