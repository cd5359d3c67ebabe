package main

import (
	"debug/buildinfo"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/client"
)

// TestFlagsAnywhere: flags after the targets, between two files and after "--" (where they
// are arguments), as nmap and NetExec users type them.
func TestFlagsAnywhere(t *testing.T) {
	target := "127.0.0.1:" + strconv.Itoa(closedLoopbackPort(t))
	code, out, stderr := runCLI(t, "", "scan", target, "-c", "10", "-jsonl", "-timeout", "5s")
	if code != exitOK || strings.Count(out, `"type":"host"`) != 1 || !strings.Contains(out, `"status":"connection-refused"`) {
		t.Fatalf("scan TARGET -c 10: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	// "--" ends the flags: -c after it is a target (and not a valid one).
	code, _, stderr = runCLI(t, "", "scan", "-jsonl", target, "--", "-c")
	if code != exitUsage || !strings.Contains(stderr, `invalid target "-c"`) {
		t.Errorf("scan T -- -c: exit %d, stderr %q", code, stderr)
	}
	// A flag value "--" is a value, not the end of the flags.
	code, _, stderr = runCLI(t, "", "scan", "-path", "--", target, "-c", "0")
	if code != exitUsage || !strings.Contains(stderr, "-c 0: must be 1-100000") {
		t.Errorf("scan -path -- T -c 0: exit %d, stderr %q", code, stderr)
	}

	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	rec := `{"schema":"smbsweep/v1","type":"host","ip":"127.0.0.2","port":445,"status":"smb","smb1":{"enabled":false}}` + "\n"
	rec2 := `{"schema":"smbsweep/v1","type":"host","ip":"127.0.0.2","port":445,"status":"smb","smb1":{"enabled":true}}` + "\n"
	os.WriteFile(a, []byte(rec), 0o644)
	os.WriteFile(b, []byte(rec2), 0o644)
	code, out, stderr = runCLI(t, "", "diff", a, "-text", b)
	if code != exitOK || !strings.Contains(out, "SMBv1 turned ON") {
		t.Errorf("diff A -text B: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	code, out, _ = runCLI(t, "", "diff", a, b, "-jsonl")
	if code != exitOK || !strings.Contains(out, `"type":"smb1_changed"`) {
		t.Errorf("diff A B -jsonl: exit %d, stdout %q", code, out)
	}
	if code, _, stderr := runCLI(t, "", "serve", "-log-level", "info", "extra"); code != exitUsage || !strings.Contains(stderr, `unexpected argument "extra"`) {
		t.Errorf("serve extra: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "", "ls", "//127.0.0.1/share", "-depth", "-1"); code != exitUsage || !strings.Contains(stderr, "-depth -1") {
		t.Errorf("ls URL -depth -1: exit %d, stderr %q", code, stderr)
	}
}

// flagLine is one flag in the common help layout: two spaces, the flag and its argument,
// padded to column 29, then the text.
var flagLine = regexp.MustCompile(`^  -[a-zA-Z0-9-]+( [A-Za-z_./]+)? +\S`)

// TestHelpLayout: every command's -h and 'help COMMAND' print the same text, in one layout:
// "Usage:" first, flag groups as upper-case headings, each flag on its own line.
func TestHelpLayout(t *testing.T) {
	for _, c := range commands() {
		code, viaHelp, stderr := runCLI(t, "", "help", c.name)
		if code != exitOK || stderr != "" {
			t.Errorf("help %s: exit %d, stderr %q", c.name, code, stderr)
			continue
		}
		if !strings.HasPrefix(viaHelp, "Usage:") {
			t.Errorf("help %s does not start with Usage:\n%s", c.name, viaHelp)
		}
		if strings.Contains(viaHelp, "smbsweep scans networks for SMB exposure.\n\nUsage:") {
			t.Errorf("help %s prints the top-level usage", c.name)
		}
		if c.name == "help" {
			continue
		}
		if c.name != "version" && c.name != "man" {
			code, viaFlag, _ := runCLI(t, "", c.name, "-h")
			if code != exitOK || viaFlag != viaHelp {
				t.Errorf("%s -h (exit %d) differs from help %s:\n%s\n---\n%s", c.name, code, c.name, viaFlag, viaHelp)
			}
		}
		flags := commandFlags(c)
		for _, f := range flags {
			found := false
			for _, l := range strings.Split(viaHelp, "\n") {
				if strings.HasPrefix(l, "  -"+f.name+" ") || l == "  -"+f.name {
					found = true
					if !flagLine.MatchString(l) || (len(l) > 29 && strings.HasPrefix(l, "  -"+f.name+" ") && !strings.Contains(l[:29], "  -")) {
						t.Errorf("%s: flag line out of layout: %q", c.name, l)
					}
				}
			}
			if !found {
				t.Errorf("help %s lacks -%s", c.name, f.name)
			}
			if heading := "\n" + strings.ToUpper(f.group) + ":\n"; !strings.Contains(viaHelp, heading) {
				t.Errorf("help %s lacks the heading %q", c.name, heading)
			}
		}
	}
	_, out, _ := runCLI(t, "", "help", "scan")
	for _, id := range []string{"signing_not_required", "smb1_enabled", "anonymous_share_readable", "FINDINGS"} {
		if !strings.Contains(out, id) {
			t.Errorf("scan help does not list %s", id)
		}
	}
}

// TestSuggestions: a misspelled command or flag gets the nearest one; nonsense gets none.
func TestSuggestions(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"scna", "127.0.0.1"}, `unknown command "scna": did you mean "scan"?`},
		{[]string{"serv"}, `did you mean "serve"?`},
		{[]string{"help", "dif"}, `unknown command "dif": did you mean "diff"?`},
		{[]string{"scan", "-timout", "5s", "127.0.0.1"}, "flag provided but not defined: -timout (did you mean -timeout?)\nRun 'smbsweep scan -h' for the flags."},
		{[]string{"scan", "--sillent", "127.0.0.1"}, "(did you mean -silent?)"},
		{[]string{"diff", "-txt", "a", "b"}, "(did you mean -text?)"},
		{[]string{"serve", "-token", "x"}, "(did you mean -token-file?)"},
		{[]string{"get", "-max-byte", "5", "//h/s/p"}, "(did you mean -max-bytes?)"},
		{[]string{"config", "chek", "x.yml"}, `"chek": did you mean check?`},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, "", c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q lacks %q", c.args, code, stderr, c.want)
		}
	}
	for _, args := range [][]string{{"frobnicate"}, {"scan", "-bogus", "127.0.0.1"}} {
		if _, _, stderr := runCLI(t, "", args...); strings.Contains(stderr, "did you mean") {
			t.Errorf("%v: a suggestion for nonsense: %q", args, stderr)
		}
	}
	if d := editDistance("scna", "scan"); d != 1 {
		t.Errorf("editDistance(scna, scan) = %d, want 1 (a transposition)", d)
	}
}

// TestDurationNeedsUnit: a bare number for a duration flag is refused with a message naming
// the flag and the fix, on every command that has duration flags; "0" and values with units
// are accepted.
func TestDurationNeedsUnit(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"scan", "-timeout", "5", "127.0.0.1"}, `invalid value "5" for flag -timeout: add a unit, e.g. 5s`},
		{[]string{"scan", "127.0.0.1", "-connect-timeout", "3"}, `flag -connect-timeout: add a unit, e.g. 3s`},
		{[]string{"scan", "-session-timeout", "2.5", "127.0.0.1"}, `flag -session-timeout: add a unit, e.g. 2.5s`},
		{[]string{"scan", "-resume-interval", "10", "127.0.0.1"}, `flag -resume-interval: add a unit, e.g. 10s`},
		{[]string{"ls", "-timeout", "30", "//127.0.0.1/s"}, `flag -timeout: add a unit, e.g. 30s`},
		{[]string{"scan", "-timeout", "soon", "127.0.0.1"}, `invalid value "soon" for flag -timeout: want a duration with a unit, e.g. 500ms, 10s or 2m`},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, "", c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q lacks %q", c.args, code, stderr, c.want)
		}
	}
	var d durationFlag
	for in, want := range map[string]string{"0": "0s", "1m30s": "1m30s", "250ms": "250ms"} {
		if err := d.Set(in); err != nil || d.String() != want {
			t.Errorf("Set(%q): %v, %s", in, err, d.String())
		}
	}
}

