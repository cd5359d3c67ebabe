package daemon

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/smbsweep/smbsweep/client"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/wire"
)

// Default timeouts of the seed endpoints (the seed documents'), milliseconds in requests.
const (
	timeoutSMB           = 30 * time.Second
	timeoutCIFSNegotiate = 10 * time.Second
	timeoutCIFSStat      = 15 * time.Second
)

// sessionID is a 64-bit SMB2 SessionId in JSON: a number when it is at most 2^53 (exact in
// every JSON parser), else a decimal string, so that no client silently rounds it.
type sessionID uint64

// MarshalJSON implements json.Marshaler.
func (id sessionID) MarshalJSON() ([]byte, error) {
	if uint64(id) <= 1<<53 {
		return strconv.AppendUint(nil, uint64(id), 10), nil
	}
	return json.Marshal(strconv.FormatUint(uint64(id), 10))
}

// common are the fields of every probe response.
type common struct {
	Success bool   `json:"success"`
	Host    string `json:"host"`
	// IP is the address probed (host resolved).
	IP   string `json:"ip"`
	Port int    `json:"port"`
	// LatencyMs is the time the probe took, in milliseconds.
	LatencyMs int64 `json:"latencyMs"`
	// Status is the host status of the result schema (smb, connection-refused, ...).
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// Result is the full record of docs/schema.md.
	Result *probes.Result `json:"result"`
	// Protocol is the SMB protocol that carried the answer ("smb2" or "smb1"), where one did.
	Protocol string `json:"protocol,omitempty"`
}

func newCommon(pr *probeRun) common {
	return common{
		Host: pr.host, IP: pr.target.Addr.String(), Port: int(pr.target.Port),
		LatencyMs: int64(math.Round(pr.res.DurationSeconds * 1000)), Status: string(pr.res.Status), Result: pr.res,
	}
}

// smbCapabilityNames are the seed's /api/smb/negotiate names of the capability bits.
var smbCapabilityNames = []string{"DFS", "Leasing", "LargeMTU", "MultiChannel", "PersistentHandles", "DirectoryLeasing", "Encryption", "Notifications"}

// cifsCapabilityNames are the seed's /api/cifs/negotiate names.
var cifsCapabilityNames = []string{"DFS", "LEASING", "LARGE_MTU", "MULTI_CHANNEL", "PERSISTENT_HANDLES", "DIR_LEASING", "ENCRYPTION", "NOTIFICATIONS"}

func bitNames(v uint32, names []string) []string {
	out := []string{}
	for i := 0; i < 32; i++ {
		if v&(1<<i) == 0 {
			continue
		}
		if i < len(names) {
			out = append(out, names[i])
		} else {
			out = append(out, fmt.Sprintf("0x%08x", uint32(1)<<i))
		}
	}
	return out
}

// hex32Or is the value, 0 when absent.
func hex32Or(v *probes.Hex32) probes.Hex32 {
	if v == nil {
		return 0
	}
	return *v
}

// nullSession returns the probe's anonymous session when its SESSION_SETUP succeeded.
func nullSession(res *probes.Result) (*probes.SessionInfo, bool) {
	n := res.Sessions.Null
	return n, n != nil && n.SetupOK != nil && *n.SetupOK
}

// nullSessionID is the 64-bit SessionId of the probe's anonymous session (0 without one).
func nullSessionID(res *probes.Result) sessionID {
	if n, ok := nullSession(res); ok {
		return sessionID(n.ID())
	}
	return 0
}

// anonymousTree returns the numbers of the anonymous session's TREE_CONNECT to share, when
// it succeeded.
func anonymousTree(res *probes.Result, share string) (probes.TreeRaw, *probes.ShareAccess, bool) {
	a, ok := res.TreeConnected(share, "anonymous")
	if !ok {
		return probes.TreeRaw{}, nil, false
	}
	return a.Raw(), a, true
}

// seedDialect is the seed's dialect form: "SMB 3.1.1".
func seedDialect(d string) string { return "SMB " + d }

// --- /api/smb/connect -------------------------------------------------------------------

type connectResponse struct {
	common
	Message        string `json:"message"`
	Dialect        string `json:"dialect"`
	ServerResponse string `json:"serverResponse"`
}

