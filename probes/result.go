package probes

import (
	"time"

	"github.com/smbsweep/smbsweep/client"
)

// SchemaVersion names the result schema every record carries (docs/schema.md).
const SchemaVersion = "smbsweep/v1"

// Status is a host's overall outcome. The vocabulary is closed: the same strings are JSON
// values and Prometheus label values.
type Status string

// Host status vocabulary (docs/schema.md).
const (
	StatusSMB               Status = "smb"                // the host spoke SMB (SMB1 or SMB2/3)
	StatusNotSMB            Status = "not-smb"            // something answered, but not SMB
	StatusConnectionRefused Status = "connection-refused" // TCP RST to our SYN
	StatusConnectionTimeout Status = "connection-timeout" // no TCP handshake within the connect timeout
	StatusConnectionReset   Status = "connection-reset"   // connected, then reset before any SMB reply
	StatusIOTimeout         Status = "io-timeout"         // connected, but no complete reply in time
	StatusProtocolError     Status = "protocol-error"     // an SMB reply that fails validation
	StatusError             Status = "error"              // anything else (resolution, local resources, panic)
	StatusInterrupted       Status = "interrupted"        // cut short by an interrupt or a shutdown before it was decided
)

// Statuses lists every Status in a fixed order (metrics pre-register one series per value).
var Statuses = []Status{StatusSMB, StatusNotSMB, StatusConnectionRefused, StatusConnectionTimeout,
	StatusConnectionReset, StatusIOTimeout, StatusProtocolError, StatusError, StatusInterrupted}

// Result is one scanned target: the JSONL record of docs/schema.md. Pointer fields are null when
// unknown or not probed; tri-state findings use *bool (true, false, null = unknown).
type Result struct {
	Schema string `json:"schema"`
	Type   string `json:"type"` // always "host"
	IP     string `json:"ip"`
	Host   string `json:"host,omitempty"` // the name as given, when the target was a name
	Port   uint16 `json:"port"`
	// NetBIOSSession is how the NetBIOS session was established on port 139 (nil elsewhere).
	NetBIOSSession *NetBIOSSessionInfo `json:"netbios_session,omitempty"`
	PortsTried     []uint16            `json:"ports_tried,omitempty"` // -ports: the ports tried in order, the last is Port; nil without a fallback
	Status         Status              `json:"status"`
	Error          string              `json:"error,omitempty"`
	// Incomplete names, in pipeline order, the stages of the profile that got no answer for a
	// transient reason (reset, timeout) although the host answered SMB: the record is missing
	// them even after the recheck (stages.<name> says why). Absent when the record is complete.
	Incomplete      []StageName    `json:"incomplete,omitempty"`
	Timestamp       time.Time      `json:"timestamp"` // when the probe of this host started, UTC
	DurationSeconds float64        `json:"duration_seconds"`
	SMB1            *SMB1Info      `json:"smb1"`
	Negotiate       *NegotiateInfo `json:"negotiate"`
	NTLM            *NTLMInfo      `json:"ntlm"`
	// ClockSkewSeconds is the server's clock minus the local clock when its reply arrived, from
	// the SMB2 NEGOTIATE SystemTime when non-zero, else from the NTLM CHALLENGE timestamp
	// (macOS's NTLM timestamp runs minutes off its own SystemTime); null without either.
	ClockSkewSeconds *float64              `json:"clock_skew_seconds"`
	ClockSkewSource  string                `json:"clock_skew_source,omitempty"` // ClockSkewNegotiate or ClockSkewNTLM
	NBStat           *NBStatInfo           `json:"nbstat,omitempty"`            // stage nbstat (UDP 137)
	OS               *OSInfo               `json:"os,omitempty"`                // product named from the NTLM version (os.go); omitted without one
	DomainController *DomainControllerInfo `json:"domain_controller,omitempty"` // omitted when nothing informed it
	Sessions         Sessions              `json:"sessions"`
	Shares           []Share               `json:"shares"`
	Findings         []Finding             `json:"findings"`
	Auth             *AuthInfo             `json:"auth"`    // stage auth (credentialed logon)
	Listing          *Listing              `json:"listing"` // stage ls
	Read             *FileRead             `json:"read"`    // stage read
	// RPC is the coercion surface of stage coercion; absent when the stage did not run.
	RPC    *RPCSurface                `json:"rpc,omitempty"`
	Stages map[StageName]*StageResult `json:"stages"`

	// LSA and SAMR are what stages lsa and samr learned per identity (anonymous, guest);
	// absent when the stage did not run.
	LSA  []LSAInfo  `json:"lsa,omitempty"`
	SAMR []SAMRInfo `json:"samr,omitempty"`

	// What the ms17010 stage decided (findings ms17_010 and doublepulsar_implant); nil when it
	// did not decide (the findings then say why from stages.ms17010).
	ms17010, doublePulsar *verdict
}

