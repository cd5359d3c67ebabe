package diff

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/probes"
)

func b(v bool) *bool { return &v }

// host builds an SMB host record: dialect, SMB1, signing required, null session allowed,
// shares the anonymous identity connected.
func host(ip, dialect string, smb1, signReq, null *bool, shares ...string) *probes.Result {
	r := &probes.Result{Schema: probes.SchemaVersion, Type: "host", IP: ip, Port: 445, Status: probes.StatusSMB,
		SMB1: &probes.SMB1Info{Enabled: smb1}, Negotiate: &probes.NegotiateInfo{Dialect: dialect, SigningRequired: signReq},
		Sessions: probes.Sessions{Null: &probes.SessionInfo{Allowed: null}},
		Stages:   map[probes.StageName]*probes.StageResult{"tree": {Status: probes.StageOK}}}
	r.Shares = append(r.Shares, probes.Share{Name: "IPC$", Access: []probes.ShareAccess{{Identity: "anonymous", TreeConnect: probes.String("STATUS_SUCCESS")}}})
	for _, s := range shares {
		r.Shares = append(r.Shares, probes.Share{Name: s, Access: []probes.ShareAccess{{Identity: "anonymous", TreeConnect: probes.String("STATUS_SUCCESS")}}})
	}
	r.Shares = append(r.Shares, probes.Share{Name: "private", Access: []probes.ShareAccess{{Identity: "anonymous", TreeConnect: probes.String("STATUS_ACCESS_DENIED")}}})
	return r
}

func down(ip string, st probes.Status) *probes.Result {
	return &probes.Result{Schema: probes.SchemaVersion, Type: "host", IP: ip, Port: 445, Status: st, Stages: map[probes.StageName]*probes.StageResult{}}
}

func writeRun(t *testing.T, dir, name string, interrupted bool, rs ...*probes.Result) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, r := range rs {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Encode(&probes.Summary{Schema: probes.SchemaVersion, Type: "summary", Interrupted: interrupted, Scanned: uint64(len(rs))}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompare(t *testing.T) {
	dir := t.TempDir()
	oldPath := writeRun(t, dir, "old.jsonl", false,
		host("127.0.0.2", "3.1.1", b(false), b(false), b(true), "public"),
		host("127.0.0.3", "3.1.1", b(true), b(true), b(false)),
		host("127.0.0.4", "2.1", b(false), b(false), b(true)),
		down("127.0.0.5", probes.StatusConnectionRefused),
		host("127.0.0.6", "3.1.1", b(true), b(false), b(true)),
		host("127.0.0.7", "3.1.1", b(true), b(false), b(true)),
		host("127.0.0.8", "3.1.1", b(true), b(false), b(true)),
		host("127.0.0.10", "3.1.1", b(false), b(false), b(true)),
	)
	timedOut := host("127.0.0.6", "3.1.1", nil, nil, nil)
	timedOut.Stages["tree"].Status = probes.StageErrored
	timedOut.Shares = nil
	newPath := writeRun(t, dir, "new.jsonl", false,
		host("127.0.0.2", "3.1.1", b(true), b(true), b(false), "dropbox"), // everything flipped
		down("127.0.0.3", probes.StatusIOTimeout),                         // no answer: unknown, not gone
		host("127.0.0.4", "3.1.1", b(false), b(false), b(true)),           // dialect
		host("127.0.0.5", "3.0", b(false), b(true), b(false)),             // appeared
		timedOut, // unknowns: no change
		down("127.0.0.7", probes.StatusConnectionRefused),        // port closed: disappeared
		down("127.0.0.8", probes.StatusConnectionTimeout),        // no answer: unknown, not gone
		host("127.0.0.9", "3.1.1", b(false), b(false), b(false)), // new in the run: appeared
		host("127.0.0.10", "3.1.1", b(false), b(false), b(true)), // unchanged
	)
	old, err := ReadFile(oldPath)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := ReadFile(newPath)
	if err != nil {
		t.Fatal(err)
	}
	got := Compare(old, cur)
	want := []Change{
		{Type: SMB1Changed, IP: "127.0.0.2", Port: 445, Field: "smb1.enabled", Old: false, New: true},
		{Type: SigningChanged, IP: "127.0.0.2", Port: 445, Field: "negotiate.signing_required", Old: false, New: true},
		{Type: NullSessionChanged, IP: "127.0.0.2", Port: 445, Field: "sessions.null.allowed", Old: true, New: false},
		{Type: ShareAdded, IP: "127.0.0.2", Port: 445, Field: "shares", Old: nil, New: "dropbox"},
		{Type: ShareRemoved, IP: "127.0.0.2", Port: 445, Field: "shares", Old: "public", New: nil},
		{Type: HostNoAnswer, IP: "127.0.0.3", Port: 445, Field: "status", Old: "smb", New: "io-timeout"},
		{Type: DialectChanged, IP: "127.0.0.4", Port: 445, Field: "negotiate.dialect", Old: "2.1", New: "3.1.1"},
		{Type: HostAppeared, IP: "127.0.0.5", Port: 445, Field: "status", Old: "connection-refused", New: "smb"},
		{Type: HostDisappeared, IP: "127.0.0.7", Port: 445, Field: "status", Old: "smb", New: "connection-refused"},
		{Type: HostNoAnswer, IP: "127.0.0.8", Port: 445, Field: "status", Old: "smb", New: "connection-timeout"},
		{Type: HostAppeared, IP: "127.0.0.9", Port: 445, Field: "status", Old: nil, New: "smb"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changes:\n got  %+v\n want %+v", got, want)
	}

	// The JSONL form: one object per change with type, ip, port, field, old, new.
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, got); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"type", "ip", "port", "field", "old", "new"} {
		if _, ok := first[k]; !ok {
			t.Errorf("line lacks %q: %s", k, lines[0])
		}
	}
	if lines[10] != `{"type":"host_appeared","ip":"127.0.0.9","port":445,"field":"status","old":null,"new":"smb"}` {
		t.Errorf("line 11: %s", lines[10])
	}

	buf.Reset()
	if err := WriteText(&buf, got); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"127.0.0.2:445", "SMBv1 turned ON", "signing now required", "null session no longer allowed",
		`anonymous share added: "dropbox"`, "no answer this time (io-timeout): SMB state unknown", "SMB disappeared (now connection-refused)", "dialect 2.1 -> 3.1.1", "SMB appeared (was absent)"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("text view lacks %q:\n%s", s, buf.String())
		}
	}
}

