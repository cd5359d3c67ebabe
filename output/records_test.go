package output

import (
	"time"

	"github.com/smbsweep/smbsweep/probes"
)

// Hand-built records for the output tests (output formatting only; real captures are the
// probes' business).

var testTime = time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)

func tptr(t time.Time) *time.Time { return &t }

// sambaRecord is an SMB host with SMB1, optional signing, a null session and two shares.
func sambaRecord() *probes.Result {
	skew := -0.02
	size := uint64(0)
	return &probes.Result{
		Schema: probes.SchemaVersion, Type: "host",
		IP: "127.0.0.2", Port: 445, Status: probes.StatusSMB,
		Timestamp: testTime, DurationSeconds: 0.0412,
		SMB1: &probes.SMB1Info{
			Enabled: probes.Bool(true), Dialect: "NT LM 0.12",
			SigningEnabled: probes.Bool(true), SigningRequired: probes.Bool(false),
			ExtendedSecurity: probes.Bool(true),
			Capabilities:     []string{"CAP_UNICODE", "CAP_NT_SMBS"}, CapabilitiesRaw: hex32(0x8000e3fd),
			SystemTime: tptr(testTime), Evidence: "NEGOTIATE response selected NT LM 0.12",
		},
		Negotiate: &probes.NegotiateInfo{
			Dialect: "3.1.1", DialectRevision: 0x0311,
			ServerGUID:     "46494c45-5345-5256-4552-000000000000",
			SecurityMode:   1,
			SigningEnabled: probes.Bool(true), SigningRequired: probes.Bool(false),
			Capabilities: []string{"DFS", "LEASING", "LARGE_MTU"}, CapabilitiesRaw: 0x00000007,
			MaxTransactSize: 8388608, MaxReadSize: 8388608, MaxWriteSize: 8388608,
			SystemTime: tptr(testTime), BootTime: nil,
			PreauthHash: "SHA-512", Cipher: "AES-128-GCM", SigningAlgorithm: "AES-CMAC",
		},
		NTLM: &probes.NTLMInfo{
			NetBIOSComputerName: probes.String("FILESRV"), NetBIOSDomainName: probes.String("WORKGROUP"),
			DNSComputerName: probes.String("filesrv"), OSVersion: probes.String("6.1.0"), NegotiateFlags: "0x628a8215",
			ServerTime: tptr(testTime), ClockSkewSeconds: &skew,
		},
		Sessions: probes.Sessions{
			Null: &probes.SessionInfo{SetupOK: probes.Bool(true), Allowed: probes.Bool(true),
				Status: probes.String("STATUS_SUCCESS"), Flags: []string{"IS_NULL"}, Evidence: "null session tree-connected IPC$"},
		},
		Shares: []probes.Share{
			{Name: "IPC$", Type: "pipe", Access: []probes.ShareAccess{
				{Identity: "anonymous", TreeConnect: probes.String("STATUS_SUCCESS"), ShareType: "pipe", Read: probes.Bool(true)},
			}},
			{Name: "public", Type: "disk", Comment: "Public <files> & more", Access: []probes.ShareAccess{
				{Identity: "anonymous", TreeConnect: probes.String("STATUS_SUCCESS"), ShareType: "disk",
					MaximalAccess: hex32(0x001f01ff), Read: probes.Bool(true), Write: probes.Bool(false),
					Stat: &probes.Stat{Path: "", Status: probes.String("STATUS_SUCCESS"), IsDirectory: probes.Bool(true),
						Size: &size, Attributes: []string{"DIRECTORY"}, AttributesRaw: hex32(0x00000010),
						LastWriteTime: tptr(testTime)}},
				{Identity: "guest", TreeConnect: probes.String("STATUS_SUCCESS"), Read: probes.Bool(true), Write: probes.Bool(true)},
			}},
			{Name: "admin", Type: "disk", Access: []probes.ShareAccess{
				{Identity: "anonymous", TreeConnect: probes.String("STATUS_ACCESS_DENIED")},
			}},
		},
		Findings: []probes.Finding{
			{ID: probes.FindingSMB1Enabled, Value: probes.Bool(true), Severity: "high", Reason: "accepted NT LM 0.12"},
			{ID: probes.FindingSigningNotRequired, Value: probes.Bool(true), Severity: "medium", Reason: "no SIGNING_REQUIRED"},
			{ID: probes.FindingNullSession, Value: probes.Bool(true), Severity: "medium", Reason: "IPC$ usable"},
			{ID: probes.FindingGuestSession, Value: nil, Severity: "medium", Reason: "unknown: guest stage timed out"},
			{ID: probes.FindingAnonymousShareReadable, Value: probes.Bool(true), Severity: "high", Reason: "public"},
			{ID: probes.FindingShareWritable, Value: probes.Bool(true), Severity: "high", Reason: "public by guest"},
			{ID: probes.FindingSMB3Unsupported, Value: probes.Bool(false), Severity: "low", Reason: "3.1.1"},
		},
		Stages: map[probes.StageName]*probes.StageResult{
			"smb1":      {Status: probes.StageOK, DurationSeconds: 0.005},
			"negotiate": {Status: probes.StageOK, DurationSeconds: 0.004},
			"session":   {Status: probes.StageOK, DurationSeconds: 0.01},
			"tree":      {Status: probes.StageFailed, NTStatus: "STATUS_ACCESS_DENIED", DurationSeconds: 0.002},
			"stat":      {Status: probes.StageSkipped, Reason: "tree failed"},
		},
	}
}