// Sources of Result.ClockSkewSeconds (docs/schema.md).
const (
	ClockSkewNegotiate = "negotiate" // SMB2 NEGOTIATE SystemTime
	ClockSkewNTLM      = "ntlm"      // NTLM CHALLENGE MsvAvTimestamp
)

// NetBIOSSessionInfo is the NetBIOS SESSION REQUEST exchange that opened SMB on port 139
// (RFC 1002 4.3.2).
type NetBIOSSessionInfo struct {
	CalledName *string  `json:"called_name"`        // the called name the server accepted; null when none was
	Refused    []string `json:"refused,omitempty"`  // called names refused before, each with the NEGATIVE error
	Retarget   string   `json:"retarget,omitempty"` // the address:port a RETARGET response sent the scanner to
}

// NBStatInfo is a host's answer to the NetBIOS NODE STATUS query on UDP port 137 (RFC 1002
// 4.2.18), stage nbstat.
type NBStatInfo struct {
	Answered         *bool        `json:"answered"` // false: port unreachable; null: silence
	Names            []NBStatName `json:"names"`
	MAC              *string      `json:"mac"`
	ComputerName     *string      `json:"computer_name"`     // the first unique <00> name
	Workgroup        *string      `json:"workgroup"`         // the first group <00> name: workgroup or domain
	Users            []string     `json:"users"`             // unique <03> names other than the computer's: logged-on users
	DomainController *bool        `json:"domain_controller"` // the host registered the domain controllers' <1C> group
	MasterBrowser    *bool        `json:"master_browser"`    // <1D> unique or the __MSBROWSE__ <01> group
	Evidence         string       `json:"evidence"`
}

// NBStatName is one registered NetBIOS name.
type NBStatName struct {
	Name   string `json:"name"`
	Suffix string `json:"suffix"` // the 16th byte, "0x20"
	Group  bool   `json:"group"`
}

// SMB1Info is what a dedicated SMB1 "NT LM 0.12" NEGOTIATE on its own connection showed.
type SMB1Info struct {
	Enabled          *bool      `json:"enabled"`
	Dialect          string     `json:"dialect,omitempty"`
	SigningEnabled   *bool      `json:"signing_enabled"`
	SigningRequired  *bool      `json:"signing_required"`
	ExtendedSecurity *bool      `json:"extended_security"`
	Capabilities     []string   `json:"capabilities"`
	CapabilitiesRaw  *Hex32     `json:"capabilities_raw,omitempty"` // rendered "0x8000e3fd"; absent without a valid reply
	SystemTime       *time.Time `json:"system_time"`
	ServerGUID       string     `json:"server_guid,omitempty"`
	DomainName       string     `json:"domain_name,omitempty"` // non-extended-security responses only
	ServerName       string     `json:"server_name,omitempty"`
	// NativeOS, NativeLanManager and PrimaryDomain are the strings of the SMB1
	// SESSION_SETUP_ANDX reply (MS-CIFS 2.2.4.53.2) of the ms17010 stage's logon; omitted when
	// that stage did not log on.
	NativeOS         string `json:"native_os,omitempty"`
	NativeLanManager string `json:"native_lan_manager,omitempty"`
	PrimaryDomain    string `json:"primary_domain,omitempty"`
	Evidence         string `json:"evidence"`
	// Only is true for a host that speaks SMB1 only: it accepted NT LM 0.12 here and closed the
	// connection in answer to the SMB2 NEGOTIATE (stage negotiate) and to one more on a new
	// connection. The session, guest, tree,
	// shares and access stages then run over SMB1 (their stages.<name>.protocol is "smb1").
	// Omitted otherwise.
	Only bool `json:"only,omitempty"`
}

