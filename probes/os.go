package probes

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// OS identification from what the stages already recorded: the NTLM CHALLENGE Version field
// (MS-NLMP 2.2.2.10: ProductMajorVersion, ProductMinorVersion, ProductBuild) and the SMB1
// capabilities. No packet is sent for it. The raw numbers stay in ntlm.os_version and
// os.version; a build missing from the table below stays unnamed, never guessed.

// windowsBuild names one NTLM-reported major.minor.build. Builds that a client and a server
// release share name both ("Windows 10 1809 / Windows Server 2019 (1809)"): the NTLM version
// cannot tell them apart.
type windowsBuild struct {
	major, minor uint8
	build        uint16
	name         string
}

// windowsBuilds is the one table of Windows releases by build. Sources (Microsoft's release
// information pages; the build numbers were cross-checked in 2026-12 against copies of them
// and Microsoft's hcsshim osversion constants, which name the same builds):
//   - Windows 10: https://learn.microsoft.com/en-us/windows/release-health/release-information
//   - Windows 11: https://learn.microsoft.com/en-us/windows/release-health/windows11-release-information
//   - Windows Server 2016 and later, and the Semi-Annual Channel server releases:
//     https://learn.microsoft.com/en-us/windows/release-health/windows-server-release-info
//   - Windows 8.1 and earlier (major.minor.build of each release):
//     https://learn.microsoft.com/en-us/windows/win32/sysinfo/operating-system-version
//     and the "Windows lifecycle fact sheet" / update history pages naming the service-pack builds.
//
// Sorted by (major, minor, build); TestWindowsBuildsSorted keeps it so.
var windowsBuilds = []windowsBuild{
	{5, 0, 2195, "Windows 2000"},
	{5, 1, 2600, "Windows XP"},
	{5, 2, 3790, "Windows Server 2003 / Windows XP x64"},
	{6, 0, 6000, "Windows Vista"},
	{6, 0, 6001, "Windows Vista SP1 / Windows Server 2008"},
	{6, 0, 6002, "Windows Vista SP2 / Windows Server 2008 SP2"},
	{6, 0, 6003, "Windows Server 2008 SP2"}, // 6003: 2008 SP2 after the 2019 servicing stack update
	{6, 1, 7600, "Windows 7 / Windows Server 2008 R2"},
	{6, 1, 7601, "Windows 7 SP1 / Windows Server 2008 R2 SP1"},
	{6, 2, 9200, "Windows 8 / Windows Server 2012"},
	{6, 3, 9600, "Windows 8.1 / Windows Server 2012 R2"},
	{10, 0, 10240, "Windows 10 1507"},
	{10, 0, 10586, "Windows 10 1511"},
	{10, 0, 14393, "Windows 10 1607 / Windows Server 2016 (1607)"},
	{10, 0, 15063, "Windows 10 1703"},
	{10, 0, 16299, "Windows 10 1709 / Windows Server 1709"},
	{10, 0, 17134, "Windows 10 1803 / Windows Server 1803"},
	{10, 0, 17763, "Windows 10 1809 / Windows Server 2019 (1809)"},
	{10, 0, 18362, "Windows 10 1903 / Windows Server 1903"},
	{10, 0, 18363, "Windows 10 1909 / Windows Server 1909"},
	{10, 0, 19041, "Windows 10 2004 / Windows Server 2004"},
	{10, 0, 19042, "Windows 10 20H2 / Windows Server 20H2"},
	{10, 0, 19043, "Windows 10 21H1"},
	{10, 0, 19044, "Windows 10 21H2"},
	{10, 0, 19045, "Windows 10 22H2"},
	{10, 0, 20348, "Windows Server 2022 (21H2)"},
	{10, 0, 22000, "Windows 11 21H2"},
	{10, 0, 22621, "Windows 11 22H2"},
	{10, 0, 22631, "Windows 11 23H2"},
	{10, 0, 25398, "Windows Server 23H2"},
	{10, 0, 26100, "Windows 11 24H2 / Windows Server 2025 (24H2)"},
	{10, 0, 26200, "Windows 11 25H2"},
}

// lookupWindowsBuild returns the table's name for major.minor.build, "" when it has none.
func lookupWindowsBuild(major, minor uint8, build uint16) string {
	i, ok := slices.BinarySearchFunc(windowsBuilds, windowsBuild{major: major, minor: minor, build: build}, cmpWindowsBuild)
	if !ok {
		return ""
	}
	return windowsBuilds[i].name
}

func cmpWindowsBuild(a, b windowsBuild) int {
	switch {
	case a.major != b.major:
		return int(a.major) - int(b.major)
	case a.minor != b.minor:
		return int(a.minor) - int(b.minor)
	}
	return int(a.build) - int(b.build)
}

// parseNTLMVersion splits the "major.minor.build" of ntlm.os_version.
func parseNTLMVersion(v string) (major, minor uint8, build uint16, ok bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return 0, 0, 0, false
	}
	ma, err1 := strconv.ParseUint(parts[0], 10, 8)
	mi, err2 := strconv.ParseUint(parts[1], 10, 8)
	b, err3 := strconv.ParseUint(parts[2], 10, 16)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, 0, false
	}
	return uint8(ma), uint8(mi), uint16(b), true
}

