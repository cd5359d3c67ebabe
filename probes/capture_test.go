//go:build capture

package probes_test

// Captures golden files for the codec tests from the real Samba fleet:
//
//	SMBSWEEP_REQUIRE_SAMBA=1 go test -tags capture -run TestCaptureGoldens ./probes
//
// (make goldens). Every message the pipeline receives is written, under a name saying which
// server configuration produced it and what it is, to the testdata of the package that decodes
// it; the README next to them records the server version.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/spnego"
)

func TestCaptureGoldens(t *testing.T) {
	fleet := sambatest.Require(t)
	version := "unknown"
	if out, err := exec.Command("smbd", "-V").Output(); err == nil {
		version = strings.TrimSpace(string(out))
	}
	type capture struct {
		server string
		opts   probes.Options
	}
	for _, c := range []capture{
		{"default", probes.Options{Shares: []string{"public"}, StatShare: "public", StatPath: "docs/manual.txt"}},
		{"nonull", probes.Options{Shares: []string{"nosuchshare"}}},
		{"encrypt", probes.Options{}},
		{"smb2_10", probes.Options{}},
	} {
		var msgs [][]byte
		opts := c.opts
		opts.Trace = func(_ probes.Target, conn string, dir transport.Direction, msg []byte) {
			if dir == transport.Received && conn == "smb2" {
				msgs = append(msgs, append([]byte(nil), msg...))
			}
		}
		r := scanOne(t, &opts, fleet.Server(c.server).AddrPort(), 10*time.Second)
		if r.Status != probes.StatusSMB {
			t.Fatalf("%s: %s", c.server, r.Error)
		}
		counts := map[string]int{}
		for _, m := range msgs {
			var h wire.Header
			if err := wire.DecodeHeader(m, &h); err != nil {
				t.Fatal(err)
			}
			name := strings.ToLower(strings.ReplaceAll(h.Command.String(), "_", "-"))
			if h.Status != wire.StatusSuccess {
				name += "-" + strings.ToLower(strings.TrimPrefix(h.Status.String(), "STATUS_"))
				name = strings.ReplaceAll(name, "_", "-")
			}
			counts[name]++
			if counts[name] > 1 {
				name += fmt.Sprint(counts[name])
			}
			write(t, "../wire/testdata", fmt.Sprintf("samba-%s-%s.bin", c.server, name), m)
			if h.Command == wire.CmdSessionSetup && h.Status == wire.StatusMoreProcessingRequired {
				buf := wire.SessionSetupResponse(m).SecurityBuffer()
				write(t, "../wire/spnego/testdata", fmt.Sprintf("samba-%s-negtokenresp-challenge.bin", c.server), buf)
				resp, err := spnego.DecodeNegTokenResp(buf)
				if err != nil {
					t.Fatal(err)
				}
				write(t, "../wire/ntlmssp/testdata", fmt.Sprintf("samba-%s-challenge.bin", c.server), resp.ResponseToken)
			}
			if h.Command == wire.CmdNegotiate {
				write(t, "../wire/spnego/testdata", fmt.Sprintf("samba-%s-negtokeninit2.bin", c.server), wire.NegotiateResponse(m).SecurityBuffer())
			}
		}
	}
	note := fmt.Sprintf("Files named samba-<config>-*.bin were captured by `make goldens` (probes/capture_test.go) from %s,\n"+
		"one smbd per configuration of internal/testing/sambatest (DefaultConfigs: default, nonull = restrict anonymous 2,\n"+
		"encrypt = server smb encrypt required, smb2_10 = server max protocol SMB2_10). Each file is one received\n"+
		"message without its NetBIOS header (SMB2 messages), or the security buffer / NTLM token inside it.\n", version)
	for _, dir := range []string{"../wire/testdata", "../wire/spnego/testdata", "../wire/ntlmssp/testdata"} {
		appendNote(t, filepath.Join(dir, "README.md"), note)
	}
}

func write(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s/%s (%d bytes)", dir, name, len(b))
}

func appendNote(t *testing.T, path, note string) {
	old, _ := os.ReadFile(path)
	if bytes.Contains(old, []byte("captured by `make goldens`")) {
		return
	}
	if err := os.WriteFile(path, append(old, []byte("\n"+note)...), 0o644); err != nil {
		t.Fatal(err)
	}
}