// NegotiateInfo is the SMB2/3 NEGOTIATE response.
type NegotiateInfo struct {
	Dialect            string     `json:"dialect"`           // "2.0.2", "2.1", "3.0", "3.0.2", "3.1.1"
	DialectRevision    Hex16      `json:"dialect_revision"`  // rendered "0x0311"
	Dialects           []string   `json:"dialects,omitzero"` // enumerated: every dialect the server accepts; nil (absent) when not enumerated, [] when none
	Ciphers            []string   `json:"ciphers,omitzero"`  // enumerated: every 3.1.1 cipher the server accepts; nil (absent) when not enumerated, [] when none
	ServerGUID         string     `json:"server_guid"`
	SecurityMode       uint16     `json:"security_mode"`
	SigningEnabled     *bool      `json:"signing_enabled"`
	SigningRequired    *bool      `json:"signing_required"`
	Capabilities       []string   `json:"capabilities"`
	CapabilitiesRaw    Hex32      `json:"capabilities_raw"`
	MaxTransactSize    uint32     `json:"max_transact_size"`
	MaxReadSize        uint32     `json:"max_read_size"`
	MaxWriteSize       uint32     `json:"max_write_size"`
	SystemTime         *time.Time `json:"system_time"`
	BootTime           *time.Time `json:"boot_time"`
	PreauthHash        string     `json:"preauth_hash,omitempty"`      // 3.1.1: "SHA-512"
	Cipher             string     `json:"cipher,omitempty"`            // 3.1.1: "AES-128-GCM", ...
	SigningAlgorithm   string     `json:"signing_algorithm,omitempty"` // 3.1.1: "AES-CMAC", ...
	Compression        []string   `json:"compression_algorithms,omitempty"`
	Contexts           []string   `json:"contexts,omitempty"`            // 3.1.1: every negotiate context the server returned, in order
	SecurityMechanisms []string   `json:"security_mechanisms,omitempty"` // SPNEGO hint in the security buffer
}

// NTLMInfo is what the server's NTLMSSP CHALLENGE revealed (MS-NLMP 2.2.1.2, 2.2.2.1).
type NTLMInfo struct {
	// The names are null when their AV pair is absent, "" when the pair is present and empty.
	NetBIOSComputerName *string    `json:"netbios_computer_name"`
	NetBIOSDomainName   *string    `json:"netbios_domain_name"`
	DNSComputerName     *string    `json:"dns_computer_name"`
	DNSDomainName       *string    `json:"dns_domain_name"`
	DNSTreeName         *string    `json:"dns_tree_name"`
	OSVersion           *string    `json:"os_version"` // NTLM-reported "major.minor.build", null without a Version field
	NegotiateFlags      string     `json:"negotiate_flags"`
	ServerTime          *time.Time `json:"server_time"`
	ClockSkewSeconds    *float64   `json:"clock_skew_seconds"` // server minus local, null without a timestamp
}

// OSInfo names the operating system from what the server reported (os.go): the NTLM CHALLENGE
// Version and the Samba tells. Unknown builds keep only the raw numbers, never a guess.
type OSInfo struct {
	Family   *string `json:"family"`  // OSFamilyWindows or OSFamilySamba; null when not identified
	Name     *string `json:"name"`    // "Windows Server 2019 (1809)", ...; null when not identified
	Version  *string `json:"version"` // raw NTLM-reported "major.minor.build"; null without one
	Source   string  `json:"source"`  // what decided it: OSSourceNTLM, OSSourceSMB1
	Evidence string  `json:"evidence"`
}

// OS families (OSInfo.Family) and sources (OSInfo.Source).
const (
	OSFamilyWindows = "windows"
	OSFamilySamba   = "samba"
	OSSourceNTLM    = "ntlm"
	OSSourceSMB1    = "smb1"
)

// DomainControllerInfo says whether the host is an Active Directory domain controller
// (dc.go): Value is tri-state, Evidence lists every tell that was looked at.
type DomainControllerInfo struct {
	Value    *bool    `json:"value"`
	Evidence []string `json:"evidence"`
}

// Sessions groups the unauthenticated session attempts.
type Sessions struct {
	Null  *SessionInfo `json:"null"`
	Guest *SessionInfo `json:"guest"`
}