func (s *apiServer) smbConnect(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	spec := probeSpec{stages: []probes.StageName{probes.StageNegotiate}, required: []probes.StageName{probes.StageNegotiate}, defaultTimeout: timeoutSMB, anonymousOnly: true}
	pr := s.runProbe(w, r, spec, nil)
	if pr == nil {
		return
	}
	resp := connectResponse{common: newCommon(pr), Message: "SMB connection failed"}
	if smb1Wanted(pr) {
		s.smb1Connect(r, pr, &resp, start)
	}
	if resp.Success {
		// answered over SMB1
	} else if n := pr.res.Negotiate; n != nil {
		resp.Success = true
		resp.Message = "SMB connection successful"
		resp.Dialect = seedDialect(n.Dialect)
		resp.ServerResponse = "SMB2 negotiate successful — dialect: " + resp.Dialect
		resp.Protocol = string(client.ProtocolSMB2)
	} else {
		resp.Error = firstError(pr.res, spec.stages)
		resp.ServerResponse = resp.Error
	}
	writeJSON(w, pr.httpCode, resp)
}

// --- /api/smb/negotiate -----------------------------------------------------------------

type negotiateFields struct {
	Dialect           string     `json:"dialect"`
	DialectCode       int        `json:"dialectCode"`
	DialectName       string     `json:"dialectName"`
	ServerGUID        string     `json:"serverGuid"`
	SecurityMode      int        `json:"securityMode"`
	SecurityModeFlags []string   `json:"securityModeFlags"`
	SigningRequired   *bool      `json:"signingRequired"`
	Capabilities      []string   `json:"capabilities"`
	CapabilitiesRaw   uint32     `json:"capabilitiesRaw"`
	SystemTime        *time.Time `json:"systemTime"`
	Note              string     `json:"note,omitempty"`
}

type negotiateResponse struct {
	common
	*negotiateFields
	// SMB1Enabled is the dedicated SMB1 NEGOTIATE's verdict (true, false, null = unknown).
	SMB1Enabled *bool `json:"smb1Enabled"`
}

func (s *apiServer) smbNegotiate(w http.ResponseWriter, r *http.Request) {
	spec := probeSpec{stages: []probes.StageName{probes.StageNegotiate, probes.StageSMB1}, defaultTimeout: timeoutSMB, anonymousOnly: true}
	pr := s.runProbe(w, r, spec, nil)
	if pr == nil {
		return
	}
	resp := negotiateResponse{common: newCommon(pr)}
	if pr.res.SMB1 != nil {
		resp.SMB1Enabled = pr.res.SMB1.Enabled
	}
	switch n, s1 := pr.res.Negotiate, pr.res.SMB1; {
	case n != nil:
		caps := uint32(n.CapabilitiesRaw)
		resp.Success = true
		resp.negotiateFields = &negotiateFields{
			Dialect: seedDialect(n.Dialect), DialectCode: int(n.DialectRevision), DialectName: seedDialect(n.Dialect),
			ServerGUID: n.ServerGUID, SecurityMode: int(n.SecurityMode), SecurityModeFlags: securityModeFlags(n.SecurityMode),
			SigningRequired: n.SigningRequired, Capabilities: bitNames(caps, smbCapabilityNames), CapabilitiesRaw: caps,
			SystemTime: n.SystemTime,
		}
	case s1 != nil && s1.Enabled != nil && *s1.Enabled:
		resp.Success = true
		mode := 0
		if s1.SigningEnabled != nil && *s1.SigningEnabled {
			mode |= int(wire.NegotiateSigningEnabled)
		}
		if s1.SigningRequired != nil && *s1.SigningRequired {
			mode |= int(wire.NegotiateSigningRequired)
		}
		resp.negotiateFields = &negotiateFields{
			Dialect: "SMB 1.x (CIFS)", DialectCode: 1, DialectName: "SMB 1.x (CIFS)", ServerGUID: s1.ServerGUID,
			SecurityMode: mode, SecurityModeFlags: securityModeFlags(uint16(mode)), SigningRequired: s1.SigningRequired,
			Capabilities: s1.Capabilities, CapabilitiesRaw: uint32(hex32Or(s1.CapabilitiesRaw)), SystemTime: s1.SystemTime,
			Note: "Server answered only the dedicated SMB1 NEGOTIATE (NT LM 0.12); SMB2/3 negotiation failed",
		}
	default:
		resp.Error = firstError(pr.res, spec.stages)
	}
	writeJSON(w, pr.httpCode, resp)
}

func securityModeFlags(mode uint16) []string {
	out := []string{}
	if mode&uint16(wire.NegotiateSigningEnabled) != 0 {
		out = append(out, "SigningEnabled")
	}
	if mode&uint16(wire.NegotiateSigningRequired) != 0 {
		out = append(out, "SigningRequired")
	}
	return out
}

