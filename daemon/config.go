package daemon

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/smbsweep/smbsweep/internal/secretfile"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/scanner"
)

// Defaults of the daemon configuration (docs/DAEMON.md).
const (
	DefaultListen                 = "127.0.0.1:9445"
	defaultOutputDir              = "/var/lib/smbsweep"
	defaultMaxBodyBytes           = 1 << 20
	defaultMaxConcurrentPerClient = 4
	defaultMaxConcurrentRequests  = 64
	defaultMaxScanTargets         = 4096
	defaultShutdownTimeout        = 30 * time.Second
	defaultKeepRuns               = 10
	defaultJobConcurrency         = 64
	defaultJobTimeout             = 10 * time.Second
	defaultJobConnectTimeout      = 3 * time.Second
	defaultJobConnectAhead        = 1024
	minTokenLength                = 16
)

// Config is the daemon configuration file (configs/smbsweep.yml). Unknown keys are rejected;
// defaults are filled while decoding; Parse validates everything, including the files and
// environment variables it refers to.
type Config struct {
	// Listen is the HTTP address of the API, /metrics and /probe.
	Listen string `yaml:"listen"`
	// OutputDir is where jobs write their runs unless a job sets its own.
	OutputDir string `yaml:"output_dir"`
	// ShutdownTimeout bounds how long SIGTERM waits for hosts in flight before aborting them.
	ShutdownTimeout duration `yaml:"shutdown_timeout"`
	// MaxHostsInFlight bounds the hosts probed at once by API requests and jobs together; 0
	// sizes it from the open-file limit.
	MaxHostsInFlight int           `yaml:"max_hosts_in_flight"`
	API              apiConfig     `yaml:"api"`
	Credentials      []*credential `yaml:"credentials"`
	Jobs             []*Job        `yaml:"jobs"`
}

// apiConfig secures the HTTP API.
type apiConfig struct {
	// Token and Tokens exist only to reject inline secrets with a helpful message.
	Token  string   `yaml:"token"`
	Tokens []string `yaml:"tokens"`
	// TokenFile holds bearer tokens, one per line ('#' comments); TokenEnv names an
	// environment variable holding one token. Either or both.
	TokenFile string `yaml:"token_file"`
	TokenEnv  string `yaml:"token_env"`
	// AllowTargets are the CIDRs the API may probe (default: loopback only).
	AllowTargets []string `yaml:"allow_targets"`
	// AllowWrite enables /api/cifs/write.
	AllowWrite             bool  `yaml:"allow_write"`
	MaxBodyBytes           int64 `yaml:"max_body_bytes"`
	MaxConcurrentPerClient int   `yaml:"max_concurrent_per_client"`
	MaxScanTargets         int   `yaml:"max_scan_targets"`
	// MaxConcurrentRequests bounds the probe and scan requests served at once, all clients
	// together (503 above).
	MaxConcurrentRequests int `yaml:"max_concurrent_requests"`
	// Hosts are the names (host or host:port) clients may use in the Host header besides the
	// listen address, e.g. the name of a reverse proxy.
	Hosts []string `yaml:"hosts"`

	tokens [][sha256.Size]byte // hashes of the configured tokens
	allow  []netip.Prefix
	hosts  []hostName
}

// credential is a named identity for jobs. The password never appears in the file: it comes
// from PasswordFile (first line) or the PasswordEnv variable.
type credential struct {
	Name         string `yaml:"name"`
	Username     string `yaml:"username"`
	Domain       string `yaml:"domain"`
	Password     string `yaml:"password"` // rejected when set
	PasswordFile string `yaml:"password_file"`
	PasswordEnv  string `yaml:"password_env"`

	password string
}

// secret returns the resolved password. Nothing else exposes it.
func (c *credential) secret() string { return c.password }

// String never includes the password.
func (c *credential) String() string {
	return fmt.Sprintf("credential %s (%s\\%s, password redacted)", c.Name, c.Domain, c.Username)
}

// GoString never includes the password (for %#v).
func (c *credential) GoString() string { return c.String() }