// SessionInfo is one session attempt.
type SessionInfo struct {
	SetupOK  *bool    `json:"setup_ok"` // the SESSION_SETUP exchange alone succeeded
	Allowed  *bool    `json:"allowed"`  // the session could actually use IPC$
	Status   *string  `json:"status"`   // NT status name of the final SESSION_SETUP; null without one
	Flags    []string `json:"flags"`    // SessionFlags: IS_GUEST, IS_NULL, ENCRYPT_DATA
	Evidence string   `json:"evidence"`

	id       uint64 // the server's 64-bit SessionId (0 until it assigned one)
	rawFlags uint16 // SessionFlags as sent
}

// ID returns the server's 64-bit SessionId of the session (0 when it assigned none).
func (s *SessionInfo) ID() uint64 { return s.id }

// RawFlags returns the final SESSION_SETUP response's SessionFlags (wire.SessionFlag*).
func (s *SessionInfo) RawFlags() uint16 { return s.rawFlags }

// Share is one share seen by some identity.
type Share struct {
	Name     string        `json:"name"`
	Type     string        `json:"type,omitempty"` // disk, pipe, print
	Comment  string        `json:"comment,omitempty"`
	ListedBy []string      `json:"listed_by,omitempty"` // identities whose share enumeration returned it; ListedByProbe when found by name
	Access   []ShareAccess `json:"access"`
}

// ShareAccess is what one identity could do on one share.
type ShareAccess struct {
	Identity      string   `json:"identity"`     // anonymous, guest, user
	TreeConnect   *string  `json:"tree_connect"` // NT status name; null when no TREE_CONNECT answer came
	ShareType     string   `json:"share_type,omitempty"`
	ShareFlags    []string `json:"share_flags,omitempty"`
	Capabilities  []string `json:"capabilities,omitempty"`
	MaximalAccess *Hex32   `json:"maximal_access,omitempty"` // access mask, rendered "0x001f01ff"
	Read          *bool    `json:"read"`
	ReadStatus    string   `json:"read_status,omitempty"` // evidence: the NT status that decided read
	Write         *bool    `json:"write"`
	WriteStatus   string   `json:"write_status,omitempty"` // evidence: the NT status that decided write
	Stat          *Stat    `json:"stat,omitempty"`

	raw TreeRaw // the TREE_CONNECT response's numbers (SMB2), for the API's seed responses
}

// TreeRaw is what an SMB2 TREE_CONNECT response said, as numbers: the records render the
// names (share_type, share_flags, capabilities); the seed API's responses carry the numbers.
type TreeRaw struct {
	TreeID       uint32
	ShareType    uint8
	ShareFlags   uint32
	Capabilities uint32
}

// Raw returns the numbers of the share's TREE_CONNECT response (zero without one).
func (a *ShareAccess) Raw() TreeRaw { return a.raw }

// Stat is a CREATE + QUERY_INFO of one path.
type Stat struct {
	Path           string     `json:"path"`
	Status         *string    `json:"status"` // NT status name of the CREATE; null without an answer
	IsDirectory    *bool      `json:"is_directory"`
	Size           *uint64    `json:"size"`
	AllocationSize *uint64    `json:"allocation_size"`
	Attributes     []string   `json:"attributes"`
	AttributesRaw  *Hex32     `json:"attributes_raw"` // rendered "0x00000010"; null when the attributes were not read
	CreationTime   *time.Time `json:"creation_time"`
	LastAccessTime *time.Time `json:"last_access_time"`
	LastWriteTime  *time.Time `json:"last_write_time"`
	ChangeTime     *time.Time `json:"change_time"`

	info client.FileInfo // what the stat read, for the API's seed responses
}

// Info returns the metadata the stat read (zero fields for what it could not read).
func (s *Stat) Info() client.FileInfo { return s.info }

// AuthInfo is the credentialed NTLMv2 logon of stage auth, on its own connection. It never
// holds the password or NT hash.
type AuthInfo struct {
	User             string   `json:"user"`
	Domain           *string  `json:"domain"`  // as sent: the given one or the server's NetBIOS domain; null when neither is known
	Success          *bool    `json:"success"` // the logon was granted as a full (not guest) session
	Status           *string  `json:"status"`  // NT status name of the final SESSION_SETUP; null without one
	Dialect          string   `json:"dialect,omitempty"`
	SessionFlags     []string `json:"session_flags"`
	Signing          *bool    `json:"signing"` // every message not encrypted is signed and verified
	SigningAlgorithm string   `json:"signing_algorithm,omitempty"`
	Encryption       *bool    `json:"encryption"` // every request of the session is encrypted
	Cipher           string   `json:"cipher,omitempty"`
	ServerName       string   `json:"server_name,omitempty"`   // NetBIOS computer name from the CHALLENGE
	ServerDomain     string   `json:"server_domain,omitempty"` // NetBIOS domain from the CHALLENGE
	Evidence         string   `json:"evidence"`
}

