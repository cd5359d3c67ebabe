package output

import (
	"encoding/json"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/smbsweep/smbsweep/probes"
)

// jsonEncoder writes probes.Result and probes.Summary as JSON without reflection, appending to a
// reused buffer. Its output is byte for byte what encoding/json (with HTML escaping off) followed
// by appendJSONEscaped produced before it (encode_test.go proves it against that reference):
//
//   - fields in struct order with the struct tags' names; omitempty drops "" and empty slices and
//     nil pointers, omitzero drops nil slices only (an empty one is []), exactly where the tags say;
//   - nil pointers, slices and maps are null, empty slices [] and empty maps {};
//   - map keys sorted bytewise (as strings.Compare), escaped like any string;
//   - strings: `"` and `\` backslash-escaped; C0 controls as \b \f \n \r \t or \u00XX; invalid
//     UTF-8 as \ufffd per bad byte; U+2028, U+2029, C1 controls, bidirectional marks, embeddings,
//     overrides and isolates and U+FEFF as \uXXXX (lowercase hex); <, > and & and everything else
//     as is;
//   - floats as encoding/json formats float64 (shortest 'f', 'e' below 1e-6 and from 1e21 on,
//     exponent without a leading zero); NaN and ±Inf are an error, *json.UnsupportedValueError;
//   - times as time.Time.MarshalJSON (RFC 3339 with nanoseconds as needed, the time's own offset);
//     a time RFC 3339 cannot express (year outside 0..9999) is an error, *json.MarshalerError.
//
// On error the buffer holds a partial record and must be discarded. When a field is added to a
// type of probes/result.go it must be added here too; TestEncoderMatchesReference fails until it is.
type jsonEncoder struct {
	buf  []byte
	keys []string // reused to sort map keys
	err  error    // the first error; later output is not looked at
}

// result appends r (no trailing newline): its keys in probes.Result's order, from the target
// and its outcome through what the server said and allowed to the stages.
func (e *jsonEncoder) result(r *probes.Result) {
	e.resultTarget(r)
	e.resultOutcome(r)
	e.resultServer(r)
	e.resultAccess(r)
	e.resultFiles(r)
	if r.RPC != nil {
		e.raw(`,"rpc":`)
		e.rpc(r.RPC)
	}
	e.raw(`,"stages":`)
	e.stages(r.Stages)
	e.lsaSAMR(r)
	e.buf = append(e.buf, '}')
}

// resultTarget opens the record: schema, type and the target (address, name, port, NetBIOS
// session, ports tried).
func (e *jsonEncoder) resultTarget(r *probes.Result) {
	e.raw(`{"schema":`)
	e.str(r.Schema)
	e.raw(`,"type":`)
	e.str(r.Type)
	e.raw(`,"ip":`)
	e.str(r.IP)
	e.optStr(`,"host":`, r.Host)
	e.raw(`,"port":`)
	e.uint(uint64(r.Port))
	if nb := r.NetBIOSSession; nb != nil {
		e.raw(`,"netbios_session":{"called_name":`)
		e.strPtr(nb.CalledName)
		e.optStrs(`,"refused":`, nb.Refused)
		e.optStr(`,"retarget":`, nb.Retarget)
		e.buf = append(e.buf, '}')
	}
	if len(r.PortsTried) > 0 {
		e.raw(`,"ports_tried":[`)
		for i, p := range r.PortsTried {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.uint(uint64(p))
		}
		e.buf = append(e.buf, ']')
	}
}

// resultOutcome appends the host status, its error, the stages still missing, and when and
// how long.
func (e *jsonEncoder) resultOutcome(r *probes.Result) {
	e.raw(`,"status":`)
	e.str(string(r.Status))
	e.optStr(`,"error":`, r.Error)
	if len(r.Incomplete) > 0 {
		e.raw(`,"incomplete":`)
		e.buf = append(e.buf, '[')
		for i, name := range r.Incomplete {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.str(string(name))
		}
		e.buf = append(e.buf, ']')
	}
	e.raw(`,"timestamp":`)
	e.time(r.Timestamp)
	e.raw(`,"duration_seconds":`)
	e.float(r.DurationSeconds)
}