func TestVersionFromBuildInfo(t *testing.T) {
	rev := "0123456789abcdef0123456789abcdef01234567"
	cases := []struct {
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{nil, false, "dev"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, "dev"},
		{&debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, true, "v1.2.3"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "false"}}}, true, "dev (0123456789ab)"},
		{&debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261207004325-0123456789ab+dirty"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "true"}}}, true, "v0.0.0-20261207004325-0123456789ab+dirty (0123456789ab, modified)"},
	}
	for _, c := range cases {
		if got := versionFromBuildInfo(c.bi, c.ok); got != c.want {
			t.Errorf("versionFromBuildInfo(%+v) = %q, want %q", c.bi, got, c.want)
		}
	}
}

// TestCLIBinary runs the real binary: flags after targets, a misspelled command, the version
// from the build information (and from -ldflags), completion scripts that the shells accept
// and that complete commands and flags, and a man page that groff renders without warnings.
func TestCLIBinary(t *testing.T) {
	bin := buildSmbsweep(t)
	runBin := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errb.String()
	}
	target := "127.0.0.1:" + strconv.Itoa(closedLoopbackPort(t))
	if code, out, stderr := runBin("", "scan", target, "-c", "10", "-timeout", "5s"); code != exitOK || strings.Count(out, `"type":"host"`) != 1 {
		t.Errorf("scan TARGET -c 10: exit %d, %q %q", code, out, stderr)
	}
	// Issue 16's views through the real binary: -smb-only drops the refused host from the
	// output while the summary counts it; the nxc view of it prints no host line; health
	// fails, with the reason, when nothing answers.
	if code, out, stderr := runBin("", "scan", "-smb-only", "-jsonl", target); code != exitOK ||
		strings.Count(out, `"type":"host"`) != 0 || !strings.Contains(out, `"connection-refused":1`) {
		t.Errorf("scan -smb-only: exit %d, %q %q", code, out, stderr)
	}
	if code, out, stderr := runBin("", "scan", "-text", "-text-style", "nxc", "-smb-only", "-no-color", target); code != exitOK ||
		strings.Contains(out, "SMB  ") || !strings.Contains(out, "connection-refused") {
		t.Errorf("scan -text-style nxc: exit %d, %q %q", code, out, stderr)
	}
	if code, _, stderr := runBin("", "health", "-url", "http://"+target+"/-/healthy"); code == exitOK || stderr == "" {
		t.Errorf("health of a closed port: exit %d, %q", code, stderr)
	}
	if code, _, stderr := runBin("", "scna"); code != exitUsage || !strings.Contains(stderr, `did you mean "scan"?`) {
		t.Errorf("scna: exit %d, %q", code, stderr)
	}
	if code, _, stderr := runBin("", "scan", "-timeout", "5", target); code != exitUsage || !strings.Contains(stderr, "-timeout: add a unit, e.g. 5s") {
		t.Errorf("-timeout 5: exit %d, %q", code, stderr)
	}

	// The version is what the toolchain recorded in this binary.
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	_, out, _ := runBin("", "version")
	if want := "smbsweep " + versionFromBuildInfo(info, true) + "\n"; out != want {
		t.Errorf("version = %q, want %q", out, want)
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && !strings.Contains(out, s.Value[:12]) {
			t.Errorf("version %q lacks the revision %s", out, s.Value[:12])
		}
	}
	ld := filepath.Join(t.TempDir(), "smbsweep-ld")
	if b, err := exec.Command("go", "build", "-ldflags", "-X main.version=v9.8.7 -X main.commit=abc1234", "-o", ld, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -ldflags: %v\n%s", err, b)
	}
	if b, _ := exec.Command(ld, "--version").Output(); string(b) != "smbsweep v9.8.7 (abc1234)\n" {
		t.Errorf("ldflags version = %q", b)
	}

	// Completion scripts.
	dir := t.TempDir()
	for _, sh := range []string{"bash", "zsh", "fish"} {
		code, script, stderr := runBin("", "completion", sh)
		if code != exitOK || script == "" {
			t.Fatalf("completion %s: exit %d, %q", sh, code, stderr)
		}
		path := filepath.Join(dir, "smbsweep."+sh)
		os.WriteFile(path, []byte(script), 0o644)
		for _, want := range []string{"scan", "serve", "-timeout", "connect-timeout", "metrics-push"} {
			if !strings.Contains(script, want) {
				t.Errorf("%s completion lacks %q", sh, want)
			}
		}
		if shell, err := exec.LookPath(sh); err == nil {
			if b, err := exec.Command(shell, "-n", path).CombinedOutput(); err != nil {
				t.Errorf("%s -n: %v\n%s", sh, err, b)
			}
		} else {
			t.Logf("%s not installed: script syntax not checked", sh)
		}
	}
	if code, _, stderr := runBin("", "completion", "tcsh"); code != exitUsage || !strings.Contains(stderr, "want bash, zsh or fish") {
		t.Errorf("completion tcsh: exit %d, %q", code, stderr)
	}
	complete := func(words ...string) string {
		t.Helper()
		script := `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _smbsweep; printf '%s\n' "${COMPREPLY[@]}"`
		b, err := exec.Command("bash", append([]string{"-c", script, "bash", filepath.Join(dir, "smbsweep.bash")}, words...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("bash completion %v: %v\n%s", words, err, b)
		}
		return string(b)
	}
	if got := complete("smbsweep", "sc"); got != "scan\n" {
		t.Errorf("complete 'sc' = %q", got)
	}
	if got := complete("smbsweep", "scan", "127.0.0.1", "-connect-t"); got != "-connect-timeout\n" {
		t.Errorf("complete 'scan ... -connect-t' = %q", got)
	}
	if got := complete("smbsweep", "scan", "-profile", "f"); got != "full\n" {
		t.Errorf("complete '-profile f' = %q", got)
	}
	if got := complete("smbsweep", "completion", "z"); got != "zsh\n" {
		t.Errorf("complete 'completion z' = %q", got)
	}

	if fish, err := exec.LookPath("fish"); err == nil {
		for line, want := range map[string]string{
			"smbsweep sc":                        "scan\t",
			"smbsweep scan 127.0.0.1 -connect-t": "-connect-timeout\t",
			"smbsweep scan -profile f":           "full\t",
			"smbsweep diff -te":                  "-text\t",
		} {
			b, err := exec.Command(fish, "-c", "source $argv[1]; complete -C $argv[2]", filepath.Join(dir, "smbsweep.fish"), line).CombinedOutput()
			if err != nil || !strings.HasPrefix(string(b), want) || strings.Count(string(b), "\n") != 1 {
				t.Errorf("fish complete %q = %q (%v), want one line starting %q", line, b, err, want)
			}
		}
	}

	// The man page.
	code, page, _ := runBin("", "man")
	if code != exitOK || !strings.HasPrefix(page, `.\"`) || !strings.Contains(page, ".TH SMBSWEEP 1") {
		t.Fatalf("man: exit %d, %.200q", code, page)
	}
	for _, c := range commands() {
		for _, f := range commandFlags(c) {
			if !strings.Contains(page, `\fB\-`+roff(f.name)+`\fR`) {
				t.Errorf("man page lacks %s -%s", c.name, f.name)
			}
		}
	}
	if groff, err := exec.LookPath("groff"); err == nil {
		cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z")
		cmd.Stdin = strings.NewReader(page)
		if b, err := cmd.CombinedOutput(); err != nil || len(b) > 0 {
			t.Errorf("groff: %v\n%s", err, b)
		}
	}
}

