package ntlmssp

import (
	"fmt"

	"github.com/smbsweep/smbsweep/wire"
)

// ServerNames is the server's self-description in a CHALLENGE (MS-NLMP 2.2.1.2, 2.2.2.1):
// the names of its AV pairs and the NTLM-reported version.
type ServerNames struct {
	NetBIOSComputer string
	NetBIOSDomain   string
	DNSComputer     string
	DNSDomain       string
	DNSTree         string
	// OSVersion is the NTLM-reported "major.minor.build", "" when absent.
	OSVersion string
}

// ServerNames decodes the names from av (the challenge's AV pairs) and the Version field; the
// NetBIOS domain falls back to the Unicode TargetName when the AV pair is absent.
func (c Challenge) ServerNames(av *AVInfo) ServerNames {
	n := ServerNames{
		NetBIOSComputer: wire.DecodeUTF16LE(av.NbComputerName),
		NetBIOSDomain:   wire.DecodeUTF16LE(av.NbDomainName),
		DNSComputer:     wire.DecodeUTF16LE(av.DnsComputerName),
		DNSDomain:       wire.DecodeUTF16LE(av.DnsDomainName),
		DNSTree:         wire.DecodeUTF16LE(av.DnsTreeName),
	}
	if n.NetBIOSDomain == "" && c.Flags()&FlagUnicode != 0 {
		n.NetBIOSDomain = wire.DecodeUTF16LE(c.TargetName())
	}
	if v, ok := c.Version(); ok {
		n.OSVersion = fmt.Sprintf("%d.%d.%d", v.ProductMajor, v.ProductMinor, v.ProductBuild)
	}
	return n
}