// resultServer appends what the server said about itself: SMB1, NEGOTIATE, the NTLM
// CHALLENGE, clock skew, NBSTAT, and the OS and domain controller read from them.
func (e *jsonEncoder) resultServer(r *probes.Result) {
	e.raw(`,"smb1":`)
	e.smb1(r.SMB1)
	e.raw(`,"negotiate":`)
	e.negotiate(r.Negotiate)
	e.raw(`,"ntlm":`)
	e.ntlm(r.NTLM)
	e.raw(`,"clock_skew_seconds":`)
	e.floatPtr(r.ClockSkewSeconds)
	e.optStr(`,"clock_skew_source":`, r.ClockSkewSource)
	if v := r.NBStat; v != nil {
		e.raw(`,"nbstat":`)
		e.nbstat(v)
	}
	if r.OS != nil {
		e.raw(`,"os":`)
		e.os(r.OS)
	}
	if r.DomainController != nil {
		e.raw(`,"domain_controller":`)
		e.domainController(r.DomainController)
	}
}

// resultAccess appends what the server allowed: the null and guest sessions, the shares, and
// the findings.
func (e *jsonEncoder) resultAccess(r *probes.Result) {
	e.raw(`,"sessions":{"null":`)
	e.session(r.Sessions.Null)
	e.raw(`,"guest":`)
	e.session(r.Sessions.Guest)
	e.raw(`},"shares":`)
	appendArray(e, r.Shares, (*jsonEncoder).share)
	e.raw(`,"findings":`)
	appendArray(e, r.Findings, (*jsonEncoder).finding)
}

// resultFiles appends the credentialed stages: the logon, the listing and the read.
func (e *jsonEncoder) resultFiles(r *probes.Result) {
	e.raw(`,"auth":`)
	e.auth(r.Auth)
	e.raw(`,"listing":`)
	e.listing(r.Listing)
	e.raw(`,"read":`)
	e.fileRead(r.Read)
}

// summary appends s (no trailing newline).
func (e *jsonEncoder) summary(s *probes.Summary) {
	e.raw(`{"schema":`)
	e.str(s.Schema)
	e.raw(`,"type":`)
	e.str(s.Type)
	e.raw(`,"started":`)
	e.time(s.Started)
	e.raw(`,"finished":`)
	e.time(s.Finished)
	e.raw(`,"duration_seconds":`)
	e.float(s.DurationSeconds)
	e.raw(`,"targets":`)
	e.uint(s.Targets)
	e.raw(`,"scanned":`)
	e.uint(s.Scanned)
	e.raw(`,"interrupted":`)
	e.bool(s.Interrupted)
	e.raw(`,"incomplete":`)
	e.int(int64(s.Incomplete))
	e.raw(`,"statuses":`)
	e.counts(s.Statuses)
	e.raw(`,"findings":`)
	e.counts(s.Findings)
	if len(s.Verdicts) > 0 {
		e.raw(`,"verdicts":`)
		e.verdictCounts(s.Verdicts)
	}
	if p := s.Pacing; p != nil {
		e.raw(`,"pacing":{"slots":`)
		e.int(int64(p.Slots))
		e.raw(`,"connect_ahead":`)
		e.int(int64(p.ConnectAhead))
		e.raw(`,"peak_probes":`)
		e.int(int64(p.PeakProbes))
		e.raw(`,"window":`)
		e.int(int64(p.Window))
		e.raw(`,"window_decreases":`)
		e.uint(p.Decreases)
		e.raw(`,"queueing_epochs":`)
		e.uint(p.QueueingEpochs)
		e.raw(`,"overload_signs":`)
		e.uint(p.OverloadSigns)
		e.buf = append(e.buf, '}')
	}
	if len(s.Errors) > 0 {
		e.raw(`,"errors":`)
		e.strs(s.Errors)
	}
	e.buf = append(e.buf, '}')
}