func TestCompareInterruptedAndIdentical(t *testing.T) {
	a := &Run{Hosts: map[Key]*probes.Result{{"127.0.0.2", 445}: host("127.0.0.2", "3.1.1", b(false), b(false), b(true))}, Summary: &probes.Summary{}}
	empty := &Run{Hosts: map[Key]*probes.Result{}, Summary: &probes.Summary{Interrupted: true}}
	if c := Compare(a, empty); len(c) != 0 {
		t.Errorf("an interrupted run's missing hosts were reported: %+v", c)
	}
	if c := Compare(a, a); len(c) != 0 {
		t.Errorf("identical runs differ: %+v", c)
	}
	complete := &Run{Hosts: map[Key]*probes.Result{}, Summary: &probes.Summary{}}
	if c := Compare(a, complete); len(c) != 1 || c[0].Type != HostDisappeared || c[0].New != nil {
		t.Errorf("a host missing from a complete run: %+v", c)
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, nil); err != nil || buf.String() != "no changes\n" {
		t.Errorf("empty text view: %q", buf.String())
	}
}

func TestReadErrors(t *testing.T) {
	if _, err := Read(strings.NewReader("{\"type\":\"host\",\"ip\":\"127.0.0.1\"}\nnot json\n")); err == nil || !strings.HasPrefix(err.Error(), "line 2: not a JSON object") {
		t.Errorf("bad line: %v", err)
	}
	r, err := Read(strings.NewReader("{\"type\":\"host\",\"ip\":\"127.0.0.1\",\"port\":445,\"status\":\"smb\"}"))
	if err != nil || len(r.Hosts) != 1 || !r.Interrupted() {
		t.Errorf("a run without a summary (no final newline): %v %+v", err, r)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.jsonl")); err == nil {
		t.Error("missing file read")
	}
}

func TestReadCountsRecords(t *testing.T) {
	r, err := Read(strings.NewReader("{}\n{\"type\":\"other\"}\n\n"))
	if err != nil || r.Lines != 2 || r.Records != 0 {
		t.Errorf("non-records: %v %+v", err, r)
	}
	r, err = Read(strings.NewReader("{\"type\":\"host\",\"ip\":\"127.0.0.1\",\"port\":445}\n{\"type\":\"summary\"}\n"))
	if err != nil || r.Lines != 2 || r.Records != 2 {
		t.Errorf("records: %v %+v", err, r)
	}
}
