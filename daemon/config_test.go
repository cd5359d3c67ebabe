package daemon

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testdataDir = "../configs/testdata"

func testEnv(vars map[string]string) Env {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

// invalidConfigs maps each rule (configs/testdata/invalid-<rule>.yml) to the exact error text
// after the file name.
var invalidConfigs = map[string]string{
	"allow-targets":              `api.allow_targets: "10.0.0.0/33" is not a CIDR (e.g. 10.0.0.0/8) or an address`,
	"api-hosts":                  `api.hosts: "http://smbsweep.example.com/": give a host name as clients put it in the Host header (e.g. smbsweep.example.com or smbsweep.example.com:8443), not a URL`,
	"credential-both-passwords":  `credential "audit": set only one of password_file and password_env`,
	"credential-duplicate":       `credential "audit": defined twice (credential names must be unique)`,
	"credential-inline-password": `credential "audit": inline passwords are not accepted: put the password in a file (password_file) or an environment variable (password_env)`,
	"credential-no-name":         `credential without a name: every credentials entry needs name`,
	"credential-no-password":     `credential "audit": no password: set password_file or password_env`,
	"credential-no-username":     `credential "audit": username is required`,
	"credential-password-env":    `credential "audit": password_env: environment variable SMBSWEEP_TEST_UNSET_PASSWORD is not set`,
	"credential-password-file":   `credential "audit": password_file: open ../configs/testdata/no-such-password.txt: no such file or directory`,
	"duplicate-key":              `line 3: mapping key "listen" already defined at line 2`,
	"empty":                      `the file is empty: see configs/smbsweep.yml for an example`,
	"inline-token":               `api.token: inline tokens are not accepted: put the token in a file (api.token_file) or an environment variable (api.token_env)`,
	"job-concurrency":            `job "lan": concurrency 0: must be 1-100000 hosts at once`,
	"job-connect-timeout":        `job "lan": connect_timeout -1s: must be positive (e.g. 3s)`,
	"job-connect-ahead":          `job "lan": connect_ahead -5: must be 0 (off) to 100000 hosts waiting for their TCP handshake`,
	"job-credentials":            `job "lan": credentials "audit": no such entry under credentials`,
	"job-duplicate":              `job "lan": defined twice (job names must be unique)`,
	"job-duration":               `line 6: invalid duration "10 seconds": use Go syntax such as 30s, 5m or 1h30m`,
	"job-every":                  `job "lan": schedule "@every 100ms": @every: 100ms is shorter than the minimum 1s`,
	"job-exclude":                `job "lan": excludes[0]: invalid exclusion "fileserver.example.com": exclusions must be IP addresses, CIDRs (10.0.0.0/24) or ranges (10.0.0.1-10.0.0.9), not host names`,
	"job-jitter":                 `job "lan": jitter -1s: must not be negative (0s disables it)`,
	"job-keep-runs":              `job "lan": keep_runs 0: must be at least 1`,
	"job-name":                   `job "Lan Scan": name must be 1-64 lowercase letters, digits, _ and - (it names the output directory and the metrics' scan_job label)`,
	"job-never":                  `job "lan": schedule "0 0 30 2 *" never runs`,
	"job-no-name":                `job without a name: every job needs name (lowercase letters, digits, _ and -)`,
	"job-no-schedule":            `job "lan": schedule is required: a cron expression such as "0 */6 * * *" or "@every 6h"`,
	"job-no-targets":             `job "lan": no targets: set targets (a list) or targets_file`,
	"job-null":                   `jobs[0]: empty entry`,
	"job-port":                   `job "lan": port 70000: must be 1-65535`,
	"job-profile":                `job "lan": profile "fast": want one of default, full, quick, vuln`,
	"job-rate":                   `job "lan": rate -5: must be 0 (unlimited) or a positive number of connections per second`,
	"job-rid-range":              `job "lan": rid_range: "1100-500": FIRST is above LAST; write the lower RID first, e.g. rid_range: 500-1100`,
	"job-schedule":               `job "lan": schedule "61 * * * *": minute: 61 is out of range 0-59`,
	"job-share":                  `job "lan": shares[0] "public/docs": give the share name only (e.g. public), not a path`,
	"job-target":                 `job "lan": targets[0]: invalid target "10.0.0.300": not an IP address, CIDR (10.0.0.0/24), range (10.0.0.1-10.0.0.9) or hostname`,
	"job-targets-file":           `job "lan": targets_file: open ../configs/testdata/no-such-targets.txt: no such file or directory`,
	"job-timeout":                `job "lan": timeout 0s: must be positive (the deadline of one host, e.g. 10s)`,
	"job-timezone":               `job "lan": timezone "Mars/Olympus_Mons": not an IANA time zone name such as Europe/Berlin or UTC`,
	"listen":                     `listen "localhost": want HOST:PORT, e.g. 127.0.0.1:9445`,
	"listen-host":                `listen "scanner.example.com:9445": the host must be an IP address (e.g. 127.0.0.1:9445) or localhost`,
	"max-body-bytes":             `api.max_body_bytes 0: must be positive (default 1048576)`,
	"max-concurrent-per-client":  `api.max_concurrent_per_client 0: must be 1-10000`,
	"max-concurrent-requests":    `api.max_concurrent_requests 0: must be 1-10000`,
	"max-hosts-in-flight":        `max_hosts_in_flight -1: must be 1-100000 hosts probed at once, or 0 to size it from the open-file limit`,
	"max-scan-targets":           `api.max_scan_targets -1: must be positive`,
	"no-token":                   `listen 0.0.0.0:9445 is not a loopback address and no API token is configured: set api.token_file (or api.token_env, or -token-file) so that clients must present a bearer token, or listen on 127.0.0.1`,
	"output-dir":                 `output_dir: must not be empty`,
	"shutdown-timeout":           `shutdown_timeout 0s: must be positive`,
	"token-env":                  `api.token_env: environment variable SMBSWEEP_TEST_UNSET_TOKEN is not set or empty`,
	"token-file":                 `api.token_file: open ../configs/testdata/does-not-exist.txt: no such file or directory`,
	"token-short":                `api.token_file: ../configs/testdata/short-token.txt:2: the token is 6 characters; use at least 16 (e.g. openssl rand -hex 32)`,
	"token-variety":              `api.token_file: ../configs/testdata/weak-token.txt:2: the token has only 1 different character (at least 6 needed): it is guessable; use a random token, e.g. openssl rand -hex 32`,
	"two-documents":              `more than one YAML document: keep the whole configuration in one`,
	"type":                       "line 6: cannot unmarshal !!str `many` into int",
	"unknown-api-key":            `line 3: unknown key "allow_target" in api (check the spelling; configs/smbsweep.yml lists every key)`,
	"unknown-job-key":            `line 6: unknown key "concurency" in a job (check the spelling; configs/smbsweep.yml lists every key)`,
	"unknown-key":                `line 2: unknown key "listn" in the top level (check the spelling; configs/smbsweep.yml lists every key)`,
}

func TestInvalidConfigs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testdataDir, "invalid-*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid-*.yml files: %v", err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		rule := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "invalid-"), ".yml")
		seen[rule] = true
		want, ok := invalidConfigs[rule]
		if !ok {
			t.Errorf("%s has no expected error in invalidConfigs", f)
			continue
		}
		_, err := LoadFile(f, testEnv(nil))
		if err == nil {
			t.Errorf("%s: accepted", f)
			continue
		}
		if got := err.Error(); got != f+": "+want {
			t.Errorf("%s:\n got  %q\n want %q", rule, got, f+": "+want)
		}
	}
	for rule := range invalidConfigs {
		if !seen[rule] {
			t.Errorf("rule %s has no configs/testdata/invalid-%s.yml", rule, rule)
		}
	}
}