// nbstat appends an NBSTAT answer.
func (e *jsonEncoder) nbstat(v *probes.NBStatInfo) {
	e.raw(`{"answered":`)
	e.boolPtr(v.Answered)
	e.raw(`,"names":`)
	appendArray(e, v.Names, (*jsonEncoder).nbstatName)
	e.raw(`,"mac":`)
	e.strPtr(v.MAC)
	e.raw(`,"computer_name":`)
	e.strPtr(v.ComputerName)
	e.raw(`,"workgroup":`)
	e.strPtr(v.Workgroup)
	e.raw(`,"users":`)
	e.strs(v.Users)
	e.raw(`,"domain_controller":`)
	e.boolPtr(v.DomainController)
	e.raw(`,"master_browser":`)
	e.boolPtr(v.MasterBrowser)
	e.raw(`,"evidence":`)
	e.str(v.Evidence)
	e.buf = append(e.buf, '}')
}

// nbstatName appends one name of an NBSTAT answer.
func (e *jsonEncoder) nbstatName(v *probes.NBStatName) {
	e.raw(`{"name":`)
	e.str(v.Name)
	e.raw(`,"suffix":`)
	e.str(v.Suffix)
	e.raw(`,"group":`)
	e.bool(v.Group)
	e.buf = append(e.buf, '}')
}

func (e *jsonEncoder) smb1(v *probes.SMB1Info) {
	if v == nil {
		e.raw("null")
		return
	}
	e.raw(`{"enabled":`)
	e.boolPtr(v.Enabled)
	e.optStr(`,"dialect":`, v.Dialect)
	e.raw(`,"signing_enabled":`)
	e.boolPtr(v.SigningEnabled)
	e.raw(`,"signing_required":`)
	e.boolPtr(v.SigningRequired)
	e.raw(`,"extended_security":`)
	e.boolPtr(v.ExtendedSecurity)
	e.raw(`,"capabilities":`)
	e.strs(v.Capabilities)
	if v.CapabilitiesRaw != nil {
		e.raw(`,"capabilities_raw":`)
		e.hex32(*v.CapabilitiesRaw)
	}
	e.raw(`,"system_time":`)
	e.timePtr(v.SystemTime)
	e.optStr(`,"server_guid":`, v.ServerGUID)
	e.optStr(`,"domain_name":`, v.DomainName)
	e.optStr(`,"server_name":`, v.ServerName)
	e.optStr(`,"native_os":`, v.NativeOS)
	e.optStr(`,"native_lan_manager":`, v.NativeLanManager)
	e.optStr(`,"primary_domain":`, v.PrimaryDomain)
	e.raw(`,"evidence":`)
	e.str(v.Evidence)
	if v.Only {
		e.raw(`,"only":true`)
	}
	e.buf = append(e.buf, '}')
}

// negotiate appends the SMB2 NEGOTIATE outcome: the dialect and what was enumerated, the
// server's security mode, capabilities and limits, then what 3.1.1's contexts chose.
func (e *jsonEncoder) negotiate(v *probes.NegotiateInfo) {
	if v == nil {
		e.raw("null")
		return
	}
	e.raw(`{"dialect":`)
	e.str(v.Dialect)
	e.raw(`,"dialect_revision":`)
	e.hex16(v.DialectRevision)
	if v.Dialects != nil { // omitzero: [] when enumerated and none accepted
		e.raw(`,"dialects":`)
		e.strs(v.Dialects)
	}
	if v.Ciphers != nil {
		e.raw(`,"ciphers":`)
		e.strs(v.Ciphers)
	}
	e.negotiateServer(v)
	e.negotiateContexts(v)
	e.buf = append(e.buf, '}')
}