// TestImportScannerResults: -l reads nmap, masscan and Nessus result files (testdata in
// scanner/testdata/import, produced as its README says) and scans exactly the hosts with an SMB
// port open, on that port; -port picks another port; words of a file read as a list are
// refused, not looked up.
func TestImportScannerResults(t *testing.T) {
	dir := filepath.Join("..", "..", "scanner", "testdata", "import")
	ipPort := regexp.MustCompile(`"ip":"([^"]+)","port":(\d+)`)
	scanFile := func(extra ...string) (int, []string, string) {
		t.Helper()
		args := append([]string{"scan", "-jsonl", "-probes", "negotiate", "-timeout", "5s", "-c", "8"}, extra...)
		code, out, stderr := runCLI(t, "", args...)
		var got []string
		for _, m := range ipPort.FindAllStringSubmatch(out, -1) {
			got = append(got, m[1]+":"+m[2])
		}
		slices.Sort(got)
		return code, got, stderr
	}
	for _, file := range []string{"nmap.xml", "nmap.gnmap", "masscan.lst", "masscan.json", "masscan.xml", "nessus.nessus"} {
		path := filepath.Join(dir, file)
		code, got, stderr := scanFile("-l", path)
		want := []string{"127.203.77.1:445", "127.203.77.2:445", "127.203.77.3:139", "127.203.77.6:445"}
		if code != exitOK || !slices.Equal(got, want) {
			t.Errorf("%s: exit %d, scanned %v, want %v (stderr %q)", file, code, got, want, stderr)
		}
		// masscan reports only hosts with an open port (6 of the 7: 127.203.77.5 has none).
		seen := "4 of 7 hosts"
		if strings.HasPrefix(file, "masscan") {
			seen = "4 of 6 hosts"
		}
		if !strings.Contains(stderr, seen+" have port 445 or 139 open") {
			t.Errorf("%s: stderr %q lacks the import count (%s)", file, stderr, seen)
		}
		code, got, stderr = scanFile("-l", path, "-port", "8445")
		if want := []string{"127.203.77.7:8445"}; code != exitOK || !slices.Equal(got, want) {
			t.Errorf("%s -port 8445: exit %d, scanned %v, want %v (stderr %q)", file, code, got, want, stderr)
		}
	}

	// Grepable-looking words in a plain list: refused with file:line, never resolved.
	junk := filepath.Join(t.TempDir(), "hosts.txt")
	os.WriteFile(junk, []byte("127.0.0.1 Up open tcp\n"), 0o644)
	code, _, stderr := runCLI(t, "", "scan", "-strict", "-l", junk)
	if code != exitUsage || !strings.Contains(stderr, junk+`:1: invalid target "Up": a single word in a file is not taken as a host name`) {
		t.Errorf("junk words: exit %d, stderr %q", code, stderr)
	}
}