func TestValidFullConfig(t *testing.T) {
	env := testEnv(map[string]string{"SMBSWEEP_TEST_TOKEN": "an-environment-token-0123", "SMBSWEEP_TEST_PASSWORD": "s3cret-from-env"})
	c, err := LoadFile(filepath.Join(testdataDir, "valid-full.yml"), env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "0.0.0.0:9445" || c.ShutdownTimeout.d() != 45*time.Second {
		t.Errorf("top level: %+v", c)
	}
	if len(c.API.tokens) != 3 || !c.API.AllowWrite || c.API.MaxBodyBytes != 65536 || c.API.MaxConcurrentPerClient != 2 || c.API.MaxScanTargets != 1024 {
		t.Errorf("api: %d tokens, %+v", len(c.API.tokens), c.API)
	}
	if len(c.API.allow) != 4 || c.API.allow[3].String() != "192.0.2.7/32" {
		t.Errorf("allow: %v", c.API.allow)
	}
	if c.MaxHostsInFlight != 2000 || c.API.MaxConcurrentRequests != 32 ||
		fmt.Sprint(c.API.hosts) != "[{smbsweep.example.com } {proxy.example.com 8443} {::1 9445}]" {
		t.Errorf("limits and hosts: %d %d %v", c.MaxHostsInFlight, c.API.MaxConcurrentRequests, c.API.hosts)
	}
	if len(c.Credentials) != 2 || c.Credentials[0].secret() != "not-a-real-password" || c.Credentials[1].secret() != "s3cret-from-env" {
		t.Fatalf("credentials not resolved")
	}
	for _, cr := range c.Credentials {
		for _, s := range []string{cr.String(), cr.GoString()} {
			if strings.Contains(s, cr.secret()) {
				t.Errorf("credential text shows the password: %s", s)
			}
		}
	}
	if len(c.Jobs) != 2 {
		t.Fatalf("jobs: %d", len(c.Jobs))
	}
	lan, quick := c.Jobs[0], c.Jobs[1]
	if lan.credential() != c.Credentials[0] || !lan.CSV || lan.KeepRuns != 5 || lan.Concurrency != 32 || lan.Rate != 100 ||
		lan.Timeout.d() != 15*time.Second || lan.ConnectTimeout.d() != 2*time.Second || lan.Jitter == nil || lan.Jitter.d() != 2*time.Minute ||
		lan.OutputDir != "/srv/smbsweep" || lan.Profile != "full" || len(lan.Shares) != 2 || lan.ahead() != 512 {
		t.Errorf("lan: %+v", lan)
	}
	if quick.ahead() != defaultJobConnectAhead || lan.filesNeeded() != 2*32+512+64 /* 2 sockets per host, connect_ahead, reserve */ {
		t.Errorf("connect_ahead: dmz_quick %d (want the default %d), lan needs %d files", quick.ahead(), defaultJobConnectAhead, lan.filesNeeded())
	}
	if !strings.HasSuffix(lan.TargetsFile, "configs/testdata/targets.txt") {
		t.Errorf("targets_file not made relative to the config: %s", lan.TargetsFile)
	}
	b, err := lan.targets()
	if err != nil {
		t.Fatal(err)
	}
	if set, err := b.Build(t.Context(), nil); err != nil || set.Len() != 1+3+1+1 {
		// 127.0.0.1, 127.0.0.8/30 minus .9 (3), [::1], and from the file 127.0.0.2:139 (its 127.0.0.1 is a duplicate).
		t.Errorf("lan targets: %v, %v", set.Len(), err)
	}
	// Defaults.
	if quick.Port != 445 || quick.Concurrency != defaultJobConcurrency || quick.Timeout.d() != defaultJobTimeout ||
		quick.KeepRuns != defaultKeepRuns || quick.Jitter != nil || quick.CSV || quick.credential() != nil ||
		quick.OutputDir != filepath.Join(testdataDir, "out") {
		t.Errorf("quick defaults: %+v", quick)
	}
	if interval(quick.scheduleOf(), time.Now()) != 30*time.Minute {
		t.Error("quick schedule")
	}
}

func TestDefaultsAndExample(t *testing.T) {
	c := newConfig()
	if err := c.resolve("", testEnv(nil)); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9445" || c.API.AllowWrite || c.API.hasTokens() || c.API.MaxBodyBytes != 1<<20 {
		t.Errorf("defaults: %+v", c)
	}
	if len(c.API.allow) != 2 || c.API.allow[0].String() != "127.0.0.0/8" || c.API.allow[1].String() != "::1/128" {
		t.Errorf("default allowlist: %v", c.API.allow)
	}
	ex, err := LoadFile("../configs/smbsweep.yml", testEnv(nil))
	if err != nil {
		t.Fatalf("the shipped example does not validate: %v", err)
	}
	if len(ex.Jobs) == 0 {
		t.Error("the example has no job")
	}
}