// Listing is the credentialed directory listing of stage ls.
type Listing struct {
	Share      string      `json:"share"`
	Path       string      `json:"path"`
	Entries    []FileEntry `json:"entries"`
	Count      int         `json:"count"`
	Truncated  bool        `json:"truncated"`
	Reason     string      `json:"reason,omitempty"` // what stopped a truncated listing: max-entries, time
	NotEntered int         `json:"not_entered"`      // subdirectories below -depth, listed but not entered
	Errors     []string    `json:"errors,omitempty"` // subdirectories that could not be listed
}

// FileEntry is one listed file or directory.
type FileEntry struct {
	Name           string     `json:"name"`
	Path           string     `json:"path"`
	IsDir          bool       `json:"is_dir"`
	Size           int64      `json:"size"`
	Attributes     []string   `json:"attributes"`
	CreationTime   *time.Time `json:"creation_time"`
	LastAccessTime *time.Time `json:"last_access_time"`
	LastWriteTime  *time.Time `json:"last_write_time"`
	ChangeTime     *time.Time `json:"change_time"`
}

// FileRead is the credentialed read of one file by stage read.
type FileRead struct {
	Share     string `json:"share"`
	Path      string `json:"path"`
	Size      int64  `json:"size"`
	BytesRead int64  `json:"bytes_read"`
	Truncated bool   `json:"truncated"`
	IsText    bool   `json:"is_text"`
	SHA256    string `json:"sha256"`
	Content   string `json:"content"` // base64 of the bytes read
}

// RPCSurface is what stage coercion learned by opening RPC pipes of IPC$ and binding, per
// identity: which interfaces that can make the server connect out answer a BIND, and whether
// the WebClient and Print Spooler services run. Nothing but a BIND is ever sent.
type RPCSurface struct {
	Interfaces []RPCInterface `json:"interfaces"`
	WebClient  []ServiceState `json:"webclient"`
	Spooler    []ServiceState `json:"spooler"`
}

// RPCInterface is one pipe and interface as one identity found it.
type RPCInterface struct {
	Identity  string  `json:"identity"`  // anonymous, guest
	Pipe      string  `json:"pipe"`      // spoolss, efsrpc, lsarpc, ...
	Interface string  `json:"interface"` // its specification: MS-RPRN, MS-EFSR, ...
	Syntax    string  `json:"syntax"`    // abstract syntax bound: "uuid vMajor.Minor"
	Open      *string `json:"open"`      // NT status of the pipe's CREATE (or of the IPC$ TREE_CONNECT that failed); null without one
	Bind      *string `json:"bind"`      // the BIND's outcome: "acceptance", "provider_rejection (reason)", "bind_nak (reason)"; null when no BIND was answered
	Outcome   string  `json:"outcome"`   // RPCReachable, RPCAbsent, RPCAccessDenied, RPCRejected, RPCRefused, RPCError
	Reachable *bool   `json:"reachable"` // the interface accepted the BIND; null when undecided
	Evidence  string  `json:"evidence"`
}

// Outcomes of RPCInterface (docs/schema.md).
const (
	RPCReachable    = "reachable"     // bind_ack accepted the interface's context
	RPCAbsent       = "absent"        // the pipe does not exist: STATUS_OBJECT_NAME_NOT_FOUND
	RPCAccessDenied = "access_denied" // the pipe (or IPC$) refused the identity: STATUS_ACCESS_DENIED
	RPCRejected     = "rejected"      // the pipe exists but refused the interface: bind_nak or a rejected context
	RPCRefused      = "refused"       // another NT status refused the pipe (or IPC$)
	RPCError        = "error"         // no usable answer: transport or protocol error
)