// TestGetJSONEncoding: get's JSON carries text as text ("encoding":"utf-8") and anything else,
// including text cut inside a character, as base64; -o leaves both out.
func TestGetJSONEncoding(t *testing.T) {
	cases := []struct {
		data            string
		isText, content bool
		enc, want       string
	}{
		{"hello\n", true, true, "utf-8", "hello\n"},
		{"\x00\x01\xff", false, true, "base64", "AAH/"},
		{"ab\xe2\x82", true, true, "base64", "YWLigg=="}, // truncated inside "€": text, but not valid UTF-8
		{"hello\n", true, false, "", ""},
	}
	for _, c := range cases {
		var b strings.Builder
		v := &fileView{w: &b, json: true}
		if err := v.get(client.ReadResult{Path: "f", Data: []byte(c.data), IsText: c.isText, BytesRead: int64(len(c.data))}, c.content); err != nil {
			t.Fatal(err)
		}
		var o map[string]any
		if err := json.Unmarshal([]byte(b.String()), &o); err != nil {
			t.Fatal(err)
		}
		enc, _ := o["encoding"].(string)
		content, _ := o["content"].(string)
		if enc != c.enc || content != c.want || o["is_text"] != c.isText {
			t.Errorf("%q: %s", c.data, b.String())
		}
	}
}