// negotiateServer appends the server's GUID, security mode, capabilities, size limits and
// clocks.
func (e *jsonEncoder) negotiateServer(v *probes.NegotiateInfo) {
	e.raw(`,"server_guid":`)
	e.str(v.ServerGUID)
	e.raw(`,"security_mode":`)
	e.uint(uint64(v.SecurityMode))
	e.raw(`,"signing_enabled":`)
	e.boolPtr(v.SigningEnabled)
	e.raw(`,"signing_required":`)
	e.boolPtr(v.SigningRequired)
	e.raw(`,"capabilities":`)
	e.strs(v.Capabilities)
	e.raw(`,"capabilities_raw":`)
	e.hex32(v.CapabilitiesRaw)
	e.raw(`,"max_transact_size":`)
	e.uint(uint64(v.MaxTransactSize))
	e.raw(`,"max_read_size":`)
	e.uint(uint64(v.MaxReadSize))
	e.raw(`,"max_write_size":`)
	e.uint(uint64(v.MaxWriteSize))
	e.raw(`,"system_time":`)
	e.timePtr(v.SystemTime)
	e.raw(`,"boot_time":`)
	e.timePtr(v.BootTime)
}

// negotiateContexts appends what the 3.1.1 negotiate contexts and the security blob chose;
// each key is left out when empty.
func (e *jsonEncoder) negotiateContexts(v *probes.NegotiateInfo) {
	e.optStr(`,"preauth_hash":`, v.PreauthHash)
	e.optStr(`,"cipher":`, v.Cipher)
	e.optStr(`,"signing_algorithm":`, v.SigningAlgorithm)
	e.optStrs(`,"compression_algorithms":`, v.Compression)
	e.optStrs(`,"contexts":`, v.Contexts)
	e.optStrs(`,"security_mechanisms":`, v.SecurityMechanisms)
}

func (e *jsonEncoder) ntlm(v *probes.NTLMInfo) {
	if v == nil {
		e.raw("null")
		return
	}
	e.raw(`{"netbios_computer_name":`)
	e.strPtr(v.NetBIOSComputerName)
	e.raw(`,"netbios_domain_name":`)
	e.strPtr(v.NetBIOSDomainName)
	e.raw(`,"dns_computer_name":`)
	e.strPtr(v.DNSComputerName)
	e.raw(`,"dns_domain_name":`)
	e.strPtr(v.DNSDomainName)
	e.raw(`,"dns_tree_name":`)
	e.strPtr(v.DNSTreeName)
	e.raw(`,"os_version":`)
	e.strPtr(v.OSVersion)
	e.raw(`,"negotiate_flags":`)
	e.str(v.NegotiateFlags)
	e.raw(`,"server_time":`)
	e.timePtr(v.ServerTime)
	e.raw(`,"clock_skew_seconds":`)
	e.floatPtr(v.ClockSkewSeconds)
	e.buf = append(e.buf, '}')
}

func (e *jsonEncoder) session(v *probes.SessionInfo) {
	if v == nil {
		e.raw("null")
		return
	}
	e.raw(`{"setup_ok":`)
	e.boolPtr(v.SetupOK)
	e.raw(`,"allowed":`)
	e.boolPtr(v.Allowed)
	e.raw(`,"status":`)
	e.strPtr(v.Status)
	e.raw(`,"flags":`)
	e.strs(v.Flags)
	e.raw(`,"evidence":`)
	e.str(v.Evidence)
	e.buf = append(e.buf, '}')
}

func (e *jsonEncoder) share(v *probes.Share) {
	e.raw(`{"name":`)
	e.str(v.Name)
	e.optStr(`,"type":`, v.Type)
	e.optStr(`,"comment":`, v.Comment)
	e.optStrs(`,"listed_by":`, v.ListedBy)
	e.raw(`,"access":`)
	appendArray(e, v.Access, (*jsonEncoder).shareAccess)
	e.buf = append(e.buf, '}')
}