// ServiceState says whether a service runs, as one identity could tell.
type ServiceState struct {
	Identity string `json:"identity"`
	Running  *bool  `json:"running"` // null when the identity could not tell
	Evidence string `json:"evidence"`
}

// Finding ids (stable; docs/schema.md).
const (
	FindingSMB1Enabled            = "smb1_enabled"
	FindingSigningNotRequired     = "signing_not_required"
	FindingNullSession            = "null_session"
	FindingGuestSession           = "guest_session"
	FindingAnonymousShareReadable = "anonymous_share_readable"
	FindingShareWritable          = "share_writable"
	FindingSMB3Unsupported        = "smb3_unsupported"
	FindingEncryptionUnsupported  = "encryption_unsupported"
	FindingSMBGhost               = "smbghost"             // verdict: CVE-2020-0796
	FindingMS17010                = "ms17_010"             // verdict: CVE-2017-0143 to 0148 (stage ms17010)
	FindingDoublePulsar           = "doublepulsar_implant" // verdict: the implant answered its ping (stage ms17010)
	FindingCoercibleInterface     = "coercible_interface_reachable"
	FindingCoercibleCredentialed  = "coercible_interface_reachable_credentialed" // the -u account's BIND (stage coercion)
	FindingWebClientRunning       = "webclient_running"
	FindingSpoolerRunning         = "spooler_running"
)

// Finding ids of stages lsa and samr (stable; docs/schema.md).
const (
	FindingAnonymousLSA            = "anonymous_lsa"             // domain name and SID without credentials
	FindingAnonymousSIDTranslation = "anonymous_sid_translation" // LsarLookupSids without credentials
	FindingAnonymousPasswordPolicy = "anonymous_password_policy" // password policy without credentials
)

// LSAInfo is what one identity learned over \PIPE\lsarpc (stage lsa): the account and primary
// domain from LsarQueryInformationPolicy2, whether LsarLookupSids translates SIDs, and with
// -enum-users the accounts RID cycling found.
type LSAInfo struct {
	Identity          string  `json:"identity"`            // anonymous, guest
	Open              *string `json:"open"`                // NT status of the pipe's CREATE (or the IPC$ TREE_CONNECT that failed); null without one
	Bind              *string `json:"bind"`                // the BIND's outcome for LSA; null when no BIND was answered
	OpenPolicy        *string `json:"open_policy"`         // NTSTATUS of LsarOpenPolicy2 (or the fault); null when not sent
	DomainName        *string `json:"domain_name"`         // account domain (class 5); null when not read
	DomainSID         *string `json:"domain_sid"`          // account domain SID; null when not read
	PrimaryDomainName *string `json:"primary_domain_name"` // primary domain (class 3): the workgroup or AD domain; null when not read
	PrimaryDomainSID  *string `json:"primary_domain_sid"`  // null when not read or when the host is in a workgroup
	Exposed           *bool   `json:"exposed"`             // the domain name and SID were read; null when undecided
	SIDTranslation    *bool   `json:"sid_translation"`     // LsarLookupSids translated a SID; null when undecided
	// SIDLookup is the NTSTATUS of LsarLookupSids of the account domain SID + 500 and
	// S-1-5-32-544 (or the fault); null when not sent.
	SIDLookup *string   `json:"sid_lookup"`
	Users     *UserEnum `json:"users,omitempty"` // only with -enum-users
	Evidence  string    `json:"evidence"`
}

// UserEnum is the RID cycling of -enum-users: LsarLookupSids of the account domain SID plus
// each RID of -rid-range, in batches. The names are sensitive: they are present only because
// -enum-users asked for them, and only in this JSON field (the CSV and text views show the
// count).
type UserEnum struct {
	Method   string   `json:"method"`    // "lsa_rid_cycling"
	RIDRange string   `json:"rid_range"` // "500-1100"
	Calls    int      `json:"calls"`     // LsarLookupSids calls made
	Found    int      `json:"found"`     // accounts of type user found
	Names    []string `json:"names"`     // their names, in RID order
	Complete bool     `json:"complete"`  // every RID of the range was looked up
	Evidence string   `json:"evidence"`
}

