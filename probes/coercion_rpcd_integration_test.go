package probes_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/probes"
)

// rpcdConfig is a Samba instance that serves the two interfaces the shared fleet does not:
// the Print Spooler (spoolss through rpcd_spoolss, with no printer) and the File Server VSS
// Agent (FssagentRpc through rpcd_fsrvp, which needs registry shares). The shared fleet runs
// neither rpcd (and disables spoolss), so this instance is started by its test alone.
func rpcdConfig() sambatest.Config {
	return sambatest.Config{
		Name:       "rpcd",
		Global:     []string{"disable spoolss = no", "registry shares = yes", "map to guest = Bad User"},
		Shares:     sambatest.StandardShares(),
		Expect:     sambatest.Expect{MaxDialect: "3.1.1", NullSession: true, Guest: true},
		RPCDaemons: []string{"rpcd_spoolss", "rpcd_fsrvp"},
	}
}

// TestFleetCoercionSpoolerFSRVP: on a Samba that serves spoolss and FssagentRpc, the MS-RPRN
// and MS-FSRVP binds agree with impacket, and spooler_running is true.
func TestFleetCoercionSpoolerFSRVP(t *testing.T) {
	sambatest.Require(t) // skips (or fails) as the shared fleet does when Samba is unavailable
	py := impacketPython(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fleet, err := sambatest.StartFleet(ctx, sambatest.Options{Configs: []sambatest.Config{rpcdConfig()}})
	if err != nil {
		t.Fatalf("starting the rpcd instance: %v", err)
	}
	t.Cleanup(func() { _ = fleet.Stop() })
	srv := fleet.Server("rpcd")
	r := runStages(t, srv, &probes.Options{}, "guest", "coercion")
	if st := r.Stages["coercion"]; st.Status != probes.StageOK || r.RPC == nil {
		t.Fatalf("coercion stage %+v", st)
	}
	var anon []probes.RPCInterface
	for _, rec := range r.RPC.Interfaces {
		if rec.Identity == "anonymous" {
			anon = append(anon, rec)
		}
		if os.Getenv("SMBSWEEP_VERBOSE") != "" {
			t.Logf("%s \\%s %s: %s (%s)", rec.Identity, rec.Pipe, rec.Interface, rec.Outcome, rec.Evidence)
		}
	}
	oracle := impacketBinds(t, py, srv, "", "", anon)
	for _, rec := range anon {
		if want := oracle[rec.Pipe]; rec.Outcome != want {
			t.Errorf("anonymous %s \\%s: %s (%s), impacket says %s", rec.Interface, rec.Pipe, rec.Outcome, rec.Evidence, want)
		}
		if (rec.Pipe == "spoolss" || rec.Pipe == "FssagentRpc") && rec.Outcome != probes.RPCReachable {
			t.Errorf("\\%s served by rpcd: %s (%s), want reachable", rec.Pipe, rec.Outcome, rec.Evidence)
		}
	}
	checkFinding(t, r, probes.FindingSpoolerRunning, "true", "Print Spooler running")
}
