package scanner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// importFixtures are the result files under testdata/import (see its README) and the format
// each must be recognised as.
var importFixtures = map[string]string{
	"nmap.xml":      FormatNmapXML,
	"nmap.gnmap":    FormatNmapGrepable,
	"masscan.lst":   FormatMasscanList,
	"masscan.json":  FormatMasscanJSON,
	"masscan.xml":   FormatMasscanXML,
	"nessus.nessus": FormatNessus,
}

func importFile(t *testing.T, path string, ports []uint16) ([]string, ImportResult) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	b := NewTargetBuilder(445)
	res, err := b.AddFile(fh, path, ports, true)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	set, err := b.Build(context.Background(), &fakeResolver{})
	if err != nil {
		t.Fatal(err)
	}
	got := all(set)
	slices.Sort(got)
	return got, res
}

// TestAddFileFixtures: each result file yields exactly the hosts with an SMB port open, with
// that port (445 preferred over 139), or with -port's port when it is given.
func TestAddFileFixtures(t *testing.T) {
	for file, format := range importFixtures {
		path := filepath.Join("testdata", "import", file)
		got, res := importFile(t, path, nil)
		want := []string{"127.203.77.1:445", "127.203.77.2:445", "127.203.77.3:139", "127.203.77.6:445"}
		if !slices.Equal(got, want) {
			t.Errorf("%s: targets %v, want %v", file, got, want)
		}
		if res.Format != format || res.Hosts != 4 || len(res.Bad) != 0 {
			t.Errorf("%s: %+v, want format %q, 4 hosts, nothing bad", file, res, format)
		}
		wantSeen := 7
		if strings.HasPrefix(file, "masscan") {
			wantSeen = 6 // masscan lists only hosts with an open port (127.203.77.5 has none)
		}
		if res.Seen != wantSeen {
			t.Errorf("%s: %d hosts seen, want %d", file, res.Seen, wantSeen)
		}
		got, _ = importFile(t, path, []uint16{8445})
		if want := []string{"127.203.77.7:8445"}; !slices.Equal(got, want) {
			t.Errorf("%s with port 8445: %v, want %v", file, got, want)
		}
	}
}

// TestAddFileFormats: format recognition and the forms each reader tolerates or refuses.
func TestAddFileFormats(t *testing.T) {
	cases := []struct {
		name, in string
		format   string
		want     []string
		err      string
	}{
		{"plain list", "10.0.0.1\n10.0.0.2:139\n", FormatList, []string{"10.0.0.1:445", "10.0.0.2:139"}, ""},
		{"BOM before XML", "\xef\xbb\xbf<?xml version=\"1.0\"?><nmaprun><host><address addr=\"10.0.0.9\" addrtype=\"ipv4\"/><ports><port protocol=\"tcp\" portid=\"445\"><state state=\"open\"/></port></ports></host></nmaprun>", FormatNmapXML, []string{"10.0.0.9:445"}, ""},
		{"nmap XML udp and filtered", `<nmaprun><host><address addr="aa:bb:cc:dd:ee:ff" addrtype="mac"/><address addr="10.0.0.3" addrtype="ipv4"/><ports><port protocol="udp" portid="445"><state state="open"/></port><port protocol="tcp" portid="139"><state state="filtered"/></port></ports></host></nmaprun>`, FormatNmapXML, nil, ""},
		{"nmap XML IPv6", `<nmaprun><host><address addr="::1" addrtype="ipv6"/><ports><port protocol="tcp" portid="445"><state state="open"/></port></ports></host></nmaprun>`, FormatNmapXML, []string{"[::1]:445"}, ""},
		{"entity bomb", `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><nmaprun><host><address addr="&lol2;" addrtype="ipv4"/></host></nmaprun>`, FormatNmapXML, nil, "not well-formed XML"},
		{"XML of another kind", `<?xml version="1.0"?><rss></rss>`, "", nil, "not nmap or masscan -oX output nor a .nessus file"},
		{"nmap normal output", "# Nmap 7.93 scan initiated\nNmap scan report for 10.0.0.1\n", "", nil, "nmap normal output (-oN) is not read"},
		{"masscan JSON trailing comma (old versions)", "[\n{\"ip\":\"10.0.0.4\",\"ports\":[{\"port\":445,\"proto\":\"tcp\",\"status\":\"open\"}]},\n{\"finished\":1}\n]\n", FormatMasscanJSON, []string{"10.0.0.4:445"}, ""},
		{"masscan ndjson (-oD)", "{\"ip\":\"10.0.0.5\",\"port\":139,\"proto\":\"tcp\",\"status\":\"open\"}\n{\"ip\":\"10.0.0.6\",\"port\":80,\"proto\":\"tcp\",\"status\":\"open\"}\n", FormatMasscanJSON, []string{"10.0.0.5:139"}, ""},
		{"masscan JSON with braces in a banner", "[{\"ip\":\"10.0.0.7\",\"ports\":[{\"port\":445,\"proto\":\"tcp\",\"service\":{\"name\":\"smb\",\"banner\":\"}{\\\"x\"}}]}]", FormatMasscanJSON, []string{"10.0.0.7:445"}, ""},
		{"masscan JSON truncated", "[{\"ip\":\"10.0.0.7\",\"ports\":[", FormatMasscanJSON, nil, "truncated JSON object"},
		{"grepable junk line", "# Nmap 7.93\nHost: 10.0.0.8 (x.example)\tPorts: 445/open/tcp//microsoft-ds///\nUp open tcp\n", FormatNmapGrepable, nil, "3: not an nmap -oG line"},
	}
	for _, c := range cases {
		b := NewTargetBuilder(445)
		res, err := b.AddFile(strings.NewReader(c.in), "f", nil, true)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		set, _ := b.Build(context.Background(), &fakeResolver{})
		got := all(set)
		slices.Sort(got)
		if res.Format != c.format || !slices.Equal(got, c.want) {
			t.Errorf("%s: format %q targets %v, want %q %v", c.name, res.Format, got, c.format, c.want)
		}
	}
}