func (e *jsonEncoder) shareAccess(v *probes.ShareAccess) {
	e.raw(`{"identity":`)
	e.str(v.Identity)
	e.raw(`,"tree_connect":`)
	e.strPtr(v.TreeConnect)
	e.optStr(`,"share_type":`, v.ShareType)
	e.optStrs(`,"share_flags":`, v.ShareFlags)
	e.optStrs(`,"capabilities":`, v.Capabilities)
	if v.MaximalAccess != nil {
		e.raw(`,"maximal_access":`)
		e.hex32(*v.MaximalAccess)
	}
	e.raw(`,"read":`)
	e.boolPtr(v.Read)
	e.optStr(`,"read_status":`, v.ReadStatus)
	e.raw(`,"write":`)
	e.boolPtr(v.Write)
	e.optStr(`,"write_status":`, v.WriteStatus)
	if v.Stat != nil {
		e.raw(`,"stat":`)
		e.stat(v.Stat)
	}
	e.buf = append(e.buf, '}')
}

func (e *jsonEncoder) stat(v *probes.Stat) {
	e.raw(`{"path":`)
	e.str(v.Path)
	e.raw(`,"status":`)
	e.strPtr(v.Status)
	e.raw(`,"is_directory":`)
	e.boolPtr(v.IsDirectory)
	e.raw(`,"size":`)
	e.uintPtr(v.Size)
	e.raw(`,"allocation_size":`)
	e.uintPtr(v.AllocationSize)
	e.raw(`,"attributes":`)
	e.strs(v.Attributes)
	e.raw(`,"attributes_raw":`)
	if v.AttributesRaw == nil {
		e.raw(`null`)
	} else {
		e.hex32(*v.AttributesRaw)
	}
	e.raw(`,"creation_time":`)
	e.timePtr(v.CreationTime)
	e.raw(`,"last_access_time":`)
	e.timePtr(v.LastAccessTime)
	e.raw(`,"last_write_time":`)
	e.timePtr(v.LastWriteTime)
	e.raw(`,"change_time":`)
	e.timePtr(v.ChangeTime)
	e.buf = append(e.buf, '}')
}

func (e *jsonEncoder) finding(v *probes.Finding) {
	e.raw(`{"id":`)
	e.str(v.ID)
	e.raw(`,"value":`)
	e.boolPtr(v.Value)
	e.raw(`,"severity":`)
	e.str(v.Severity)
	e.raw(`,"reason":`)
	e.str(v.Reason)
	e.optStr(`,"severity_reason":`, v.SeverityReason)
	e.optStr(`,"state":`, v.State)
	e.optStr(`,"confidence":`, v.Confidence)
	e.optStrs(`,"cve":`, v.CVE)
	e.optStrs(`,"references":`, v.References)
	e.optStr(`,"evidence":`, v.Evidence)
	e.buf = append(e.buf, '}')
}

func (e *jsonEncoder) os(v *probes.OSInfo) {
	e.raw(`{"family":`)
	e.strPtr(v.Family)
	e.raw(`,"name":`)
	e.strPtr(v.Name)
	e.raw(`,"version":`)
	e.strPtr(v.Version)
	e.raw(`,"source":`)
	e.str(v.Source)
	e.raw(`,"evidence":`)
	e.str(v.Evidence)
	e.buf = append(e.buf, '}')
}

func (e *jsonEncoder) domainController(v *probes.DomainControllerInfo) {
	e.raw(`{"value":`)
	e.boolPtr(v.Value)
	e.raw(`,"evidence":`)
	e.strs(v.Evidence)
	e.buf = append(e.buf, '}')
}

