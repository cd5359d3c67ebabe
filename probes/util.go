package probes

import (
	"time"

	"github.com/smbsweep/smbsweep/wire"
)

// filetime converts a FILETIME to a JSON time; 0 ("not set") and out-of-range values are null,
// never 1601.
func filetime(ft uint64) *time.Time {
	t, ok := wire.FiletimeToTime(ft)
	if !ok {
		return nil
	}
	return &t
}