func TestOverrides(t *testing.T) {
	c := newConfig()
	if err := c.resolve("", testEnv(nil)); err != nil {
		t.Fatal(err)
	}
	err := c.applyOverrides(Overrides{Listen: "0.0.0.0:9445"})
	if err == nil || !strings.Contains(err.Error(), "is not a loopback address and no API token is configured") {
		t.Fatalf("non-loopback without token: %v", err)
	}
	c = newConfig()
	_ = c.resolve("", testEnv(nil))
	if err := c.applyOverrides(Overrides{Listen: "[::]:9445", TokenFile: filepath.Join(testdataDir, "tokens.txt"),
		AllowTargets: []string{"10.0.0.0/8"}, AllowWrite: true}); err != nil {
		t.Fatal(err)
	}
	if !c.API.hasTokens() || !c.API.AllowWrite || len(c.API.allow) != 1 || c.Listen != "[::]:9445" {
		t.Errorf("overrides not applied: %+v", c.API)
	}
	for _, o := range []Overrides{{Listen: "nope"}, {AllowTargets: []string{"300.0.0.0/8"}}, {TokenFile: "/nonexistent/tokens"}} {
		if err := newConfig().applyOverrides(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	// Loopback listeners in every spelling need no token.
	for _, l := range []string{"127.0.0.1:1", "127.9.9.9:1", "[::1]:1", "localhost:1"} {
		if !isLoopbackListen(l) {
			t.Errorf("%s not loopback", l)
		}
	}
	for _, l := range []string{":9445", "0.0.0.0:1", "[::]:1", "10.0.0.1:1"} {
		if isLoopbackListen(l) {
			t.Errorf("%s taken for loopback", l)
		}
	}
}