func (e *jsonEncoder) auth(v *probes.AuthInfo) {
	if v == nil {
		e.raw("null")
		return
	}
	e.raw(`{"user":`)
	e.str(v.User)
	e.raw(`,"domain":`)
	e.strPtr(v.Domain)
	e.raw(`,"success":`)
	e.boolPtr(v.Success)
	e.raw(`,"status":`)
	e.strPtr(v.Status)
	e.optStr(`,"dialect":`, v.Dialect)
	e.raw(`,"session_flags":`)
	e.strs(v.SessionFlags)
	e.raw(`,"signing":`)
	e.boolPtr(v.Signing)
	e.optStr(`,"signing_algorithm":`, v.SigningAlgorithm)
	e.raw(`,"encryption":`)
	e.boolPtr(v.Encryption)
	e.optStr(`,"cipher":`, v.Cipher)
	e.optStr(`,"server_name":`, v.ServerName)
	e.optStr(`,"server_domain":`, v.ServerDomain)
	e.raw(`,"evidence":`)
	e.str(v.Evidence)
	e.buf = append(e.buf, '}')
}

func (e *jsonEncoder) listing(v *probes.Listing) {
	if v == nil {
		e.raw("null")
		return
	}
	e.raw(`{"share":`)
	e.str(v.Share)
	e.raw(`,"path":`)
	e.str(v.Path)
	e.raw(`,"entries":`)
	appendArray(e, v.Entries, (*jsonEncoder).fileEntry)
	e.raw(`,"count":`)
	e.int(int64(v.Count))
	e.raw(`,"truncated":`)
	e.bool(v.Truncated)
	e.optStr(`,"reason":`, v.Reason)
	e.raw(`,"not_entered":`)
	e.int(int64(v.NotEntered))
	e.optStrs(`,"errors":`, v.Errors)
	e.buf = append(e.buf, '}')
}

func (e *jsonEncoder) fileEntry(v *probes.FileEntry) {
	e.raw(`{"name":`)
	e.str(v.Name)
	e.raw(`,"path":`)
	e.str(v.Path)
	e.raw(`,"is_dir":`)
	e.bool(v.IsDir)
	e.raw(`,"size":`)
	e.int(v.Size)
	e.raw(`,"attributes":`)
	e.strs(v.Attributes)
	e.raw(`,"creation_time":`)
	e.timePtr(v.CreationTime)
	e.raw(`,"last_access_time":`)
	e.timePtr(v.LastAccessTime)
	e.raw(`,"last_write_time":`)
	e.timePtr(v.LastWriteTime)
	e.raw(`,"change_time":`)
	e.timePtr(v.ChangeTime)
	e.buf = append(e.buf, '}')
}

func (e *jsonEncoder) fileRead(v *probes.FileRead) {
	if v == nil {
		e.raw("null")
		return
	}
	e.raw(`{"share":`)
	e.str(v.Share)
	e.raw(`,"path":`)
	e.str(v.Path)
	e.raw(`,"size":`)
	e.int(v.Size)
	e.raw(`,"bytes_read":`)
	e.int(v.BytesRead)
	e.raw(`,"truncated":`)
	e.bool(v.Truncated)
	e.raw(`,"is_text":`)
	e.bool(v.IsText)
	e.raw(`,"sha256":`)
	e.str(v.SHA256)
	e.raw(`,"content":`)
	e.str(v.Content)
	e.buf = append(e.buf, '}')
}

func (e *jsonEncoder) rpc(v *probes.RPCSurface) {
	e.raw(`{"interfaces":`)
	appendArray(e, v.Interfaces, (*jsonEncoder).rpcInterface)
	e.raw(`,"webclient":`)
	e.serviceStates(v.WebClient)
	e.raw(`,"spooler":`)
	e.serviceStates(v.Spooler)
	e.buf = append(e.buf, '}')
}

func (e *jsonEncoder) rpcInterface(v *probes.RPCInterface) {
	e.raw(`{"identity":`)
	e.str(v.Identity)
	e.raw(`,"pipe":`)
	e.str(v.Pipe)
	e.raw(`,"interface":`)
	e.str(v.Interface)
	e.raw(`,"syntax":`)
	e.str(v.Syntax)
	e.raw(`,"open":`)
	e.strPtr(v.Open)
	e.raw(`,"bind":`)
	e.strPtr(v.Bind)
	e.raw(`,"outcome":`)
	e.str(v.Outcome)
	e.raw(`,"reachable":`)
	e.boolPtr(v.Reachable)
	e.raw(`,"evidence":`)
	e.str(v.Evidence)
	e.buf = append(e.buf, '}')
}

