package sweep

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/scanner"
	"github.com/smbsweep/smbsweep/wire"
)

// startNmbd runs Samba's nmbd answering NBSTAT on addr (a loopback address of the fleet, so
// it is on an interface), with the given names, until the test ends.
func startNmbd(t *testing.T, addr, netbiosName, workgroup string) {
	t.Helper()
	bin := "/usr/sbin/nmbd"
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv(sambatest.EnvRequire) == "1" {
			t.Fatalf("nmbd: %v", err)
		}
		t.Skipf("nmbd: %v", err)
	}
	dir := t.TempDir()
	for _, d := range []string{"lock", "state", "cache", "private"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`[global]
  netbios name = %s
  workgroup = %s
  interfaces = %s/8
  bind interfaces only = yes
  lock directory = %[4]s/lock
  state directory = %[4]s/state
  cache directory = %[4]s/cache
  private dir = %[4]s/private
  pid directory = %[4]s
  log file = %[4]s/nmbd.log
  local master = yes
  domain master = no
  disable netbios = no
`, netbiosName, workgroup, addr, dir)
	confPath := filepath.Join(dir, "smb.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-F", "--no-process-group", "-s", confPath)
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	// Ready once it answers a NODE STATUS query.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.Dial("udp4", net.JoinHostPort(addr, "137"))
		if err == nil {
			_, _ = c.Write(wire.AppendNBStatRequest(nil, 1))
			_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			var b [2048]byte
			n, err := c.Read(b[:])
			c.Close()
			if err == nil && wire.NBStatResponse(b[:n]).Validate() == nil {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "nmbd.log"))
	t.Fatalf("nmbd did not answer NBSTAT on %s:137 within 15s; log:\n%s", addr, log)
}

// TestNBStatAgainstNmbd: the nbstat stage reads a real nmbd's names (the fleet's default
// server's address) and derives the computer name and workgroup; a loopback address without
// a name service answers "unreachable" at once, never a failure or an incomplete record.
func TestNBStatAgainstNmbd(t *testing.T) {
	fleet := sambatest.Require(t)
	srv := fleet.Server("default")
	p, err := probes.NewPipeline([]string{"negotiate", "nbstat"}, &probes.Options{Dialer: &scanner.Dialer{ConnectTimeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Before nmbd runs (it binds 0.0.0.0:137), a loopback address has no name service: ICMP
	// port unreachable, decided at once.
	if pc, err := net.ListenPacket("udp4", "0.0.0.0:137"); err == nil {
		pc.Close()
		start := time.Now()
		r := p.Run(ctx, probes.Target{Addr: fleet.Closed.Addr(), Port: fleet.Closed.Port()})
		if nb := r.NBStat; nb == nil || nb.Answered == nil || *nb.Answered || time.Since(start) > 900*time.Millisecond {
			t.Errorf("no name service: nbstat %+v after %s", nb, time.Since(start))
		}
	}

	startNmbd(t, srv.Addr.String(), "NBSTATTEST", "SWEEPWG")
	r := p.Run(ctx, probes.Target{Addr: srv.Addr, Port: srv.Port})
	nb := r.NBStat
	if nb == nil || nb.Answered == nil || !*nb.Answered {
		t.Fatalf("nbstat %+v, stages %+v", nb, r.Stages)
	}
	if nb.ComputerName == nil || *nb.ComputerName != "NBSTATTEST" || nb.Workgroup == nil || *nb.Workgroup != "SWEEPWG" {
		t.Errorf("computer %v, workgroup %v; names %+v", nb.ComputerName, nb.Workgroup, nb.Names)
	}
	if nb.DomainController == nil || *nb.DomainController || len(nb.Names) < 4 || nb.MAC == nil {
		t.Errorf("dc %v, %d names, mac %v", nb.DomainController, len(nb.Names), nb.MAC)
	}
	if st := r.Stages["nbstat"]; st.Status != probes.StageOK || len(r.Incomplete) != 0 {
		t.Errorf("stage %+v, incomplete %v", st, r.Incomplete)
	}

}