// Job is one scheduled scan.
type Job struct {
	Name           string    `yaml:"name"`
	Targets        []string  `yaml:"targets"`
	TargetsFile    string    `yaml:"targets_file"`
	Excludes       []string  `yaml:"excludes"`
	Port           int       `yaml:"port"`
	Profile        string    `yaml:"profile"`
	Credentials    string    `yaml:"credentials"`
	Shares         []string  `yaml:"shares"`
	Concurrency    int       `yaml:"concurrency"`
	Rate           float64   `yaml:"rate"`
	Timeout        duration  `yaml:"timeout"`
	ConnectTimeout duration  `yaml:"connect_timeout"`
	ConnectAhead   *int      `yaml:"connect_ahead"`
	Schedule       string    `yaml:"schedule"`
	Timezone       string    `yaml:"timezone"`
	Jitter         *duration `yaml:"jitter"`
	OutputDir      string    `yaml:"output_dir"`
	KeepRuns       int       `yaml:"keep_runs"`
	CSV            bool      `yaml:"csv"`

	// EnumUsers lets stage lsa (profiles full, vuln) list account names by RID cycling over
	// RIDRange (FIRST-LAST, default 500-1100): names are sensitive, so it is off by default.
	EnumUsers bool   `yaml:"enum_users"`
	RIDRange  string `yaml:"rid_range"`

	schedule schedule
	cred     *credential
}

// duration is a Go duration string in YAML ("30s", "6h").
type duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration such as 30s, 5m or 1h30m", n.Line)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: invalid duration %q: use Go syntax such as 30s, 5m or 1h30m", n.Line, n.Value)
	}
	*d = duration(v)
	return nil
}

// d returns the time.Duration.
func (d duration) d() time.Duration { return time.Duration(d) }

// String formats the duration like time.Duration.
func (d duration) String() string { return time.Duration(d).String() }

// MarshalYAML writes the Go form.
func (d duration) MarshalYAML() (any, error) { return d.String(), nil }

// defaults of the top level and api; jobs and credentials get theirs in UnmarshalYAML.
func (c *Config) setDefaults() {
	c.Listen = DefaultListen
	c.OutputDir = defaultOutputDir
	c.ShutdownTimeout = duration(defaultShutdownTimeout)
	c.API.MaxBodyBytes = defaultMaxBodyBytes
	c.API.MaxConcurrentPerClient = defaultMaxConcurrentPerClient
	c.API.MaxScanTargets = defaultMaxScanTargets
	c.API.MaxConcurrentRequests = defaultMaxConcurrentRequests
}

// newConfig returns the configuration of a daemon started without a file: API only, defaults
// everywhere.
func newConfig() *Config {
	c := &Config{}
	c.setDefaults()
	return c
}

type plainJob Job

// ahead returns how many more hosts than concurrency may wait for their first TCP connection
// (connect_ahead, DefaultJobConnectAhead when not set).
func (j *Job) ahead() int {
	if j.ConnectAhead == nil {
		return defaultJobConnectAhead
	}
	return *j.ConnectAhead
}

// filesNeeded is about how many file descriptors a run of the job holds at most
// (scanner.filesNeeded).
func (j *Job) filesNeeded() uint64 { return scanner.FilesNeeded(j.Concurrency, j.ahead()) }

// UnmarshalYAML fills a job's defaults, decodes it strictly and checks what needs no other
// part of the file.
func (j *Job) UnmarshalYAML(unmarshal func(any) error) error {
	*j = Job{
		Port:           scanner.DefaultPort,
		Profile:        defaultProfile,
		Concurrency:    defaultJobConcurrency,
		Timeout:        duration(defaultJobTimeout),
		ConnectTimeout: duration(defaultJobConnectTimeout),
		KeepRuns:       defaultKeepRuns,
	}
	if err := unmarshal((*plainJob)(j)); err != nil {
		return err
	}
	return j.validate()
}

var jobNameRE = regexp.MustCompile(`^[a-z0-9_-]+$`)

// validate checks a job on its own, in the order of its keys' groups: name, targets, what is
// probed, pacing, schedule, retention.
func (j *Job) validate() error {
	if err := j.validateName(); err != nil {
		return err
	}
	where := fmt.Sprintf("job %q", j.Name)
	for _, check := range []func(string) error{j.validateTargets, j.validateScan, j.validatePacing, j.validateSchedule} {
		if err := check(where); err != nil {
			return err
		}
	}
	if j.KeepRuns < 1 {
		return fmt.Errorf("%s: keep_runs %d: must be at least 1", where, j.KeepRuns)
	}
	return nil
}