// SAMRInfo is what one identity learned over \PIPE\samr (stage samr): the account domain and
// its password and lockout policy.
type SAMRInfo struct {
	Identity       string          `json:"identity"`
	Open           *string         `json:"open"`            // NT status of the pipe's CREATE (or the IPC$ TREE_CONNECT that failed)
	Bind           *string         `json:"bind"`            // the BIND's outcome for SAMR
	Connect        *string         `json:"connect"`         // NTSTATUS of SamrConnect2 (or the fault); null when not sent
	DomainName     *string         `json:"domain_name"`     // the domain opened (the first that is not Builtin)
	DomainSID      *string         `json:"domain_sid"`      // its SID from SamrLookupDomainInSamServer
	OpenDomain     *string         `json:"open_domain"`     // NTSTATUS of SamrOpenDomain; null when not sent
	PasswordPolicy *PasswordPolicy `json:"password_policy"` // null when neither class was read
	Exposed        *bool           `json:"exposed"`         // some of the policy was read; null when undecided
	Evidence       string          `json:"evidence"`
}

// PasswordPolicy is the account domain's password (DOMAIN_PASSWORD_INFORMATION) and lockout
// (DOMAIN_LOCKOUT_INFORMATION) policy. Durations are in seconds; a duration the domain marks
// "never" (0x8000000000000000) is null, as are the fields of a class not read (password_info
// and lockout_info say which).
type PasswordPolicy struct {
	PasswordInfo           *string  `json:"password_info"` // NTSTATUS of the class 1 query; null when not sent
	MinPasswordLength      *int     `json:"min_password_length"`
	PasswordHistoryLength  *int     `json:"password_history_length"`
	MaxPasswordAgeSeconds  *int64   `json:"max_password_age_seconds"` // null: never expires (or not read)
	MinPasswordAgeSeconds  *int64   `json:"min_password_age_seconds"`
	PasswordProperties     []string `json:"password_properties"`      // DOMAIN_PASSWORD_COMPLEX, ...; null when not read
	LockoutInfo            *string  `json:"lockout_info"`             // NTSTATUS of the class 12 query; null when not sent
	LockoutThreshold       *int     `json:"lockout_threshold"`        // 0: accounts never lock out
	LockoutDurationSeconds *int64   `json:"lockout_duration_seconds"` // null: until an administrator unlocks (or not read)
	LockoutWindowSeconds   *int64   `json:"lockout_window_seconds"`
}

// Finding is one evaluated check. Value is tri-state: true (the exposure is present), false
// (checked and absent), null (could not be decided, e.g. a timeout). Reason gives the evidence.
//
// Verdict findings (vulnerability checks such as smbghost) also carry State, Confidence, CVE,
// References and Evidence; posture findings (smb1_enabled, signing_not_required, ...) leave
// them out: their value already is the observation, there is nothing "likely" about it.
type Finding struct {
	ID       string `json:"id"`
	Value    *bool  `json:"value"`
	Severity string `json:"severity"` // info, low, medium, high, critical
	Reason   string `json:"reason"`
	// SeverityReason says why Severity differs from the id's usual one (raised on a domain
	// controller), omitted when it does not.
	SeverityReason string   `json:"severity_reason,omitempty"`
	State          string   `json:"state,omitempty"`      // verdicts: StateVulnerable, StateLikely, StateNotVulnerable, StateUnknown
	Confidence     string   `json:"confidence,omitempty"` // verdicts: high, medium, low; omitted for unknown
	CVE            []string `json:"cve,omitempty"`        // verdicts: CVE ids
	References     []string `json:"references,omitempty"` // verdicts: advisories and write-ups (URLs)
	Evidence       string   `json:"evidence,omitempty"`   // verdicts: the NT status or bytes that decided the state
}

// Verdict states (Finding.State). Value follows them: true for vulnerable and likely, false for
// not_vulnerable, null for unknown.
const (
	StateVulnerable    = "vulnerable"
	StateLikely        = "likely"
	StateNotVulnerable = "not_vulnerable"
	StateUnknown       = "unknown"
)

// VerdictStates lists the verdict states in the order the summary and the text view give them.
var VerdictStates = []string{StateVulnerable, StateLikely, StateNotVulnerable, StateUnknown}

// VerdictIDs lists the finding ids that are verdicts (they carry a State).
var VerdictIDs = []string{FindingMS17010, FindingDoublePulsar, FindingSMBGhost}

// StageStatus is the outcome of one pipeline stage.
type StageStatus string