// --- /api/smb/session -------------------------------------------------------------------

type sessionResponse struct {
	common
	SessionID    sessionID `json:"sessionId"`
	SessionFlags uint16    `json:"sessionFlags"`
	Anonymous    bool      `json:"anonymous"`
	Guest        bool      `json:"guest"`
	Encrypted    bool      `json:"encrypted"`
}

func (s *apiServer) smbSession(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	spec := probeSpec{stages: []probes.StageName{probes.StageNegotiate, probes.StageSession}, required: []probes.StageName{probes.StageNegotiate, probes.StageSession},
		defaultTimeout: timeoutSMB, anonymousOnly: true}
	pr := s.runProbe(w, r, spec, nil)
	if pr == nil {
		return
	}
	resp := sessionResponse{common: newCommon(pr)}
	if smb1Wanted(pr) {
		s.smb1Session(r, pr, &resp, start)
	}
	n, setup := nullSession(pr.res)
	if resp.Protocol == string(client.ProtocolSMB1) {
		// answered over SMB1
	} else if st, ok := pr.res.Stages[probes.StageSession]; ok && st.Status == probes.StageOK && setup {
		flags := n.RawFlags()
		resp.Success = true
		resp.SessionID = sessionID(n.ID())
		resp.SessionFlags = flags
		resp.Anonymous = true
		resp.Guest = flags&wire.SessionFlagIsGuest != 0
		resp.Encrypted = flags&wire.SessionFlagEncryptData != 0
		resp.Protocol = string(client.ProtocolSMB2)
	} else {
		resp.Error = sessionError(pr.res)
	}
	writeJSON(w, pr.httpCode, resp)
}

func sessionError(res *probes.Result) string {
	if n := res.Sessions.Null; n != nil && n.SetupOK != nil && !*n.SetupOK {
		return "anonymous session rejected: " + probes.StringOr(n.Status, "no status received")
	}
	return firstError(res, []probes.StageName{probes.StageNegotiate, probes.StageSession})
}

// --- /api/smb/tree ----------------------------------------------------------------------

type treeResponse struct {
	common
	SessionID     sessionID `json:"sessionId"`
	TreeID        uint32    `json:"treeId"`
	Share         string    `json:"share"`
	ShareType     string    `json:"shareType,omitempty"`
	ShareFlags    uint32    `json:"shareFlags"`
	Capabilities  uint32    `json:"capabilities"`
	MaximalAccess string    `json:"maximalAccess,omitempty"`
	// NullSessionAllowed is whether the anonymous session could use IPC$ (result schema).
	NullSessionAllowed *bool `json:"nullSessionAllowed"`
}

func (s *apiServer) smbTree(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	spec := probeSpec{stages: []probes.StageName{probes.StageNegotiate, probes.StageSession, probes.StageTree}, required: []probes.StageName{probes.StageNegotiate, probes.StageSession, probes.StageTree},
		defaultTimeout: timeoutSMB, defaultShare: "IPC$", anonymousOnly: true}
	pr := s.runProbe(w, r, spec, nil)
	if pr == nil {
		return
	}
	resp := treeResponse{common: newCommon(pr), SessionID: nullSessionID(pr.res), Share: pr.share}
	if n := pr.res.Sessions.Null; n != nil {
		resp.NullSessionAllowed = n.Allowed
	}
	if smb1Wanted(pr) {
		s.smb1Tree(r, pr, &resp, start)
	}
	if resp.Protocol == string(client.ProtocolSMB1) {
		// answered over SMB1
	} else if t, acc, ok := anonymousTree(pr.res, pr.share); ok {
		resp.Success = true
		resp.TreeID = t.TreeID
		resp.ShareType = seedShareType(t.ShareType)
		resp.ShareFlags = t.ShareFlags
		resp.Capabilities = t.Capabilities
		resp.MaximalAccess = hex32Or(acc.MaximalAccess).String()
		resp.Protocol = string(client.ProtocolSMB2)
	} else {
		resp.Error = treeError(pr.res, pr.share)
	}
	writeJSON(w, pr.httpCode, resp)
}

func seedShareType(t uint8) string {
	switch t {
	case wire.ShareTypeDisk:
		return "DISK"
	case wire.ShareTypePipe:
		return "PIPE"
	case wire.ShareTypePrint:
		return "PRINT"
	}
	return fmt.Sprintf("Unknown (%d)", t)
}

