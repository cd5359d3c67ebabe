package output

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/probes"
)

func TestJSONLRoundTrip(t *testing.T) {
	filled := &probes.Result{}
	fillValue(reflect.ValueOf(filled).Elem(), "", map[string]bool{}, mapPlaceholders["host"])
	for _, want := range []*probes.Result{sambaRecord(), refusedRecord(), hostileRecord(), filled} {
		var buf bytes.Buffer
		j := NewJSONL(&buf, "x")
		if err := j.WriteResult(want); err != nil {
			t.Fatal(err)
		}
		if err := j.Flush(); err != nil {
			t.Fatal(err)
		}
		line := buf.String()
		if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
			t.Fatalf("not exactly one line: %q", line)
		}
		var got probes.Result
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil {
			t.Fatal(err)
		}
		// encoding/json replaces invalid UTF-8 (hostileRecord's raw 0x9b byte) with U+FFFD.
		for i := range want.Shares {
			want.Shares[i].Name = strings.ToValidUTF8(want.Shares[i].Name, "\uFFFD")
		}
		if !reflect.DeepEqual(&got, want) {
			t.Errorf("round trip changed the record:\n got %+v\nwant %+v", got, *want)
		}
	}
}

func TestJSONLFormat(t *testing.T) {
	var buf bytes.Buffer
	j := NewJSONL(&buf, "x")
	if err := j.WriteResult(sambaRecord()); err != nil {
		t.Fatal(err)
	}
	if err := j.WriteSummary(&probes.Summary{Schema: probes.SchemaVersion, Type: "summary"}); err != nil {
		t.Fatal(err)
	}
	if err := j.Flush(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		`"comment":"Public <files> & more"`,           // no HTML escaping
		`"timestamp":"2024-05-06T07:08:09.123456Z"`,   // RFC 3339 UTC
		`"boot_time":null`,                            // unknown is null, not omitted
		`{"schema":"smbsweep/v1","type":"host","ip":`, // field order of the struct tags
		"\n" + `{"schema":"smbsweep/v1","type":"summary",`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, `"host":`) {
		t.Error("empty host not omitted")
	}
}