func (j *Job) validateName() error {
	if j.Name == "" {
		return errors.New("job without a name: every job needs name (lowercase letters, digits, _ and -)")
	}
	if !jobNameRE.MatchString(j.Name) || len(j.Name) > 64 {
		return fmt.Errorf("job %q: name must be 1-64 lowercase letters, digits, _ and - (it names the output directory and the metrics' scan_job label)", j.Name)
	}
	return nil
}

// validateTargets checks targets, port and excludes (targets_file is read by resolve).
func (j *Job) validateTargets(where string) error {
	if len(j.Targets) == 0 && j.TargetsFile == "" {
		return fmt.Errorf("%s: no targets: set targets (a list) or targets_file", where)
	}
	if j.Port < 1 || j.Port > 65535 {
		return fmt.Errorf("%s: port %d: must be 1-65535", where, j.Port)
	}
	b := scanner.NewTargetBuilder(uint16(j.Port))
	for i, t := range j.Targets {
		if err := b.Add(t); err != nil {
			return fmt.Errorf("%s: targets[%d]: %v", where, i, err)
		}
	}
	for i, e := range j.Excludes {
		if err := b.Exclude(e); err != nil {
			return fmt.Errorf("%s: excludes[%d]: %v", where, i, err)
		}
	}
	return nil
}

// validateScan checks what each host gets: profile, shares, concurrency and the RID range.
func (j *Job) validateScan(where string) error {
	if err := checkProfile(j.Profile); err != nil {
		return fmt.Errorf("%s: %v", where, err)
	}
	for i, s := range j.Shares {
		if s == "" || strings.ContainsAny(s, `\/`) {
			return fmt.Errorf("%s: shares[%d] %q: give the share name only (e.g. public), not a path", where, i, s)
		}
	}
	if j.Concurrency < 1 || j.Concurrency > 100000 {
		return fmt.Errorf("%s: concurrency %d: must be 1-100000 hosts at once", where, j.Concurrency)
	}
	if j.RIDRange != "" {
		if _, _, err := probes.ParseRIDRange(j.RIDRange); err != nil {
			return fmt.Errorf("%s: %s", where, strings.ReplaceAll(err.Error(), "-rid-range ", "rid_range: "))
		}
	}
	return nil
}

// validatePacing checks the connection rate, the deadlines and connect-ahead.
func (j *Job) validatePacing(where string) error {
	if j.Rate < 0 {
		return fmt.Errorf("%s: rate %g: must be 0 (unlimited) or a positive number of connections per second", where, j.Rate)
	}
	if j.Timeout <= 0 {
		return fmt.Errorf("%s: timeout %s: must be positive (the deadline of one host, e.g. 10s)", where, j.Timeout)
	}
	if j.ConnectTimeout <= 0 {
		return fmt.Errorf("%s: connect_timeout %s: must be positive (e.g. 3s)", where, j.ConnectTimeout)
	}
	if j.ConnectAhead != nil && (*j.ConnectAhead < 0 || *j.ConnectAhead > 100000) {
		return fmt.Errorf("%s: connect_ahead %d: must be 0 (off) to 100000 hosts waiting for their TCP handshake", where, *j.ConnectAhead)
	}
	return nil
}

// validateSchedule parses schedule in timezone, refuses one that never runs, and checks jitter.
func (j *Job) validateSchedule(where string) error {
	if j.Schedule == "" {
		return fmt.Errorf(`%s: schedule is required: a cron expression such as "0 */6 * * *" or "@every 6h"`, where)
	}
	loc := time.UTC
	if j.Timezone != "" {
		l, err := time.LoadLocation(j.Timezone)
		if err != nil || j.Timezone == "Local" {
			return fmt.Errorf("%s: timezone %q: not an IANA time zone name such as Europe/Berlin or UTC", where, j.Timezone)
		}
		loc = l
	}
	s, err := parseSchedule(j.Schedule, loc)
	if err != nil {
		return fmt.Errorf("%s: schedule %q: %v", where, j.Schedule, err)
	}
	if interval(s, time.Now()) == 0 {
		return fmt.Errorf("%s: schedule %q never runs", where, j.Schedule)
	}
	j.schedule = s
	if j.Jitter != nil && *j.Jitter < 0 {
		return fmt.Errorf("%s: jitter %s: must not be negative (0s disables it)", where, j.Jitter)
	}
	return nil
}

type plainCredential credential