func treeError(res *probes.Result, share string) string {
	for _, sh := range res.Shares {
		if !strings.EqualFold(sh.Name, share) {
			continue
		}
		for _, a := range sh.Access {
			if tc := probes.StringOr(a.TreeConnect, ""); a.Identity == "anonymous" && tc != "" && tc != "STATUS_SUCCESS" {
				return "TREE_CONNECT failed: " + tc
			}
		}
	}
	if msg := sessionError(res); msg != "" {
		return msg
	}
	return firstError(res, []probes.StageName{probes.StageTree})
}

// --- /api/smb/stat ----------------------------------------------------------------------

type statFields struct {
	CreationTime   *time.Time `json:"creationTime"`
	LastAccessTime *time.Time `json:"lastAccessTime"`
	LastWriteTime  *time.Time `json:"lastWriteTime"`
	ChangeTime     *time.Time `json:"changeTime"`
	FileAttributes string     `json:"fileAttributes,omitempty"`
	IsDirectory    *bool      `json:"isDirectory"`
	Size           *uint64    `json:"size"`
	AllocationSize *uint64    `json:"allocationSize"`
	Attributes     []string   `json:"attributes"`
}

type statResponse struct {
	common
	SessionID sessionID `json:"sessionId"`
	TreeID    uint32    `json:"treeId"`
	Share     string    `json:"share"`
	Path      string    `json:"path"`
	statFields
}

func (s *apiServer) smbStat(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	spec := probeSpec{stages: []probes.StageName{probes.StageNegotiate, probes.StageSession, probes.StageTree, probes.StageStat}, required: []probes.StageName{probes.StageNegotiate, probes.StageSession, probes.StageTree, probes.StageStat},
		defaultTimeout: timeoutSMB, defaultShare: "C$", stat: true, anonymousOnly: true}
	pr := s.runProbe(w, r, spec, nil)
	if pr == nil {
		return
	}
	resp := statResponse{common: newCommon(pr), SessionID: nullSessionID(pr.res), Share: pr.share, Path: pr.path}
	if smb1Wanted(pr) {
		if sid, tid, st, _, msg, ok := s.smb1Stat(r, pr, &resp.common, start); ok {
			resp.SessionID, resp.TreeID, resp.Error = sid, tid, msg
			if st != nil {
				resp.Success, resp.statFields = true, *st
			}
			writeJSON(w, pr.httpCode, resp)
			return
		}
	}
	if t, _, ok := anonymousTree(pr.res, pr.share); ok {
		resp.TreeID = t.TreeID
	}
	st := findStat(pr.res, pr.share)
	if ok, msg := statOutcome(pr, st); ok {
		resp.Success = true
		resp.statFields = statFieldsOf(st.Info())
		resp.Protocol = string(client.ProtocolSMB2)
	} else {
		resp.Error = msg
	}
	writeJSON(w, pr.httpCode, resp)
}

// findStat returns the anonymous stat record of share.
func findStat(res *probes.Result, share string) *probes.Stat {
	for _, sh := range res.Shares {
		if !strings.EqualFold(sh.Name, share) {
			continue
		}
		for _, a := range sh.Access {
			if a.Identity == "anonymous" && a.Stat != nil {
				return a.Stat
			}
		}
	}
	return nil
}

func statOutcome(pr *probeRun, st *probes.Stat) (bool, string) {
	if sr, ok := pr.res.Stages[probes.StageStat]; ok && sr.Status == probes.StageOK && st != nil {
		return true, ""
	}
	if st != nil && st.Status != nil && *st.Status != "STATUS_SUCCESS" {
		return false, "CREATE failed: " + *st.Status
	}
	if _, _, ok := anonymousTree(pr.res, pr.share); !ok {
		return false, treeError(pr.res, pr.share)
	}
	return false, firstError(pr.res, []probes.StageName{probes.StageStat})
}

// statFieldsOf is the seed API's form of a stat.
func statFieldsOf(fi client.FileInfo) statFields {
	size, alloc := uint64(fi.Size), uint64(fi.AllocationSize)
	return statFields{
		CreationTime: client.TimeOrNil(fi.CreationTime), LastAccessTime: client.TimeOrNil(fi.LastAccessTime),
		LastWriteTime: client.TimeOrNil(fi.LastWriteTime), ChangeTime: client.TimeOrNil(fi.ChangeTime),
		FileAttributes: fmt.Sprintf("0x%04x", fi.Attributes), IsDirectory: &fi.IsDir,
		Size: &size, AllocationSize: &alloc, Attributes: fi.AttributeNames(),
	}
}