// TestAddFileBounded: a result file with a record over the per-record cap is refused without
// holding it; the XML decoder reads a large file element by element.
func TestAddFileBounded(t *testing.T) {
	big := "[{\"ip\":\"10.0.0.1\",\"pad\":\"" + strings.Repeat("x", maxImportRecordBytes) + "\"}]"
	_, err := NewTargetBuilder(445).AddFile(strings.NewReader(big), "big.json", nil, false)
	if err == nil || !strings.Contains(err.Error(), "JSON object longer than 16 MiB") {
		t.Errorf("oversized record: %v", err)
	}
	var x bytes.Buffer
	x.WriteString(`<nmaprun scanner="nmap">`)
	for i := range 20000 {
		x.WriteString(`<host><address addr="10.1.` + strconv.Itoa(i/256) + `.` + strconv.Itoa(i%256) + `" addrtype="ipv4"/><ports><port protocol="tcp" portid="445"><state state="open"/></port></ports></host>`)
	}
	x.WriteString(`</nmaprun>`)
	b := NewTargetBuilder(445)
	res, err := b.AddFile(&x, "many.xml", nil, true)
	if err != nil || res.Hosts != 20000 {
		t.Fatalf("20000 hosts: %d hosts, %d bad, %v", res.Hosts, len(res.Bad), err)
	}
}

// TestFileWordsAreNotNames: words in a target file are host names only when they look like
// one (a dot, or localhost); ShortNames (-resolve) allows single words.
func TestFileWordsAreNotNames(t *testing.T) {
	in := "Up open tcp\nfs.example.com\nlocalhost\n10.0.0.1\n"
	b := NewTargetBuilder(445)
	bad, err := b.AddReader(strings.NewReader(in), "hosts.txt", false)
	if err != nil || len(bad) != 3 {
		t.Fatalf("bad %v, err %v", bad, err)
	}
	if want := `hosts.txt:1: invalid target "Up": a single word in a file is not taken as a host name; write the full name (e.g. fileserver.corp.example), or give -resolve to look up short names`; bad[0].Error() != want {
		t.Errorf("message %q\nwant    %q", bad[0], want)
	}
	r := &fakeResolver{addrs: map[string][]string{"fs.example.com": {"192.0.2.1"}, "localhost": {"127.0.0.1"}, "Up": {"192.0.2.9"}}}
	set, err := b.Build(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := all(set), []string{"10.0.0.1:445", "fs.example.com:445=192.0.2.1", "localhost:445=127.0.0.1"}; !slices.Equal(got, want) {
		t.Errorf("targets %v, want %v", got, want)
	}
	b = NewTargetBuilder(445)
	b.ShortNames = true
	if bad, err := b.AddReader(strings.NewReader("fileserver\n"), "f", true); err != nil || len(bad) != 0 {
		t.Errorf("ShortNames: bad %v, err %v", bad, err)
	}
	// The command line takes a single word as it is.
	if err := NewTargetBuilder(445).Add("fileserver"); err != nil {
		t.Errorf("Add(fileserver): %v", err)
	}
}

// FuzzAddFile feeds arbitrary bytes (seeded with the fixtures of every format) to AddFile: no
// panic, and every target a result file yields is on one of the requested ports.
func FuzzAddFile(f *testing.F) {
	for file := range importFixtures {
		b, err := os.ReadFile(filepath.Join("testdata", "import", file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("[{\"ip\":\"10.0.0.1\",\"ports\":[{\"port\":445,\"status\":\"open\"}]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b := NewTargetBuilder(445)
		res, err := b.AddFile(bytes.NewReader(data), "fuzz", []uint16{445, 139}, false)
		if err != nil || res.Format == FormatList {
			return
		}
		set, err := b.Build(context.Background(), &fakeResolver{})
		if err != nil {
			t.Fatalf("Build after %s: %v", res.Format, err)
		}
		if set.Len() > uint64(res.Hosts) {
			t.Fatalf("%s: %d targets from %d hosts", res.Format, set.Len(), res.Hosts)
		}
		for i := range set.Len() {
			if p := set.At(i).Port; p != 445 && p != 139 {
				t.Fatalf("%s: target on port %d", res.Format, p)
			}
		}
	})
}

// TestAddFileBadEntries: bad entries of a result file name the file and the line (or record),
// are capped like AddReader's with a final count, and are fatal under strict.
func TestAddFileBadEntries(t *testing.T) {
	var in strings.Builder
	in.WriteString("#masscan\nopen tcp 445 10.0.0.1 1\n")
	for range maxBadLines + 5 {
		in.WriteString("open tcp 445 10.0.0.300 1\n")
	}
	b := NewTargetBuilder(445)
	res, err := b.AddFile(strings.NewReader(in.String()), "m.lst", nil, false)
	if err != nil || res.Hosts != 1 || InvalidCount(res.Bad) != maxBadLines+5 {
		t.Fatalf("hosts %d, %d bad (%d counted), err %v", res.Hosts, len(res.Bad), InvalidCount(res.Bad), err)
	}
	if got := res.Bad[0].Error(); got != `m.lst:3: invalid address "10.0.0.300"` {
		t.Errorf("first bad entry %q", got)
	}
	_, err = NewTargetBuilder(445).AddFile(strings.NewReader(in.String()), "m.lst", nil, true)
	if err == nil || !strings.HasPrefix(err.Error(), "m.lst: 1005 invalid entries (first: m.lst:3: invalid address") {
		t.Errorf("strict: %v", err)
	}
}