// UnmarshalYAML decodes a credential strictly and refuses an inline password.
func (c *credential) UnmarshalYAML(unmarshal func(any) error) error {
	*c = credential{}
	if err := unmarshal((*plainCredential)(c)); err != nil {
		return err
	}
	if c.Name == "" {
		return errors.New("credential without a name: every credentials entry needs name")
	}
	if !jobNameRE.MatchString(c.Name) {
		return fmt.Errorf("credential %q: name must be lowercase letters, digits, _ and -", c.Name)
	}
	if c.Password != "" {
		c.Password = ""
		return fmt.Errorf("credential %q: inline passwords are not accepted: put the password in a file (password_file) or an environment variable (password_env)", c.Name)
	}
	if c.Username == "" {
		return fmt.Errorf("credential %q: username is required", c.Name)
	}
	switch {
	case c.PasswordFile == "" && c.PasswordEnv == "":
		return fmt.Errorf("credential %q: no password: set password_file or password_env", c.Name)
	case c.PasswordFile != "" && c.PasswordEnv != "":
		return fmt.Errorf("credential %q: set only one of password_file and password_env", c.Name)
	}
	return nil
}

// Env looks up environment variables (os.LookupEnv, or a map in tests).
type Env func(string) (string, bool)

// LoadFile reads and validates a configuration file, as `smbsweep config check` does.
// Relative paths in it (token_file, password_file, targets_file, output_dir) are relative to
// the file's directory. Errors start with the file name.
func LoadFile(path string, env Env) (*Config, error) {
	return loadFile(path, env, true)
}

func loadFile(path string, env Env, checkExposure bool) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := parse(data, filepath.Dir(path), env, checkExposure)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// parseConfig decodes and validates a configuration; baseDir anchors relative paths.
func parseConfig(data []byte, baseDir string, env Env) (*Config, error) {
	return parse(data, baseDir, env, true)
}

