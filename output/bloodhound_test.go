package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/probes"
)

// ValidateOpenGraph checks data against the BloodHound OpenGraph data payload as its schema
// documents it (bloodhound.specterops.io/opengraph; the node and edge JSON schemas of
// SpecterOps/bloodhound-docs, docs/assets/opengraph): top level "graph" (nodes, edges) and an
// optional "metadata" holding only source_kind; a node has a string id and 1-3 string kinds
// (our own rule: at least one), and properties whose values are strings, numbers, booleans or
// homogeneous arrays of those — no objects, no null, no objectid; an edge has a kind matching
// ^[A-Za-z0-9_]+$ and start/end endpoints with match_by id, name or property (value required,
// except with property, which needs property_matchers). Beyond the schema it checks what
// this export promises: unique node ids and edges whose id endpoints name nodes of the file.
func validateOpenGraph(data []byte) []string {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return []string{"not a JSON object: " + err.Error()}
	}
	for k := range top {
		if k != "graph" && k != "metadata" && k != "$schema" {
			bad("unknown top-level key %q", k)
		}
	}
	if m, ok := top["metadata"]; ok {
		var meta map[string]any
		if err := json.Unmarshal(m, &meta); err != nil {
			bad("metadata is not an object")
		}
		for k, v := range meta {
			if k != "source_kind" {
				bad("metadata.%s: only source_kind is allowed", k)
			} else if _, ok := v.(string); !ok && v != nil {
				bad("metadata.source_kind is not a string")
			}
		}
	}
	var graph struct {
		Nodes []map[string]any `json:"nodes"`
		Edges []map[string]any `json:"edges"`
	}
	if err := json.Unmarshal(top["graph"], &graph); err != nil || top["graph"] == nil {
		return append(problems, "graph missing or not {nodes, edges}")
	}
	ids := map[string]bool{}
	for i, n := range graph.Nodes {
		where := fmt.Sprintf("node %d", i)
		for k := range n {
			if k != "id" && k != "kinds" && k != "properties" {
				bad("%s: unknown key %q", where, k)
			}
		}
		id, ok := n["id"].(string)
		if !ok || id == "" {
			bad("%s: id is not a non-empty string", where)
		}
		if ids[id] {
			bad("%s: id %q repeated", where, id)
		}
		ids[id] = true
		kinds, ok := n["kinds"].([]any)
		if !ok || len(kinds) < 1 || len(kinds) > 3 {
			bad("%s: kinds must be 1-3 strings, got %v", where, n["kinds"])
		}
		for _, k := range kinds {
			if _, ok := k.(string); !ok {
				bad("%s: kind %v is not a string", where, k)
			}
		}
		checkPropertyMap(where, n["properties"], bad)
		if p, ok := n["properties"].(map[string]any); ok {
			if _, has := p["objectid"]; has {
				bad("%s: properties must not hold objectid", where)
			}
		}
	}
	kindRE := regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	for i, e := range graph.Edges {
		where := fmt.Sprintf("edge %d", i)
		for k := range e {
			if k != "kind" && k != "start" && k != "end" && k != "properties" {
				bad("%s: unknown key %q", where, k)
			}
		}
		if k, ok := e["kind"].(string); !ok || !kindRE.MatchString(k) {
			bad("%s: kind %v does not match ^[A-Za-z0-9_]+$", where, e["kind"])
		}
		for _, end := range []string{"start", "end"} {
			ep, ok := e[end].(map[string]any)
			if !ok {
				bad("%s: %s missing", where, end)
				continue
			}
			matchBy, _ := ep["match_by"].(string)
			if matchBy == "" {
				matchBy = "id"
			}
			switch matchBy {
			case "id", "name":
				v, ok := ep["value"].(string)
				if !ok {
					bad("%s: %s.value missing", where, end)
				}
				if _, has := ep["property_matchers"]; has {
					bad("%s: %s has property_matchers with match_by %s", where, end, matchBy)
				}
				if matchBy == "id" && !ids[v] {
					bad("%s: %s names node %q, which the file does not have", where, end, v)
				}
			case "property":
				if _, has := ep["value"]; has {
					bad("%s: %s has value with match_by property", where, end)
				}
			default:
				bad("%s: %s.match_by %q: want id, name or property", where, end, matchBy)
			}
		}
		checkPropertyMap(where, e["properties"], bad)
	}
	return problems
}

