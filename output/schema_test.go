package output

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/wire/spnego"
)

// The drift test: the keys a fully populated record emits and the keys docs/schema.md documents
// must be the same set, so that neither can change without the other (trap 7 in DESIGN.md).

const schemaDoc = "../docs/schema.md"

// mapPlaceholders names the JSON objects that come from Go maps, with the placeholder their keys
// take in a key path (stages.<name>.status).
var mapPlaceholders = map[string]map[string]string{
	"host":    {"stages": "<name>"},
	"summary": {"statuses": "<status>", "findings": "<id>", "verdicts": "<id>", "verdicts.<id>": "<state>"},
}

// fillValue sets every field reachable from v to a non-zero value: pointers allocated, slices and
// maps given one element, strings "x", numbers 1, bools true, times a fixed instant. New fields in
// probes are therefore emitted without anyone updating this test. It records, per JSON key path,
// whether the Go field can be null (a pointer without omitempty).
func fillValue(v reflect.Value, path string, nullable map[string]bool, placeholders map[string]string) {
	if v.Type() == reflect.TypeOf(time.Time{}) {
		v.Set(reflect.ValueOf(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		nullable[path] = true
		v.Set(reflect.New(v.Type().Elem()))
		fillValue(v.Elem(), path, nullable, placeholders)
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fillValue(v.Field(i), joinPath(path, name), nullable, placeholders)
			if f.Type.Kind() == reflect.Pointer && strings.Contains(f.Tag.Get("json"), ",omitempty") {
				delete(nullable, joinPath(path, name)) // a nil pointer is left out, never null
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fillValue(s.Index(0), path+"[]", nullable, placeholders)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMapWithSize(v.Type(), 1)
		key := reflect.New(v.Type().Key()).Elem()
		fillValue(key, path+"#key", map[string]bool{}, placeholders)
		elemPath := joinPath(path, placeholders[path])
		elem := reflect.New(v.Type().Elem()).Elem()
		fillValue(elem, elemPath, nullable, placeholders)
		delete(nullable, elemPath) // map values are never nil in practice; their keys are
		m.SetMapIndex(key, elem)
		v.Set(m)
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	}
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// collectKeys walks decoded JSON and records each key path with its JSON kind. Arrays contribute
// "[]" to the path of their elements' keys; objects listed in placeholders contribute their
// placeholder instead of their actual keys.
func collectKeys(v any, path string, placeholders map[string]string, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		if path != "" && !strings.HasSuffix(path, "[]") { // an array element is its array's key
			out[path] = "object"
		}
		for k, child := range x {
			name := k
			if p, ok := placeholders[path]; ok {
				name = p
			}
			collectKeys(child, joinPath(path, name), placeholders, out)
		}
	case []any:
		out[path] = "array"
		for _, child := range x {
			if _, isObj := child.(map[string]any); isObj {
				collectKeys(child, path+"[]", placeholders, out)
			}
		}
	case string:
		out[path] = "string"
	case float64:
		out[path] = "number"
	case bool:
		out[path] = "boolean"
	case nil:
		if _, seen := out[path]; !seen {
			out[path] = "null"
		}
	}
}

func emittedKeys(t *testing.T, kind string, v any) (keys map[string]string, nullable map[string]bool) {
	t.Helper()
	nullable = map[string]bool{}
	fillValue(reflect.ValueOf(v).Elem(), "", nullable, mapPlaceholders[kind])
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var decoded any
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	keys = map[string]string{}
	collectKeys(decoded, "", mapPlaceholders[kind], keys)
	return keys, nullable
}

// mdTable is one markdown table of docs/schema.md with the "## " section it appears in.
type mdTable struct {
	section string
	header  []string
	rows    [][]string
}

func readSchemaDoc(t *testing.T) (tables []mdTable, text string) {
	t.Helper()
	b, err := os.ReadFile(schemaDoc)
	if err != nil {
		t.Fatalf("read the schema document: %v", err)
	}
	section := ""
	var cur *mdTable
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "## ") {
			section = strings.TrimSpace(line[3:])
		}
		if !strings.HasPrefix(line, "|") {
			cur = nil
			continue
		}
		cells := splitRow(line)
		if cur == nil {
			tables = append(tables, mdTable{section: section, header: cells})
			cur = &tables[len(tables)-1]
			continue
		}
		if isSeparatorRow(cells) {
			continue
		}
		cur.rows = append(cur.rows, cells)
	}
	return tables, string(b)
}

func splitRow(line string) []string {
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	// Cells may contain `\|` (an escaped pipe); keep it inside the cell.
	line = strings.ReplaceAll(line, `\|`, "\x00")
	cells := strings.Split(line, "|")
	for i, c := range cells {
		cells[i] = strings.ReplaceAll(strings.TrimSpace(c), "\x00", "|")
	}
	return cells
}

func isSeparatorRow(cells []string) bool {
	for _, c := range cells {
		if strings.Trim(c, "-: ") != "" {
			return false
		}
	}
	return true
}

func unquote(cell string) string { return strings.Trim(cell, "`") }

// column returns, for the tables of section whose first header cell is first, the cells of column
// col (0-based) of every row, backticks removed.
func column(tables []mdTable, section, first string, col int) [][2]string {
	var out [][2]string
	for _, tb := range tables {
		if tb.section != section || len(tb.header) == 0 || !strings.EqualFold(tb.header[0], first) {
			continue
		}
		for _, row := range tb.rows {
			if len(row) <= col {
				continue
			}
			typ := ""
			if len(row) > 1 {
				typ = row[1]
			}
			out = append(out, [2]string{unquote(row[col]), typ})
		}
	}
	return out
}

// documentedKeys reads the key tables (header "| key | type | meaning |") of one section.
func documentedKeys(t *testing.T, tables []mdTable, section string) map[string]string {
	t.Helper()
	keys := map[string]string{}
	for _, kv := range column(tables, section, "key", 0) {
		if _, dup := keys[kv[0]]; dup {
			t.Errorf("%s: key %q documented twice", section, kv[0])
		}
		keys[kv[0]] = kv[1]
	}
	if len(keys) == 0 {
		t.Fatalf("%s: no key table found in %s", section, schemaDoc)
	}
	return keys
}

// compareKeys fails for every emitted key that is undocumented, every documented key that can no
// longer be emitted, every documented type that does not name the emitted JSON kind, and every
// nullable field whose documented type does not mention null.
func compareKeys(t *testing.T, what string, emitted map[string]string, nullable map[string]bool, documented map[string]string) {
	t.Helper()
	var undocumented, stale, badType []string
	for k, kind := range emitted {
		typ, ok := documented[k]
		if !ok {
			undocumented = append(undocumented, k+" ("+kind+")")
			continue
		}
		words := []string{kind}
		if kind == "number" {
			words = append(words, "integer")
		}
		if !containsAny(typ, words) {
			badType = append(badType, k+": emitted "+kind+", documented "+typ)
		}
		if nullable[k] && !strings.Contains(typ, "null") {
			badType = append(badType, k+": may be null, documented "+typ)
		}
	}
	for k := range documented {
		if _, ok := emitted[k]; !ok {
			stale = append(stale, k)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(stale)
	sort.Strings(badType)
	for _, k := range undocumented {
		t.Errorf("%s key emitted but not documented in %s: %s", what, schemaDoc, k)
	}
	for _, k := range stale {
		t.Errorf("%s key documented in %s but no longer emitted: %s", what, schemaDoc, k)
	}
	for _, k := range badType {
		t.Errorf("%s key type mismatch in %s: %s", what, schemaDoc, k)
	}
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

func TestSchemaDocumentsEveryHostKey(t *testing.T) {
	tables, _ := readSchemaDoc(t)
	emitted, nullable := emittedKeys(t, "host", &probes.Result{})
	// Sanity: the fill reached the deepest levels, so a miss above is a real drift.
	for _, k := range []string{"shares[].access[].stat.creation_time", "stages.<name>.status", "sessions.null.flags", "findings[].value"} {
		if _, ok := emitted[k]; !ok {
			t.Fatalf("fully populated record does not emit %s; emitted %v", k, emitted)
		}
	}
	compareKeys(t, "host", emitted, nullable, documentedKeys(t, tables, "Host record"))
}

func TestSchemaDocumentsEverySummaryKey(t *testing.T) {
	tables, _ := readSchemaDoc(t)
	emitted, nullable := emittedKeys(t, "summary", &probes.Summary{})
	compareKeys(t, "summary", emitted, nullable, documentedKeys(t, tables, "Summary line"))
}

func TestSchemaDocumentsCSVColumns(t *testing.T) {
	tables, _ := readSchemaDoc(t)
	var documented []string
	for _, c := range column(tables, "CSV columns", "#", 1) {
		documented = append(documented, c[0])
	}
	if !slices.Equal(documented, CSVColumns) {
		t.Errorf("CSV columns in %s:\n  %v\nCSVColumns:\n  %v", schemaDoc, documented, CSVColumns)
	}
}

func TestSchemaDocumentsStatusesAndFindings(t *testing.T) {
	tables, _ := readSchemaDoc(t)
	var statuses []string
	for _, c := range column(tables, "Status vocabulary", "status", 0) {
		statuses = append(statuses, c[0])
	}
	var want []string
	for _, s := range probes.Statuses {
		want = append(want, string(s))
	}
	if !slices.Equal(statuses, want) {
		t.Errorf("documented statuses %v, probes.Statuses %v", statuses, want)
	}
	var ids []string
	for _, c := range column(tables, "Findings", "id", 0) {
		ids = append(ids, c[0])
	}
	if !slices.Equal(ids, FindingIDs) {
		t.Errorf("documented finding ids %v, FindingIDs %v", ids, FindingIDs)
	}
}

// TestSchemaExamples checks that every example line in the document is valid JSON whose keys are
// all documented, so the examples cannot drift either.
func TestSchemaExamples(t *testing.T) {
	tables, text := readSchemaDoc(t)
	docs := map[string]map[string]string{
		"host":    documentedKeys(t, tables, "Host record"),
		"summary": documentedKeys(t, tables, "Summary line"),
	}
	_, examples, ok := strings.Cut(text, "\n## Examples")
	if !ok {
		t.Fatal("no Examples section")
	}
	n := 0
	inBlock := false
	for _, line := range strings.Split(examples, "\n") {
		if strings.HasPrefix(line, "```") {
			inBlock = !inBlock
			continue
		}
		if !inBlock || strings.TrimSpace(line) == "" {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Errorf("example line is not one JSON object: %v: %.80s", err, line)
			continue
		}
		kind, _ := v["type"].(string)
		documented, ok := docs[kind]
		if !ok {
			t.Errorf("example with unknown type %q", kind)
			continue
		}
		n++
		keys := map[string]string{}
		collectKeys(v, "", mapPlaceholders[kind], keys)
		for k := range keys {
			if _, ok := documented[k]; !ok {
				t.Errorf("%s example uses undocumented key %s", kind, k)
			}
		}
	}
	if n < 3 {
		t.Errorf("found %d example lines, want at least 2 host records and a summary", n)
	}
}

// TestPrintKeys lists the emitted key paths (go test -run PrintKeys -v) for editing the document.
func TestPrintKeys(t *testing.T) {
	if os.Getenv("SMBSWEEP_PRINT_KEYS") == "" {
		t.Skip("set SMBSWEEP_PRINT_KEYS=1 to list key paths")
	}
	for _, kind := range []string{"host", "summary"} {
		var v any = &probes.Result{}
		if kind == "summary" {
			v = &probes.Summary{}
		}
		keys, nullable := emittedKeys(t, kind, v)
		var list []string
		for k, typ := range keys {
			if nullable[k] {
				typ += "|null"
			}
			list = append(list, kind+" "+k+" "+typ)
		}
		sort.Strings(list)
		t.Log("\n" + strings.Join(list, "\n"))
	}
}

// TestSchemaDocumentsMechanismNames checks that negotiate.security_mechanisms is documented with
// the very names the records carry (spnego.MechName), in the same case.
func TestSchemaDocumentsMechanismNames(t *testing.T) {
	tables, _ := readSchemaDoc(t)
	var row string
	for _, tb := range tables {
		for _, r := range tb.rows {
			if len(r) > 2 && unquote(r[0]) == "negotiate.security_mechanisms" {
				row = r[2]
			}
		}
	}
	if row == "" {
		t.Fatal("negotiate.security_mechanisms not documented")
	}
	for _, oid := range []spnego.OID{spnego.OIDNTLMSSP, spnego.OIDKerberos, spnego.OIDMSKerberos, spnego.OIDNegoEx} {
		if name := spnego.MechName(oid); !strings.Contains(row, "`\""+name+"\"`") {
			t.Errorf("records name mechanism %s %q; %s documents: %s", oid, name, schemaDoc, row)
		}
	}
}