// TestDiffRefusesNonRecords: a file of {} (or an empty file) is no scan: diff says so instead
// of reporting every host of the other file as appeared or gone.
func TestDiffRefusesNonRecords(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	os.WriteFile(good, []byte(`{"schema":"smbsweep/v1","type":"host","ip":"127.0.0.2","port":445,"status":"smb"}`+"\n"+`{"type":"summary"}`+"\n"), 0o644)
	braces := filepath.Join(dir, "braces.jsonl")
	os.WriteFile(braces, []byte("{}\n{}\n"), 0o644)
	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, nil, 0o644)
	for _, c := range []struct{ a, b, want string }{
		{good, braces, braces + ": no scan records (none of its 2 lines is a host record or a summary)"},
		{braces, good, braces + ": no scan records"},
		{empty, good, empty + ": no scan records (it is empty)"},
	} {
		code, out, stderr := runCLI(t, "", "diff", c.a, c.b)
		if code != exitFailure || out != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("diff %s %s: exit %d, stdout %q, stderr %q", filepath.Base(c.a), filepath.Base(c.b), code, out, stderr)
		}
	}
	if code, _, stderr := runCLI(t, "", "diff", good, good); code != exitOK {
		t.Errorf("diff of a real file with itself: exit %d, %q", code, stderr)
	}
}

// TestFlagOnlyCommandsRefuseArguments: serve, health and man take flags only; a stray argument
// exits 2 with one line naming it and saying how to give it, and nothing on stdout.
func TestFlagOnlyCommandsRefuseArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "-log-level", "warn", "x.yml"}, "smbsweep serve: unexpected argument \"x.yml\": the configuration file is given with -config FILE\n"},
		{[]string{"health", "http://127.0.0.1:9445/-/healthy"}, "smbsweep health: unexpected argument \"http://127.0.0.1:9445/-/healthy\": give the address with -url " + defaultHealthURL + "\n"},
		{[]string{"man", "scan"}, "smbsweep man: unexpected argument \"scan\": the page covers every command\n"},
	} {
		code, out, stderr := runCLI(t, "", tc.args...)
		if code != exitUsage || out != "" || stderr != tc.want {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d, stderr %q", tc.args, code, out, stderr, exitUsage, tc.want)
		}
	}
}