func checkPropertyMap(where string, v any, bad func(string, ...any)) {
	if v == nil {
		return
	}
	m, ok := v.(map[string]any)
	if !ok {
		bad("%s: properties is not an object", where)
		return
	}
	for k, pv := range m {
		switch x := pv.(type) {
		case string, float64, bool:
		case []any:
			kind := ""
			for _, item := range x {
				t := fmt.Sprintf("%T", item)
				if t != "string" && t != "float64" && t != "bool" {
					bad("%s: property %s holds a %s in its array", where, k, t)
				}
				if kind != "" && t != kind {
					bad("%s: property %s mixes %s and %s", where, k, kind, t)
				}
				kind = t
			}
		default:
			bad("%s: property %s is %T (null and objects are not allowed)", where, k, pv)
		}
	}
}

// TestValidateOpenGraphCatches makes sure the validator rejects what the schema rejects.
func TestValidateOpenGraphCatches(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"graph":{"nodes":[{"id":"a","kinds":[]}],"edges":[]}}`, "kinds must be 1-3"},
		{`{"graph":{"nodes":[{"id":"a","kinds":["A","B","C","D"]}],"edges":[]}}`, "kinds must be 1-3"},
		{`{"graph":{"nodes":[{"id":"a","kinds":["A"],"properties":{"x":null}}],"edges":[]}}`, "null and objects are not allowed"},
		{`{"graph":{"nodes":[{"id":"a","kinds":["A"],"properties":{"x":{"y":1}}}],"edges":[]}}`, "null and objects are not allowed"},
		{`{"graph":{"nodes":[{"id":"a","kinds":["A"],"properties":{"x":[1,"a"]}}],"edges":[]}}`, "mixes"},
		{`{"graph":{"nodes":[{"id":"a","kinds":["A"],"properties":{"objectid":"S-1"}}],"edges":[]}}`, "objectid"},
		{`{"graph":{"nodes":[{"id":"a","kinds":["A"]},{"id":"a","kinds":["A"]}],"edges":[]}}`, "repeated"},
		{`{"graph":{"nodes":[{"id":"a","kinds":["A"]}],"edges":[{"kind":"Has-Share","start":{"value":"a"},"end":{"value":"a"}}]}}`, "does not match"},
		{`{"graph":{"nodes":[{"id":"a","kinds":["A"]}],"edges":[{"kind":"K","start":{"match_by":"sid","value":"a"},"end":{"value":"a"}}]}}`, "want id, name or property"},
		{`{"graph":{"nodes":[{"id":"a","kinds":["A"]}],"edges":[{"kind":"K","start":{"value":"a"},"end":{"value":"b"}}]}}`, `names node "b"`},
		{`{"metadata":{"source_kind":"X","other":1},"graph":{"nodes":[],"edges":[]}}`, "only source_kind"},
	} {
		p := validateOpenGraph([]byte(tc.doc))
		if !strings.Contains(strings.Join(p, "\n"), tc.want) {
			t.Errorf("%s: problems %q, want one with %q", tc.doc, p, tc.want)
		}
	}
	// The documentation's minimal example passes.
	minimal := `{"graph":{"nodes":[{"id":"123","kinds":["Person"],"properties":{"name":"BOB"}},{"id":"234","kinds":["Person"]}],"edges":[{"kind":"Knows","start":{"value":"123","match_by":"id"},"end":{"value":"234","match_by":"id"}}]}}`
	if p := validateOpenGraph([]byte(minimal)); len(p) != 0 {
		t.Errorf("minimal example rejected: %q", p)
	}
}

// TestBloodHoundExport writes the test records (an SMB host with shares, a refused one, a
// hostile one) and checks the document against the schema, that only SMB hosts appear, and
// the properties that matter: smbsigning, smbv1, the shares and their edges. The sample in
// docs/BLOODHOUND.md must be valid too.
func TestBloodHoundExport(t *testing.T) {
	var buf bytes.Buffer
	bh := NewBloodHound(&buf, "bh.json")
	for _, r := range []*probes.Result{sambaRecord(), refusedRecord(), hostileRecord()} {
		if err := bh.WriteResult(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := bh.WriteSummary(&probes.Summary{}); err != nil {
		t.Fatal(err)
	}
	if p := validateOpenGraph(buf.Bytes()); len(p) != 0 {
		t.Fatalf("export is not valid OpenGraph:\n%s\n%s", strings.Join(p, "\n"), buf.Bytes())
	}
	var g ogGraph
	if err := json.Unmarshal(buf.Bytes(), &g); err != nil {
		t.Fatal(err)
	}
	if g.Metadata.SourceKind != "SMBSweep" {
		t.Errorf("source_kind %q", g.Metadata.SourceKind)
	}
	byID := map[string]ogNode{}
	var ids []string
	for _, n := range g.Graph.Nodes {
		byID[n.ID] = n
		ids = append(ids, n.ID)
	}
	sort.Strings(ids)
	if want := "smb://127.0.0.2:445,smb://127.0.0.2:445/IPC$,smb://127.0.0.2:445/admin,smb://127.0.0.2:445/public,smb://127.0.0.4:445,smb://127.0.0.4:445/@SUM(1)\ufffd31m"; strings.Join(ids, ",") != want {
		t.Errorf("node ids\n%s\nwant\n%s", strings.Join(ids, ","), want)
	}
	host := byID["smb://127.0.0.2:445"]
	if host.Kinds[0] != "SMB_Computer" || host.Properties["smbsigning"] != false || host.Properties["smbv1"] != true || host.Properties["name"] != "FILESRV" {
		t.Errorf("computer node %+v", host)
	}
	if _, ok := host.Properties["webclientrunning"]; ok {
		t.Error("webclientrunning written although no webclient_running finding decided it (OpenGraph has no null)")
	}
	if pub := byID["smb://127.0.0.2:445/public"]; pub.Kinds[0] != "SMB_Share" || pub.Properties["read_anonymous"] != true || pub.Properties["write_guest"] != true {
		t.Errorf("share node %+v", pub)
	}
	if len(g.Graph.Edges) != 4 || g.Graph.Edges[0].Kind != "SMB_HasShare" {
		t.Errorf("edges %+v", g.Graph.Edges)
	}

	doc, err := os.ReadFile("../docs/BLOODHOUND.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sample, ok := strings.Cut(string(doc), "```json\n")
	sample, _, ok2 := strings.Cut(sample, "```")
	if !ok || !ok2 {
		t.Fatal("docs/BLOODHOUND.md has no ```json sample")
	}
	if p := validateOpenGraph([]byte(sample)); len(p) != 0 {
		t.Errorf("the sample in docs/BLOODHOUND.md is not valid: %q", p)
	}
}

// TestBloodHoundWebClient: a decided webclient_running finding becomes the computer's
// webclientrunning property (true or false).
func TestBloodHoundWebClient(t *testing.T) {
	for _, v := range []bool{true, false} {
		var buf bytes.Buffer
		bh := NewBloodHound(&buf, "bh.json")
		r := &probes.Result{IP: "127.0.0.9", Port: 445, Status: probes.StatusSMB,
			Findings: []probes.Finding{{ID: probes.FindingWebClientRunning, Value: probes.Bool(v)}}}
		if err := bh.WriteResult(r); err != nil {
			t.Fatal(err)
		}
		if err := bh.WriteSummary(&probes.Summary{}); err != nil {
			t.Fatal(err)
		}
		var g struct {
			Graph struct{ Nodes []ogNode } `json:"graph"`
		}
		if err := json.Unmarshal(buf.Bytes(), &g); err != nil || len(g.Graph.Nodes) != 1 {
			t.Fatalf("%v: %s", err, buf.Bytes())
		}
		if got := g.Graph.Nodes[0].Properties["webclientrunning"]; got != v {
			t.Errorf("webclientrunning %v, want %v", got, v)
		}
	}
}
