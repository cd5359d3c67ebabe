package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestHealthCommand checks `smbsweep health`: 0 for a 200 from /-/healthy, 1 with the reason
// for another status or nobody listening, 2 for a bad -url; and that it is in the usage.
func TestHealthCommand(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		if r.URL.Path != "/-/healthy" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		w.Write([]byte(`{"success":true,"status":"healthy"}`))
	}))
	defer srv.Close()
	if code, out, errOut := runCLI(t, "", "health", "-url", srv.URL+"/-/healthy"); code != exitOK || !strings.Contains(out, "healthy: "+srv.URL) {
		t.Errorf("healthy daemon: exit %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "", "health", "-url", srv.URL+"/nope"); code != exitFailure || !strings.Contains(errOut, "answered 404 Not Found") {
		t.Errorf("404: exit %d %q", code, errOut)
	}
	closed := "http://127.0.0.1:" + strconv.Itoa(closedLoopbackPort(t)) + "/-/healthy"
	if code, _, errOut := runCLI(t, "", "health", "-url", closed, "-timeout", "2s"); code != exitFailure || !strings.Contains(errOut, "is smbsweep serve running") {
		t.Errorf("nobody listening: exit %d %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "", "health", "-url", "127.0.0.1:9445"); code != exitUsage || !strings.Contains(errOut, "want an http(s) URL") {
		t.Errorf("bad url: exit %d %q", code, errOut)
	}
	if _, out, _ := runCLI(t, "", "help"); !strings.Contains(out, "smbsweep health [-url URL]") {
		t.Errorf("usage lacks health:\n%s", out)
	}
	if code, out, _ := runCLI(t, "", "help", "health"); code != exitOK || !strings.Contains(out, "HEALTHCHECK") || !strings.Contains(out, "-url URL") {
		t.Errorf("help health: %d %q", code, out)
	}
}

// TestDockerfile checks the runtime stage of the image: nonroot, a writable output directory
// owned by nonroot as a VOLUME, the API port exposed, and a HEALTHCHECK that runs this binary's
// health command with flags it accepts, against the exposed port on loopback.
// scripts/container-check.sh builds and runs the image where podman can.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	_, runtime, ok := strings.Cut(text, "\nFROM gcr.io/distroless/static-debian12:nonroot\n")
	if !ok {
		t.Fatal("no distroless nonroot runtime stage")
	}
	inst := map[string][]string{}
	for _, line := range strings.Split(runtime, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, " ")
		inst[k] = append(inst[k], strings.Join(strings.Fields(v), " "))
	}
	want := map[string]string{
		"USER":    "nonroot:nonroot",
		"VOLUME":  `["/var/lib/smbsweep"]`,
		"WORKDIR": "/var/lib/smbsweep",
		"EXPOSE":  "9445",
	}
	for k, v := range want {
		if got := inst[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s %q, want %q", k, got, v)
		}
	}
	if !slices.Contains(inst["COPY"], "--from=build --chown=65532:65532 /out/data /var/lib/smbsweep") {
		t.Errorf("the output directory is not created owned by nonroot: COPY %q", inst["COPY"])
	}
	if len(inst["HEALTHCHECK"]) != 1 {
		t.Fatalf("HEALTHCHECK %q", inst["HEALTHCHECK"])
	}
	_, cmdJSON, ok := strings.Cut(inst["HEALTHCHECK"][0], " CMD ")
	var argv []string
	if !ok || json.Unmarshal([]byte(cmdJSON), &argv) != nil || len(argv) < 2 || argv[0] != "/smbsweep" || argv[1] != "health" {
		t.Fatalf("HEALTHCHECK runs %q: want the exec form of /smbsweep health (no shell in distroless)", cmdJSON)
	}
	var f healthFlags
	g := newHealthFlagSet(&f)
	if pos, _, ok := parseArgs("health", g, argv[2:], io.Discard, io.Discard); !ok || len(pos) != 0 {
		t.Errorf("health refuses the HEALTHCHECK's arguments %q", argv[2:])
	}
	if f.url != "http://127.0.0.1:9445/-/healthy" {
		t.Errorf("HEALTHCHECK asks %s, want the exposed port on loopback", f.url)
	}
}