func (e *jsonEncoder) serviceStates(v []probes.ServiceState) {
	appendArray(e, v, (*jsonEncoder).serviceState)
}

func (e *jsonEncoder) serviceState(v *probes.ServiceState) {
	e.raw(`{"identity":`)
	e.str(v.Identity)
	e.raw(`,"running":`)
	e.boolPtr(v.Running)
	e.raw(`,"evidence":`)
	e.str(v.Evidence)
	e.buf = append(e.buf, '}')
}

func (e *jsonEncoder) stageResult(v *probes.StageResult) {
	if v == nil {
		e.raw("null")
		return
	}
	e.raw(`{"status":`)
	e.str(string(v.Status))
	e.optStr(`,"nt_status":`, v.NTStatus)
	e.raw(`,"duration_seconds":`)
	e.float(v.DurationSeconds)
	e.optStr(`,"error":`, v.Error)
	e.optStr(`,"reason":`, v.Reason)
	e.optStr(`,"protocol":`, v.Protocol)
	e.buf = append(e.buf, '}')
}

// stages appends the stage map with its keys sorted, as encoding/json does.
func (e *jsonEncoder) stages(m map[probes.StageName]*probes.StageResult) {
	if m == nil {
		e.raw("null")
		return
	}
	e.keys = e.keys[:0]
	for k := range m {
		e.keys = append(e.keys, string(k))
	}
	slices.Sort(e.keys)
	e.buf = append(e.buf, '{')
	for i, k := range e.keys {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.str(k)
		e.buf = append(e.buf, ':')
		e.stageResult(m[probes.StageName(k)])
	}
	e.buf = append(e.buf, '}')
	clear(e.keys) // keep no server-controlled strings alive between records
}

// counts appends a map of counters with its keys sorted.
// verdictCounts appends the summary's counts per verdict id and state, ids in sorted order.
func (e *jsonEncoder) verdictCounts(m map[string]map[string]int) {
	e.buf = append(e.buf, '{')
	for i, id := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.str(id)
		e.buf = append(e.buf, ':')
		e.counts(m[id])
	}
	e.buf = append(e.buf, '}')
}

func (e *jsonEncoder) counts(m map[string]int) {
	if m == nil {
		e.raw("null")
		return
	}
	e.keys = e.keys[:0]
	for k := range m {
		e.keys = append(e.keys, k)
	}
	slices.Sort(e.keys)
	e.buf = append(e.buf, '{')
	for i, k := range e.keys {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.str(k)
		e.buf = append(e.buf, ':')
		e.int(int64(m[k]))
	}
	e.buf = append(e.buf, '}')
	clear(e.keys)
}

func (e *jsonEncoder) raw(s string) { e.buf = append(e.buf, s...) }

func (e *jsonEncoder) bool(b bool) {
	if b {
		e.raw("true")
	} else {
		e.raw("false")
	}
}

func (e *jsonEncoder) boolPtr(b *bool) {
	if b == nil {
		e.raw("null")
		return
	}
	e.bool(*b)
}

func (e *jsonEncoder) uint(v uint64) { e.buf = strconv.AppendUint(e.buf, v, 10) }

// hex16 and hex32 write a protocol value as the records show it: a "0x0311" string.
func (e *jsonEncoder) hex16(v probes.Hex16) {
	e.buf = append(v.AppendHex(append(e.buf, '"')), '"')
}

func (e *jsonEncoder) hex32(v probes.Hex32) {
	e.buf = append(v.AppendHex(append(e.buf, '"')), '"')
}

