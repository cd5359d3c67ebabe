package probes

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// StageName names a pipeline stage: the keys of a record's "stages", the words of -probes and
// of the profiles.
type StageName string

// The stages, in pipeline order. To add a stage:
//  1. write probes/stage_NAME.go, a func(ctx, *Session, *Result) error;
//  2. add its constant here and one line to stageDefs below (connection, requires, after,
//     uses, gate, run, about);
//  3. put its record fields in result.go and encode them in output/encode.go (the filler
//     test fails until you do), document them in docs/schema.md (the drift test fails until
//     you do);
//  4. name it in the profiles of configs/profiles.yaml that should run it.
//
// Output, metrics, profiles, -h and the API derive the stage list from stageDefs.
const (
	StageNegotiate  StageName = "negotiate"
	StageSMB1       StageName = "smb1"
	StageDialects   StageName = "dialects"
	StageSession    StageName = "session"
	StageGuest      StageName = "guest"
	StageTree       StageName = "tree"
	StageMS17010    StageName = "ms17010"
	StageShares     StageName = "shares"
	StageShareProbe StageName = "shareprobe"
	StageAccess     StageName = "access"
	StageLSA        StageName = "lsa"
	StageSAMR       StageName = "samr"
	StageAuth       StageName = "auth"
	StageLs         StageName = "ls"
	StageRead       StageName = "read"
	StageStat       StageName = "stat"
	StageCoercion   StageName = "coercion"
	StageNBStat     StageName = "nbstat"
)

// stageDef is one stage's registry line. Dependencies are declared once, by kind:
//
//   - requires: stages that must have ended "ok" for this one to run (Stage.Needs);
//   - after: stages this one comes after and reads, but whose outcome its gate judges: it may
//     run when they failed (shares runs on a guest session when the null session was refused).
//
// Both are added to any pipeline that names the stage. uses lists further stages whose
// results it works with without pulling them in (a stage skipped because one of those got no
// answer is missing too, see Stage.uses).
type stageDef struct {
	name     StageName
	about    string
	conn     string // the connection it works on (Stage.conn)
	requires []StageName
	after    []StageName
	uses     []StageName
	smb1     bool // it has an SMB1 path for hosts that speak SMB1 only (Stage.smb1)
	gate     func(*Session, *Result) string
	run      StageFunc
	begin    func(context.Context, *Session)
	// sessionTimeout gives the stage Options.SessionTimeout as its own deadline (logons may be
	// delayed by the server).
	sessionTimeout bool
}

// stageDefs is every stage in the order pipelines run them.
var stageDefs = []stageDef{
	{name: StageNegotiate, conn: connSMB2, run: stageNegotiate,
		about: "SMB2/3 NEGOTIATE: dialect, GUID, signing, capabilities, 3.1.1 posture"},
	{name: StageSMB1, conn: connSMB1, gate: unreachable, run: stageSMB1,
		about: "dedicated SMB1 NEGOTIATE (NT LM 0.12) on its own connection"},
	{name: StageDialects, conn: connDialects, requires: []StageName{StageNegotiate}, run: stageDialects,
		about: "enumerate accepted dialects and 3.1.1 ciphers (one connection each)"},
	{name: StageSession, conn: connSMB2, smb1: true, requires: []StageName{StageNegotiate}, sessionTimeout: true, run: stageNullSession,
		about: "anonymous NTLMSSP null session; records the NTLM CHALLENGE"},
	{name: StageGuest, conn: connSMB2, smb1: true, requires: []StageName{StageNegotiate}, sessionTimeout: true, run: stageGuest,
		about: "logon as a non-existent user with a random password (guest mapping)"},
	{name: StageTree, conn: connSMB2, smb1: true, requires: []StageName{StageSession}, run: stageTree,
		about: "TREE_CONNECT IPC$ (decides null session allowed) and each -share"},
	// ms17010 comes after session and tree (without needing them): on an SMB1-only host it
	// peeks with their null session and IPC$ tree, elsewhere on the smb1 stage's connection.
	{name: StageMS17010, conn: connSMB1, requires: []StageName{StageSMB1}, gate: needSMB1, sessionTimeout: true, run: stageMS17010,
		about: "MS17-010 (EternalBlue) and DoublePulsar on SMB1 hosts: SMB1 logon, IPC$, PeekNamedPipe on FID 0 (chained on the smb1 connection)"},
	{name: StageShares, conn: connSMB2, smb1: true, requires: []StageName{StageNegotiate}, after: []StageName{StageSession}, uses: []StageName{StageGuest},
		gate: anySession, sessionTimeout: true, run: stageShares,
		about: "list shares over SRVSVC (NetrShareEnum on \\srvsvc; over SMB1 TRANSACTION on SMB1-only hosts) as anonymous and guest"},
	// shareprobe does not use guest: without a guest answer it probes with the null session, and
	// skipped because SRVSVC listed the shares it waited for nothing.
	{name: StageShareProbe, conn: connSMB2, requires: []StageName{StageNegotiate}, after: []StageName{StageSession}, uses: []StageName{StageTree, StageShares},
		gate: needShareList, sessionTimeout: true, run: stageShareProbeRun,
		about: "when SRVSVC gives no share list: TREE_CONNECT well-known names (-probe-shares); ACCESS_DENIED = exists"},
	{name: StageAccess, conn: connSMB2, smb1: true, requires: []StageName{StageNegotiate}, after: []StageName{StageSession},
		uses: []StageName{StageGuest, StageTree, StageShares, StageShareProbe}, gate: anySession, run: stageAccess,
		about: "per share and identity: tree connect, read check; write check with -check-write"},
	{name: StageLSA, conn: connSMB2, smb1: true, requires: []StageName{StageNegotiate}, after: []StageName{StageSession}, uses: []StageName{StageGuest},
		gate: anySession, run: stageLSA,
		about: "per identity: LSA on \\lsarpc (read-only): domain name and SID, SID translation; RID cycling with -enum-users"},
	{name: StageSAMR, conn: connSMB2, smb1: true, requires: []StageName{StageNegotiate}, after: []StageName{StageSession}, uses: []StageName{StageGuest},
		gate: anySession, run: stageSAMR,
		about: "per identity: SAMR on \\samr (read-only): the account domain's password and lockout policy"},
	{name: StageAuth, conn: connAuth, requires: []StageName{StageNegotiate}, gate: needCredentials, run: stageAuth,
		about: "credentialed NTLMv2 logon (own connection): dialect, session flags, signing and encryption in use"},
	{name: StageLs, conn: connAuth, requires: []StageName{StageAuth}, gate: needShare, run: stageLs,
		about: "credentialed listing of -path on the first -share (-depth, -max-entries)"},
	{name: StageRead, conn: connAuth, requires: []StageName{StageAuth}, gate: needSharePath, run: stageRead,
		about: "credentialed read of -path on the first -share (up to -max-bytes)"},
	{name: StageStat, conn: connSMB2, requires: []StageName{StageSession}, after: []StageName{StageTree}, gate: treeRan, run: stageStat,
		about: "CREATE + QUERY_INFO of -path on the first -share"},
	// coercion runs after every other stage of the shared connection: the ~10 pipe handles per
	// identity it leaves for closeLater then go with the connection instead of costing a CLOSE
	// each before the next stage; and after auth, whose logon is its third identity.
	{name: StageCoercion, conn: connSMB2, requires: []StageName{StageNegotiate}, after: []StageName{StageSession},
		uses: []StageName{StageGuest, StageAuth}, gate: coercionGate, run: stageCoercion,
		about: "per identity (anonymous, guest, -u): BIND only to the RPC interfaces that can coerce authentication (RPRN, EFSR, DFSNM, FSRVP, EVEN); WebClient and Spooler running"},
	{name: StageNBStat, conn: connNBStat, begin: beginNBStat, run: stageNBStat,
		about: "NetBIOS NODE STATUS on UDP 137 (names, MAC, workgroup, users, DC); the query goes out when the host starts"},
}

