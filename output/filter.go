package output

import "github.com/smbsweep/smbsweep/probes"

// SMBOnly wraps a sink so that it receives only the records of hosts that answered SMB (status
// "smb"), like nmap's --open: `scan -smb-only`. The summary passes unchanged, so it still counts
// every target; the metrics are fed from the unfiltered stream.
func SMBOnly(s Sink) Sink { return smbOnly{s} }

type smbOnly struct{ Sink }

func (f smbOnly) WriteResult(r *probes.Result) error {
	if r.Status != probes.StatusSMB {
		return nil
	}
	return f.Sink.WriteResult(r)
}