func (e *jsonEncoder) int(v int64) { e.buf = strconv.AppendInt(e.buf, v, 10) }

func (e *jsonEncoder) uintPtr(v *uint64) {
	if v == nil {
		e.raw("null")
		return
	}
	e.uint(*v)
}

func (e *jsonEncoder) floatPtr(f *float64) {
	if f == nil {
		e.raw("null")
		return
	}
	e.float(*f)
}

// float appends f as encoding/json formats a float64: like ES6 number-to-string.
func (e *jsonEncoder) float(f float64) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		e.fail(&json.UnsupportedValueError{Value: reflect.ValueOf(f), Str: strconv.FormatFloat(f, 'g', -1, 64)})
		e.raw("null") // keeps the partial output JSON-shaped; it is discarded anyway
		return
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	e.buf = strconv.AppendFloat(e.buf, f, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9
		b := e.buf
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			e.buf = b[:n-1]
		}
	}
}

// The types encoding/json names in a time's MarshalerError: it calls MarshalJSON on the pointer
// for a *time.Time field.
var (
	timeType    = reflect.TypeFor[time.Time]()
	timePtrType = reflect.TypeFor[*time.Time]()
)

// time appends t as time.Time.MarshalJSON does.
func (e *jsonEncoder) time(t time.Time) { e.timeOf(t, timeType) }

func (e *jsonEncoder) timePtr(t *time.Time) {
	if t == nil {
		e.raw("null")
		return
	}
	e.timeOf(*t, timePtrType)
}

func (e *jsonEncoder) timeOf(t time.Time, typ reflect.Type) {
	n := len(e.buf)
	e.buf = append(e.buf, '"')
	b, err := t.AppendText(e.buf)
	if err != nil {
		// Take MarshalJSON's own error text, as encoding/json reported it.
		if _, merr := t.MarshalJSON(); merr != nil {
			err = merr
		}
		e.fail(&json.MarshalerError{Type: typ, Err: err})
		e.buf = append(e.buf[:n], "null"...)
		return
	}
	e.buf = append(b, '"')
}

func (e *jsonEncoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// strPtr appends *s, or null when s is nil.
func (e *jsonEncoder) strPtr(s *string) {
	if s == nil {
		e.raw("null")
		return
	}
	e.str(*s)
}

// strs appends a string slice: null when nil.
func (e *jsonEncoder) strs(ss []string) {
	if ss == nil {
		e.raw("null")
		return
	}
	e.buf = append(e.buf, '[')
	for i, s := range ss {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.str(s)
	}
	e.buf = append(e.buf, ']')
}

// optStr appends key and s when s is not "" (omitempty); key carries its leading comma and
// trailing colon.
func (e *jsonEncoder) optStr(key, s string) {
	if s != "" {
		e.raw(key)
		e.str(s)
	}
}

// optStrs appends key and ss when ss is not empty (omitempty).
func (e *jsonEncoder) optStrs(key string, ss []string) {
	if len(ss) > 0 {
		e.raw(key)
		e.strs(ss)
	}
}

// appendArray appends s as a JSON array, each element by each, or null when s is nil. each is a
// method expression such as (*jsonEncoder).share, so that no closure is allocated.
func appendArray[T any](e *jsonEncoder, s []T, each func(*jsonEncoder, *T)) {
	if s == nil {
		e.raw("null")
		return
	}
	e.buf = append(e.buf, '[')
	for i := range s {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		each(e, &s[i])
	}
	e.buf = append(e.buf, ']')
}

// jsonSafe marks the ASCII bytes a JSON string carries as they are (HTML characters included);
// bytes from 0x80 on start a rune that str looks at.
var jsonSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str appends s as a quoted JSON string with the escapes listed on jsonEncoder.
func (e *jsonEncoder) str(s string) {
	dst := append(e.buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsonSafe[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case terminalUnsafe(r): // includes U+2028 and U+2029, which encoding/json escapes itself
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	e.buf = append(dst, '"')
}