// stage builds the pipeline stage of d.
func (d *stageDef) stage(opts *Options) Stage {
	st := Stage{Name: d.name, Needs: slices.Clone(d.requires), Gate: d.gate, Run: d.run, Begin: d.begin,
		conn: d.conn, smb1: d.smb1}
	if d.sessionTimeout {
		st.Timeout = opts.SessionTimeout
	}
	st.uses = slices.Concat(d.requires, d.after, d.uses)
	return st
}

// StageNames lists every stage name in pipeline order.
func StageNames() []string {
	names := make([]string, len(stageDefs))
	for i, d := range stageDefs {
		names[i] = string(d.name)
	}
	return names
}

// Credentialed reports whether the named stage works with the -u credentials: the stages on
// the credentialed connection (auth, ls, read), whose results (a logon's outcome, a listing, a
// file's content) are private.
func Credentialed(name string) bool {
	i := slices.IndexFunc(stageDefs, func(d stageDef) bool { return string(d.name) == name })
	return i >= 0 && stageDefs[i].conn == connAuth
}

// StageHelp returns one "name: what it does" line per stage, for -h.
func StageHelp() string {
	var b strings.Builder
	for _, d := range stageDefs {
		fmt.Fprintf(&b, "  %-10s %s\n", d.name, d.about)
	}
	return b.String()
}

// NewPipeline builds a pipeline of the named stages plus every stage they need, in pipeline
// order whatever the order given. The stat stage is added when opts names a -share/-path.
// Unknown names are an error listing the valid ones.
func NewPipeline(names []string, opts *Options) (*Pipeline, error) {
	want := map[StageName]bool{}
	var add func(StageName) error
	add = func(n StageName) error {
		i := slices.IndexFunc(stageDefs, func(d stageDef) bool { return d.name == n })
		if i < 0 {
			return fmt.Errorf("unknown probe stage %q: valid stages are %s", n, strings.Join(StageNames(), ", "))
		}
		if want[n] {
			return nil
		}
		want[n] = true
		for _, dep := range slices.Concat(stageDefs[i].requires, stageDefs[i].after) {
			if err := add(dep); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range names {
		if err := add(StageName(strings.TrimSpace(n))); err != nil {
			return nil, err
		}
	}
	if opts.StatShare != "" {
		if err := add(StageStat); err != nil {
			return nil, err
		}
	}
	p := &Pipeline{Opts: opts}
	for i := range stageDefs {
		if want[stageDefs[i].name] {
			p.Stages = append(p.Stages, stageDefs[i].stage(opts))
		}
	}
	return p, nil
}

// DefaultStages is the default profile's stage list when no profile file says otherwise.
var DefaultStages = []string{"negotiate", "smb1", "ms17010", "session", "tree", "shares", "nbstat"}

// DefaultPipeline returns the pipeline of DefaultStages (plus stat when opts asks for it).
func DefaultPipeline(opts *Options) *Pipeline {
	p, err := NewPipeline(DefaultStages, opts)
	if err != nil {
		panic(err) // DefaultStages are known names
	}
	return p
}
