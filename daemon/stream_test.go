package daemon

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
)

// TestStreamSinkIsTheJSONLEncoder: /api/v1/scans streams the same bytes a scan writes to its
// JSONL file, a C1 control or a bidi override in a server-chosen name escaped, and sends each
// record to the client as soon as it is written (not at the end of the scan).
func TestStreamSinkIsTheJSONLEncoder(t *testing.T) {
	name := "SRV\u009b2J\u202eevil"
	r := &probes.Result{Type: "host", Status: "smb", Timestamp: time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC),
		NTLM: &probes.NTLMInfo{NetBIOSComputerName: &name}}
	sum := &probes.Summary{Type: "summary"}

	rec := httptest.NewRecorder()
	sink := newStreamSink(rec)
	if err := sink.WriteResult(r); err != nil {
		t.Fatal(err)
	}
	if !rec.Flushed || rec.Body.Len() == 0 {
		t.Fatal("the host record was not sent to the client when written")
	}
	if err := sink.WriteSummary(sum); err != nil {
		t.Fatal(err)
	}

	var want bytes.Buffer
	j := output.NewJSONL(&want, "want")
	if err := j.WriteResult(r); err != nil {
		t.Fatal(err)
	}
	if err := j.WriteSummary(sum); err != nil {
		t.Fatal(err)
	}
	if err := j.Flush(); err != nil {
		t.Fatal(err)
	}
	got := rec.Body.String()
	if got != want.String() {
		t.Fatalf("stream differs from the JSONL sink:\n got %s\nwant %s", got, want.String())
	}
	if strings.ContainsRune(got, '\u009b') || strings.ContainsRune(got, '\u202e') || !strings.Contains(got, `\u009b`) || !strings.Contains(got, `\u202e`) {
		t.Fatalf("C1/bidi characters not escaped: %s", got)
	}
}