// ntlmBuild returns the NTLM-reported version of r when there is one.
func ntlmBuild(r *Result) (major, minor uint8, build uint16, ok bool) {
	if r.NTLM == nil || r.NTLM.OSVersion == nil {
		return 0, 0, 0, false
	}
	return parseNTLMVersion(*r.NTLM.OSVersion)
}

// identifyOS names the host's operating system from the NTLM version and the Samba tells; nil
// when the record holds neither.
//
// Samba tells:
//   - NTLM version 6.1 build 0: Samba's NTLMSSP server sends a fixed Version of 6.1.0 (its
//     auth/ntlmssp code fills ProductBuild with 0); Windows 7 and Server 2008 R2, the Windows
//     releases with 6.1, always report build 7600 or 7601.
//   - SMB1 CAP_UNIX in the NEGOTIATE capabilities: the CIFS UNIX extensions, which Samba
//     announces and Windows never does.
//   - an SMB1 NativeLanMan starting "Samba " (Samba's SESSION_SETUP_ANDX reply; its NativeOS
//     is a fixed "Windows 6.1").
//
// Without an NTLM version (Windows 2000, XP and Server 2003 send none) and without a Samba
// tell, the SMB1 NativeOS names the release (smb1NativeOS).
func identifyOS(r *Result) *OSInfo {
	var tells []string
	if r.SMB1 != nil && slices.Contains(r.SMB1.Capabilities, "CAP_UNIX") {
		tells = append(tells, "SMB1 NEGOTIATE announces CAP_UNIX (the CIFS UNIX extensions: Samba, never Windows)")
	}
	if r.SMB1 != nil && strings.HasPrefix(r.SMB1.NativeLanManager, "Samba ") {
		tells = append(tells, fmt.Sprintf("SMB1 SESSION_SETUP_ANDX NativeLanMan %q", r.SMB1.NativeLanManager))
	}
	major, minor, build, ok := ntlmBuild(r)
	if !ok {
		if tells == nil {
			return smb1NativeOS(r)
		}
		return &OSInfo{Family: String(OSFamilySamba), Name: String("Samba"), Source: OSSourceSMB1, Evidence: strings.Join(tells, "; ")}
	}
	raw := *r.NTLM.OSVersion
	info := &OSInfo{Version: String(raw), Source: OSSourceNTLM}
	if major == 6 && minor == 1 && build == 0 {
		tells = append([]string{"NTLM CHALLENGE Version 6.1 build 0 (Samba's fixed value; Windows 7 and Server 2008 R2 report build 7600 or 7601)"}, tells...)
	}
	if len(tells) > 0 {
		info.Family, info.Name = String(OSFamilySamba), String("Samba")
		info.Evidence = strings.Join(tells, "; ")
		return info
	}
	if name := lookupWindowsBuild(major, minor, build); name != "" {
		info.Family, info.Name = String(OSFamilyWindows), String(name)
		info.Evidence = fmt.Sprintf("NTLM CHALLENGE Version %d.%d build %d", major, minor, build)
		return info
	}
	info.Evidence = fmt.Sprintf("NTLM CHALLENGE Version %d.%d build %d is not in the build table: left unnamed", major, minor, build)
	return info
}

// nativeOSReleases names the SMB1 NativeOS strings of the releases that report only
// "Windows major.minor" (MS-CIFS 2.2.4.53.2 leaves the text to the implementation; Windows 2000
// and XP send "Windows 5.0" and "Windows 5.1", the version numbers of the operating-system
// version table cited above). Later releases send a product name and build
// ("Windows Server 2003 3790 Service Pack 2"), decided by the build table.
var nativeOSReleases = map[string]string{
	"Windows 5.0": "Windows 2000",
	"Windows 5.1": "Windows XP",
}

// smb1NativeOS names the OS from the SMB1 NativeOS alone (source smb1): a "Windows 5.x" of
// nativeOSReleases, or a Windows NativeOS carrying a build of the table
// ("Windows 7 Professional 7601 Service Pack 1"). Another Windows NativeOS keeps the family and
// no name; anything else is nil.
func smb1NativeOS(r *Result) *OSInfo {
	if r.SMB1 == nil || !strings.HasPrefix(r.SMB1.NativeOS, "Windows") {
		return nil
	}
	native := r.SMB1.NativeOS
	info := &OSInfo{Family: String(OSFamilyWindows), Source: OSSourceSMB1}
	if name, ok := nativeOSReleases[native]; ok {
		info.Name = String(name)
		info.Evidence = fmt.Sprintf("SMB1 SESSION_SETUP_ANDX NativeOS %q", native)
		return info
	}
	for _, word := range strings.Fields(native) {
		b, err := strconv.ParseUint(word, 10, 16)
		if err != nil || b < 2000 {
			continue
		}
		for _, w := range windowsBuilds {
			if w.build == uint16(b) {
				info.Name = String(w.name)
				info.Evidence = fmt.Sprintf("SMB1 SESSION_SETUP_ANDX NativeOS %q (build %d)", native, b)
				return info
			}
		}
	}
	info.Evidence = fmt.Sprintf("SMB1 SESSION_SETUP_ANDX NativeOS %q names no build of the table: left unnamed", native)
	return info
}