func parse(data []byte, baseDir string, env Env, checkExposure bool) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	c := &Config{}
	c.setDefaults()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty: see configs/smbsweep.yml for an example")
		}
		return nil, friendlyYAMLError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document: keep the whole configuration in one")
	}
	if err := c.resolve(baseDir, env); err != nil {
		return nil, err
	}
	if checkExposure {
		if err := c.checkExposure(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

var unknownFieldRE = regexp.MustCompile(`^line (\d+): field (\S+) not found in type daemon\.(\w+)$`)

// sections names the YAML section each decoded Go type stands for.
var sections = map[string]string{
	"Config": "the top level", "apiConfig": "api", "plainJob": "a job", "plainCredential": "a credential",
}

// friendlyYAMLError rewrites yaml's type errors into the file's own terms.
func friendlyYAMLError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	msgs := make([]string, 0, len(te.Errors))
	for _, m := range te.Errors {
		if sm := unknownFieldRE.FindStringSubmatch(m); sm != nil {
			sec := sections[sm[3]]
			if sec == "" {
				sec = sm[3]
			}
			m = fmt.Sprintf("line %s: unknown key %q in %s (check the spelling; configs/smbsweep.yml lists every key)", sm[1], sm[2], sec)
		}
		msgs = append(msgs, m)
	}
	return errors.New(strings.Join(msgs, "; "))
}

// resolve checks what spans sections and reads the secrets and files the configuration names.
func (c *Config) resolve(baseDir string, env Env) error {
	if err := c.checkTopLevel(); err != nil {
		return err
	}
	if err := c.API.resolve(baseDir, env); err != nil {
		return err
	}
	creds, err := c.resolveCredentials(baseDir, env)
	if err != nil {
		return err
	}
	if err := c.resolveJobs(baseDir, creds); err != nil {
		return err
	}
	c.OutputDir = absPath(baseDir, c.OutputDir)
	return nil
}

// checkTopLevel checks the top-level keys: listen, output_dir, shutdown_timeout and
// max_hosts_in_flight.
func (c *Config) checkTopLevel() error {
	if err := checkListen(c.Listen); err != nil {
		return err
	}
	if c.OutputDir == "" {
		return errors.New("output_dir: must not be empty")
	}
	if c.ShutdownTimeout <= 0 {
		return fmt.Errorf("shutdown_timeout %s: must be positive", c.ShutdownTimeout)
	}
	if c.MaxHostsInFlight < 0 || c.MaxHostsInFlight > maxAutoHostBudget {
		return fmt.Errorf("max_hosts_in_flight %d: must be 1-%d hosts probed at once, or 0 to size it from the open-file limit", c.MaxHostsInFlight, maxAutoHostBudget)
	}
	return nil
}

// resolveCredentials refuses empty and duplicate entries, then reads each password; it
// returns the credentials by name.
func (c *Config) resolveCredentials(baseDir string, env Env) (map[string]*credential, error) {
	creds := make(map[string]*credential, len(c.Credentials))
	for i, cr := range c.Credentials {
		if cr == nil {
			return nil, fmt.Errorf("credentials[%d]: empty entry", i)
		}
		if _, dup := creds[cr.Name]; dup {
			return nil, fmt.Errorf("credential %q: defined twice (credential names must be unique)", cr.Name)
		}
		creds[cr.Name] = cr
	}
	for _, cr := range c.Credentials {
		if err := cr.resolve(baseDir, env); err != nil {
			return nil, err
		}
	}
	return creds, nil
}

// resolveJobs refuses empty and duplicate jobs, links each to its credential, anchors its
// paths at baseDir and reads its targets_file.
func (c *Config) resolveJobs(baseDir string, creds map[string]*credential) error {
	names := make(map[string]bool, len(c.Jobs))
	for i, j := range c.Jobs {
		if j == nil {
			return fmt.Errorf("jobs[%d]: empty entry", i)
		}
		if names[j.Name] {
			return fmt.Errorf("job %q: defined twice (job names must be unique)", j.Name)
		}
		names[j.Name] = true
		if err := j.resolve(baseDir, c.OutputDir, creds); err != nil {
			return err
		}
	}
	return nil
}

// resolve links the job to its credential, fills its output_dir from outputDir, anchors its
// paths at baseDir and reads its targets_file.
func (j *Job) resolve(baseDir, outputDir string, creds map[string]*credential) error {
	if j.Credentials != "" {
		cr, ok := creds[j.Credentials]
		if !ok {
			return fmt.Errorf("job %q: credentials %q: no such entry under credentials", j.Name, j.Credentials)
		}
		j.cred = cr
	}
	if j.OutputDir == "" {
		j.OutputDir = outputDir
	}
	j.OutputDir = absPath(baseDir, j.OutputDir)
	if j.TargetsFile != "" {
		j.TargetsFile = absPath(baseDir, j.TargetsFile)
		if _, err := j.targets(); err != nil {
			return fmt.Errorf("job %q: %v", j.Name, err)
		}
	}
	return nil
}

// checkExposure refuses an API listening beyond loopback without tokens. Call it again after
// command-line flags changed the listen address or the tokens.
func (c *Config) checkExposure() error {
	if !isLoopbackListen(c.Listen) && len(c.API.tokens) == 0 {
		return fmt.Errorf("listen %s is not a loopback address and no API token is configured: set api.token_file (or api.token_env, or -token-file) so that clients must present a bearer token, or listen on 127.0.0.1", c.Listen)
	}
	return nil
}

func checkListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen %q: want HOST:PORT, e.g. %s", addr, DefaultListen)
	}
	if host != "" && host != "localhost" {
		if _, err := netip.ParseAddr(host); err != nil {
			return fmt.Errorf("listen %q: the host must be an IP address (e.g. %s) or localhost", addr, DefaultListen)
		}
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("listen %q: bad port %q", addr, port)
	}
	return nil
}

// isLoopbackListen reports whether addr binds loopback only. An empty host binds every
// interface.
func isLoopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func absPath(base, p string) string {
	if p == "" || filepath.IsAbs(p) || base == "" {
		return p
	}
	return filepath.Join(base, p)
}