// --- /api/cifs/negotiate and /api/cifs/connect ------------------------------------------

type cifsNegotiateResponse struct {
	common
	// TCPLatency is connect + NEGOTIATE round trip, milliseconds.
	TCPLatency      int64      `json:"tcpLatency"`
	Dialect         string     `json:"dialect,omitempty"`
	ServerGUID      string     `json:"serverGuid,omitempty"`
	Capabilities    []string   `json:"capabilities"`
	MaxTransactSize uint32     `json:"maxTransactSize"`
	MaxReadSize     uint32     `json:"maxReadSize"`
	MaxWriteSize    uint32     `json:"maxWriteSize"`
	ServerTime      *time.Time `json:"serverTime"`
}

func (s *apiServer) cifsNegotiate(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	spec := probeSpec{stages: []probes.StageName{probes.StageNegotiate}, required: []probes.StageName{probes.StageNegotiate}, defaultTimeout: timeoutCIFSNegotiate, anonymousOnly: true}
	pr := s.runProbe(w, r, spec, nil)
	if pr == nil {
		return
	}
	resp := cifsNegotiateResponse{common: newCommon(pr), Capabilities: []string{}}
	if st, ok := pr.res.Stages[probes.StageNegotiate]; ok {
		resp.TCPLatency = int64(math.Round(st.DurationSeconds * 1000))
	}
	if smb1Wanted(pr) {
		s.smb1CIFSNegotiate(r, pr, &resp, start)
	}
	if resp.Success {
		// answered over SMB1
	} else if n := pr.res.Negotiate; n != nil {
		resp.Success = true
		resp.Protocol = string(client.ProtocolSMB2)
		resp.Dialect = seedDialect(n.Dialect)
		resp.ServerGUID = n.ServerGUID
		resp.Capabilities = bitNames(uint32(n.CapabilitiesRaw), cifsCapabilityNames)
		resp.MaxTransactSize, resp.MaxReadSize, resp.MaxWriteSize = n.MaxTransactSize, n.MaxReadSize, n.MaxWriteSize
		resp.ServerTime = n.SystemTime
	} else {
		resp.Error = firstError(pr.res, spec.stages)
	}
	writeJSON(w, pr.httpCode, resp)
}

// --- /api/cifs/stat (anonymous) ---------------------------------------------------------

type cifsStatResponse struct {
	common
	Share         string `json:"share"`
	Path          string `json:"path"`
	RawAttributes uint32 `json:"rawAttributes"`
	statFields
}

// cifsStat stats a path: with a username through a logged-on session (QUERY_INFO
// FileAllInformation), without one anonymously through the probe pipeline (null session).
func (s *apiServer) cifsStat(w http.ResponseWriter, r *http.Request) {
	var body cifsRequest
	if e := decodeJSON(r, &body); e != nil {
		e.write(w)
		return
	}
	if body.Username != "" || body.Password != "" {
		s.cifsStatCredentialed(w, r, &body)
		return
	}
	if body.Offset != nil || body.Limit != nil || body.MaxBytes != nil || body.Mode != nil {
		badRequest("", "offset, limit, maxBytes and mode do not apply to /api/cifs/stat").write(w)
		return
	}
	start := time.Now()
	spec := probeSpec{stages: []probes.StageName{probes.StageNegotiate, probes.StageSession, probes.StageTree, probes.StageStat}, required: []probes.StageName{probes.StageNegotiate, probes.StageSession, probes.StageTree, probes.StageStat},
		defaultTimeout: timeoutCIFSStat, defaultShare: "IPC$", shareRequired: true, stat: true}
	pr := s.runProbe(w, r, spec, &body.apiRequest)
	if pr == nil {
		return
	}
	resp := cifsStatResponse{common: newCommon(pr), Share: pr.share, Path: pr.path}
	if smb1Wanted(pr) {
		if _, _, st, raw, msg, ok := s.smb1Stat(r, pr, &resp.common, start); ok {
			resp.Error = msg
			if st != nil {
				resp.Success, resp.statFields, resp.RawAttributes = true, *st, raw
			}
			writeJSON(w, pr.httpCode, resp)
			return
		}
	}
	st := findStat(pr.res, pr.share)
	if ok, msg := statOutcome(pr, st); ok {
		resp.Success = true
		resp.statFields = statFieldsOf(st.Info())
		resp.RawAttributes = st.Info().Attributes
		resp.Protocol = string(client.ProtocolSMB2)
	} else {
		resp.Error = msg
	}
	writeJSON(w, pr.httpCode, resp)
}