// Stage outcomes.
const (
	StageOK      StageStatus = "ok"      // the stage ran and learned what it set out to
	StageFailed  StageStatus = "failed"  // the server answered with a refusal (nt_status says which)
	StageErrored StageStatus = "error"   // transport or protocol error, timeout
	StageSkipped StageStatus = "skipped" // not run: a stage it needs did not succeed (reason says which)
)

// StageResult records one stage.
type StageResult struct {
	Status          StageStatus `json:"status"`
	NTStatus        string      `json:"nt_status,omitempty"`
	DurationSeconds float64     `json:"duration_seconds"`
	Error           string      `json:"error,omitempty"`
	Reason          string      `json:"reason,omitempty"`
	// Protocol is ProtocolSMB1 on the stages that ran over SMB1 because the host speaks SMB1
	// only (smb1.only); omitted for SMB2/3, the default.
	Protocol string `json:"protocol,omitempty"`

	// class is how the stage ended when it got no answer: the status class of its error, or
	// for a skipped stage the class of the stage it waited for (io-timeout for the host
	// deadline, interrupted for an abort). It decides whether the stage is missing from the
	// record (Result.Incomplete); "" for a stage that was answered or skipped by choice.
	class Status
}

// ProtocolSMB1 is StageResult.Protocol of a stage answered over SMB1.
const ProtocolSMB1 = "smb1"

// missing reports whether the stage ended without an answer for a reason a later attempt may
// not meet: a reset, a timeout, or an interrupt.
func (sr *StageResult) missing() bool { return transient(sr.class) }

// transient tells the status classes that say "no answer this time" rather than "this is the
// answer": the recheck pass tries such stages again.
func transient(st Status) bool {
	switch st {
	case StatusConnectionReset, StatusIOTimeout, StatusConnectionTimeout, StatusInterrupted:
		return true
	}
	return false
}

// Summary closes a run: {"type":"summary",...}.
type Summary struct {
	Schema          string    `json:"schema"`
	Type            string    `json:"type"` // always "summary"
	Started         time.Time `json:"started"`
	Finished        time.Time `json:"finished"`
	DurationSeconds float64   `json:"duration_seconds"`
	Targets         uint64    `json:"targets"`
	Scanned         uint64    `json:"scanned"`
	Interrupted     bool      `json:"interrupted"`
	// Incomplete counts host records that answered SMB but still miss stages of the profile
	// after the recheck (Result.Incomplete).
	Incomplete int            `json:"incomplete"`
	Statuses   map[string]int `json:"statuses"`
	Findings   map[string]int `json:"findings"` // hosts per finding id where value is true
	// Verdicts counts the hosts that answered SMB by verdict finding id and state, zeros
	// included: how many hosts a check could not decide is a result as much as how many are
	// vulnerable. A host whose record lacks the verdict (its check was not in the profile)
	// counts under no state.
	Verdicts map[string]map[string]int `json:"verdicts,omitempty"`
	Pacing   *Pacing                   `json:"pacing,omitempty"`
	Errors   []string                  `json:"errors,omitempty"`
}

// Pacing is how a scan paced its probes: how many it could run at once and how many it did
// (with connect-ahead, a congestion window runs fewer when the servers or the scanner's CPU
// show overload or queueing).
type Pacing struct {
	Slots          int    `json:"slots"`            // probe slots: -c, after fitting to the open-file limit
	ConnectAhead   int    `json:"connect_ahead"`    // hosts that could wait for their TCP handshake outside the slots (0: off)
	PeakProbes     int    `json:"peak_probes"`      // most hosts probed at once in the pass
	Window         int    `json:"window"`           // the congestion window at the end (0 without connect-ahead)
	Decreases      uint64 `json:"window_decreases"` // times the window was halved
	QueueingEpochs uint64 `json:"queueing_epochs"`  // epochs whose probes queued (the window stopped growing)
	OverloadSigns  uint64 `json:"overload_signs"`   // hosts that stopped answering or reset, later connects that timed out
}

// Bool returns a pointer to b, for tri-state fields.
func Bool(b bool) *bool { return &b }

// String returns a pointer to s, for string fields that are null when unknown (a server-sent
// value is never replaced by "" to mean "unknown": docs/schema.md).
func String(s string) *string { return &s }

// StringOr returns *p, or def when p is nil.
func StringOr(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}