// defaultAllowTargets is the API allowlist when none is configured: loopback only.
var defaultAllowTargets = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func (a *apiConfig) resolve(baseDir string, env Env) error {
	if a.Token != "" || len(a.Tokens) > 0 {
		a.Token, a.Tokens = "", nil
		return errors.New("api.token: inline tokens are not accepted: put the token in a file (api.token_file) or an environment variable (api.token_env)")
	}
	if a.MaxBodyBytes < 1 {
		return fmt.Errorf("api.max_body_bytes %d: must be positive (default %d)", a.MaxBodyBytes, defaultMaxBodyBytes)
	}
	if a.MaxConcurrentPerClient < 1 || a.MaxConcurrentPerClient > 10000 {
		return fmt.Errorf("api.max_concurrent_per_client %d: must be 1-10000", a.MaxConcurrentPerClient)
	}
	if a.MaxScanTargets < 1 {
		return fmt.Errorf("api.max_scan_targets %d: must be positive", a.MaxScanTargets)
	}
	if a.MaxConcurrentRequests < 1 || a.MaxConcurrentRequests > 10000 {
		return fmt.Errorf("api.max_concurrent_requests %d: must be 1-10000", a.MaxConcurrentRequests)
	}
	hosts, err := parseHostNames(a.Hosts)
	if err != nil {
		return fmt.Errorf("api.hosts: %v", err)
	}
	a.hosts = hosts
	allow, err := parseAllowTargets(a.AllowTargets)
	if err != nil {
		return fmt.Errorf("api.allow_targets: %v", err)
	}
	a.allow = allow
	a.tokens = nil
	if a.TokenFile != "" {
		a.TokenFile = absPath(baseDir, a.TokenFile)
		if err := a.loadTokenFile(a.TokenFile); err != nil {
			return fmt.Errorf("api.token_file: %v", err)
		}
	}
	if a.TokenEnv != "" {
		v, ok := env(a.TokenEnv)
		v = strings.TrimSpace(v)
		if !ok || v == "" {
			return fmt.Errorf("api.token_env: environment variable %s is not set or empty", a.TokenEnv)
		}
		if err := checkToken(v); err != nil {
			return fmt.Errorf("api.token_env: the token in %s %v", a.TokenEnv, err)
		}
		a.tokens = append(a.tokens, sha256.Sum256([]byte(v)))
	}
	return nil
}

// parseAllowTargets parses CIDRs (or single addresses); an empty list means loopback only.
func parseAllowTargets(list []string) ([]netip.Prefix, error) {
	if len(list) == 0 {
		return defaultAllowTargets, nil
	}
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not a CIDR (e.g. 10.0.0.0/8) or an address", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// loadTokenFile adds the tokens in path: one per line, blank lines and '#' comments ignored.
func (a *apiConfig) loadTokenFile(path string) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	if st, err := fh.Stat(); err == nil {
		if _, err := secretfile.Check(path, st.Mode(), secretfile.Token); err != nil {
			return err // readable by others is only a warning: Config.SecretFileWarnings
		}
	}
	sc := bufio.NewScanner(fh)
	n, line := 0, 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if err := checkToken(t); err != nil {
			return fmt.Errorf("%s:%d: the token %v", path, line, err)
		}
		a.tokens = append(a.tokens, sha256.Sum256([]byte(t)))
		n++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: no token in the file (one token per line)", path)
	}
	return nil
}

// hasTokens reports whether bearer tokens are configured.
func (a *apiConfig) hasTokens() bool { return len(a.tokens) > 0 }

func (c *credential) resolve(baseDir string, env Env) error {
	if c.PasswordFile != "" {
		c.PasswordFile = absPath(baseDir, c.PasswordFile)
		data, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return fmt.Errorf("credential %q: password_file: %v", c.Name, err)
		}
		first, _, _ := strings.Cut(string(data), "\n")
		c.password = strings.TrimRight(first, "\r")
		return nil
	}
	v, ok := env(c.PasswordEnv)
	if !ok {
		return fmt.Errorf("credential %q: password_env: environment variable %s is not set", c.Name, c.PasswordEnv)
	}
	c.password = v
	return nil
}

// targets builds the job's target set specification (without resolving names): the inline
// list, the targets file (re-read on every run) and the exclusions.
func (j *Job) targets() (*scanner.TargetBuilder, error) {
	b := scanner.NewTargetBuilder(uint16(j.Port))
	for _, t := range j.Targets {
		if err := b.Add(t); err != nil {
			return nil, err
		}
	}
	if j.TargetsFile != "" {
		fh, err := os.Open(j.TargetsFile)
		if err != nil {
			return nil, fmt.Errorf("targets_file: %v", err)
		}
		_, err = b.AddReader(fh, j.TargetsFile, true)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("targets_file: %v", err)
		}
	}
	for _, e := range j.Excludes {
		if err := b.Exclude(e); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// credential returns the job's resolved credential, or nil.
func (j *Job) credential() *credential { return j.cred }

// scheduleOf returns the parsed schedule.
func (j *Job) scheduleOf() schedule { return j.schedule }
