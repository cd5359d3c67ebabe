package probes_test

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/probes"
)

// No empty string means unknown (issue 14, item 3): a field that could not be learned is null or
// left out. A string may be "" only where docs/schema.md says so ("may be `""`" in the type
// column), for a value that really is empty. emptyStrings walks every value of an encoded record
// and reports any other "". It runs on every record of the hostile suite (TestHostileServers)
// and of the Samba harness (the TestFleet* tests).

// emptyAllowed are the key paths of a host record that may be "": the share root, an empty
// NTLM AV pair, a share listed with an empty name, an empty domain sent, an empty file.
// TestEmptyAllowedMatchesSchema keeps this list and docs/schema.md the same.
var emptyAllowed = []string{
	"auth.domain",
	"listing.path",
	"lsa[].domain_name",
	"lsa[].primary_domain_name",
	"ntlm.dns_computer_name",
	"ntlm.dns_domain_name",
	"ntlm.dns_tree_name",
	"ntlm.netbios_computer_name",
	"ntlm.netbios_domain_name",
	"read.content",
	"samr[].domain_name",
	"shares[].access[].stat.path",
	"shares[].name",
}

// emptyStrings returns one line per "" in r's JSON form at a key path not in emptyAllowed.
// Arrays add "[]" to the path of their elements, the stages map "<name>" for its keys.
func emptyStrings(r *probes.Result) []string {
	b, err := json.Marshal(r)
	if err != nil {
		return []string{"record does not marshal: " + err.Error()}
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return []string{"record does not unmarshal: " + err.Error()}
	}
	var bad []string
	walkEmpty(v, "", &bad)
	return bad
}

func walkEmpty(v any, path string, bad *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			name := k
			if path == "stages" {
				name = "<name>"
				if k == "" {
					*bad = append(*bad, `stages has a "" key`)
				}
			}
			p := name
			if path != "" {
				p = path + "." + name
			}
			walkEmpty(child, p, bad)
		}
	case []any:
		for _, child := range x {
			walkEmpty(child, path+"[]", bad)
		}
	case string:
		if x == "" && !slices.Contains(emptyAllowed, path) {
			*bad = append(*bad, path+` is "" (unknown must be null; docs/schema.md does not allow "" here)`)
		}
	}
}

// TestEmptyAllowedMatchesSchema derives the keys that may be "" from the Host record key tables
// of docs/schema.md (type column "... may be `""`") and compares them with emptyAllowed.
func TestEmptyAllowedMatchesSchema(t *testing.T) {
	f, err := os.Open("../docs/schema.md")
	if err != nil {
		t.Fatalf("read the schema document: %v", err)
	}
	defer f.Close()
	var documented []string
	section := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "## ") {
			section = strings.TrimSpace(line[3:])
		}
		if section != "Host record" || !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		key, typ := strings.Trim(strings.TrimSpace(cells[1]), "`"), cells[2]
		if strings.Contains(typ, "may be `\"\"`") {
			documented = append(documented, key)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(documented)
	want := slices.Sorted(slices.Values(emptyAllowed))
	if !slices.Equal(documented, want) {
		t.Errorf("keys that may be \"\" in docs/schema.md:\n  %v\nemptyAllowed:\n  %v", documented, want)
	}
}

// TestEmptyStringsWalker shows the walker finds a "" standing for unknown wherever it sits, and
// lets the allowed ones through.
func TestEmptyStringsWalker(t *testing.T) {
	r := &probes.Result{
		Schema: probes.SchemaVersion, Type: "host", IP: "127.0.0.1", Status: probes.StatusSMB,
		NTLM: &probes.NTLMInfo{DNSDomainName: probes.String(""), NegotiateFlags: "0x1"},
		Shares: []probes.Share{{Name: "", Access: []probes.ShareAccess{
			{Identity: "anonymous", TreeConnect: probes.String(""), Stat: &probes.Stat{Path: "", Status: probes.String("STATUS_SUCCESS")}},
		}}},
		Findings: []probes.Finding{{ID: "null_session", Severity: "medium", Reason: ""}},
		Stages:   map[probes.StageName]*probes.StageResult{"tree": {Status: ""}},
	}
	got := emptyStrings(r)
	sort.Strings(got)
	var paths []string
	for _, g := range got {
		paths = append(paths, strings.Fields(g)[0])
	}
	want := []string{"findings[].reason", "shares[].access[].tree_connect", "stages.<name>.status"}
	if !slices.Equal(paths, want) {
		t.Errorf("walker reported %q, want the paths %v", got, want)
	}
}

// checkEmpty fails t for every "" in r that stands for unknown, and returns r.
func checkEmpty(t *testing.T, r *probes.Result) *probes.Result {
	t.Helper()
	for _, e := range emptyStrings(r) {
		t.Errorf("%s:%d: %s", r.IP, r.Port, e)
	}
	return r
}