// refusedRecord is a closed port.
func refusedRecord() *probes.Result {
	return &probes.Result{
		Schema: probes.SchemaVersion, Type: "host",
		IP: "127.0.0.3", Host: "closed.test", Port: 445, Status: probes.StatusConnectionRefused,
		Error:     "dial tcp 127.0.0.3:445: connect: connection refused",
		Timestamp: testTime, DurationSeconds: 0.0003,
		Findings: []probes.Finding{
			{ID: probes.FindingSMB1Enabled, Value: nil, Severity: "high", Reason: "unknown: smb1 error"},
		},
		Stages: map[probes.StageName]*probes.StageResult{
			"smb1": {Status: probes.StageErrored, DurationSeconds: 0.0002, Error: "connection refused"},
		},
	}
}

// hostileRecord carries server-controlled strings that try to attack terminals and spreadsheets.
func hostileRecord() *probes.Result {
	return &probes.Result{
		Schema: probes.SchemaVersion, Type: "host",
		IP: "127.0.0.4", Port: 445, Status: probes.StatusSMB, Timestamp: testTime,
		Negotiate: &probes.NegotiateInfo{Dialect: "2.1", SigningEnabled: probes.Bool(false), SigningRequired: probes.Bool(false)},
		NTLM: &probes.NTLMInfo{
			NetBIOSComputerName: probes.String("EVIL\x1b[2J\x1b[H"),
			NetBIOSDomainName:   probes.String("=cmd|' /C calc'!A0"),
			OSVersion:           probes.String("1\r\n127.0.0.9:445  SMB 3.1.1  signing:required"),
		},
		Shares: []probes.Share{
			{Name: "@SUM(1)\x9b31m", Type: "disk", Comment: "bell\a\x7f", Access: []probes.ShareAccess{
				{Identity: "anonymous", TreeConnect: probes.String("STATUS_SUCCESS"), Read: probes.Bool(true), Write: probes.Bool(true)},
			}},
		},
		Findings: []probes.Finding{
			{ID: probes.FindingSigningNotRequired, Value: probes.Bool(true), Severity: "medium"},
			{ID: probes.FindingAnonymousShareReadable, Value: probes.Bool(true), Severity: "high"},
		},
	}
}

func hex32(v uint32) *probes.Hex32 {
	h := probes.Hex32(v)
	return &h
}
