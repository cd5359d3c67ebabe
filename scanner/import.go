package scanner

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// Target files written by other scanners (the two-stage workflow: nmap or masscan finds port
// 445, smbsweep fingerprints what it found). AddFile recognises the format from the first bytes
// and takes only hosts with an SMB port open.

// File formats AddFile recognises.
const (
	FormatList           = "target list"
	FormatNmapXML        = "nmap XML (-oX)"
	FormatNmapGrepable   = "nmap grepable (-oG)"
	FormatMasscanList    = "masscan list (-oL)"
	FormatMasscanJSON    = "masscan JSON (-oJ)"
	FormatMasscanXML     = "masscan XML (-oX)"
	FormatNessus         = "Nessus (.nessus)"
	maxImportBytes       = 1 << 30 // a scanner result file larger than this is refused
	maxImportHosts       = 1 << 24 // at most this many distinct hosts from one result file
	formatSniffBytes     = 4096
	maxImportRecordBytes = 16 << 20 // one JSON record, one grepable line
)

// DefaultSMBPorts are the ports that count as SMB in a scanner's result file, in order of
// preference: a host with both open is probed on 445.
var DefaultSMBPorts = []uint16{445, 139}

// ImportResult says what AddFile read.
type ImportResult struct {
	Format string // one of the Format constants
	Hosts  int    // scanner result files: hosts taken (with an SMB port open)
	Seen   int    // scanner result files: hosts in the file
	Bad    []error
}

// AddFile adds the targets of a -l file: a target list (AddReader's format), or the results of
// nmap (-oX, -oG), masscan (-oL, -oJ, -oX) or Nessus (.nessus), recognised from the first
// bytes. From a result file it takes each host that has one of ports open, with the first such
// port of ports (DefaultSMBPorts when empty); every other host is left out. XML is read with
// encoding/xml, which expands no entities and reads no DTD; a result file is read up to 1 GiB
// and 16M hosts. strict makes a bad entry fatal, as in AddReader.
func (b *TargetBuilder) AddFile(r io.Reader, name string, ports []uint16, strict bool) (ImportResult, error) {
	if len(ports) == 0 {
		ports = DefaultSMBPorts
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(formatSniffBytes)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return ImportResult{}, fmt.Errorf("reading %s: %w", name, err)
	}
	if err == io.EOF {
		// All of it is in head: read it from a copy, so that r is not read again after its end
		// (a terminal would wait for a second end-of-file).
		br = bufio.NewReader(bytes.NewReader(bytes.Clone(head)))
	}
	format, err := sniffFormat(head, name)
	if err != nil {
		return ImportResult{Format: format}, err
	}
	res := ImportResult{Format: format}
	if format == FormatList {
		res.Bad, err = b.AddReader(br, name, strict)
		return res, err
	}
	im := &importer{ports: ports, first: map[netip.Addr]int{}, name: name}
	lr := &limitedReader{r: br, n: maxImportBytes}
	switch format {
	case FormatNmapXML, FormatMasscanXML:
		err = im.readNmapXML(lr)
	case FormatNessus:
		err = im.readNessus(lr)
	case FormatNmapGrepable:
		err = im.readGrepable(lr)
	case FormatMasscanList:
		err = im.readMasscanList(lr)
	case FormatMasscanJSON:
		err = im.readMasscanJSON(lr)
	}
	if err == nil && lr.n < 0 {
		err = fmt.Errorf("%s: larger than %d MiB: split it (smbsweep reads scanner results up to that size)", name, maxImportBytes>>20)
	}
	if err != nil {
		return res, err
	}
	if im.nbad > maxBadLines {
		im.bad = append(im.bad, &MoreInvalidError{Name: name, N: im.nbad - maxBadLines})
	}
	res.Bad, res.Seen = im.bad, len(im.first)
	for _, h := range im.hosts {
		if h.best < 0 {
			continue
		}
		res.Hosts++
		v, v6 := addrToU128(h.addr)
		b.addSpec(spec{kind: specAddrs, r: ipRange{v, v}, v6: v6, port: ports[h.best], hasPort: true})
	}
	if strict && im.nbad > 0 {
		return res, fmt.Errorf("%s: %d invalid entries (first: %w)", name, im.nbad, im.bad[0])
	}
	return res, nil
}

// sniffFormat recognises a target file from its first bytes.
func sniffFormat(head []byte, name string) (string, error) {
	h := bytes.TrimPrefix(head, []byte{0xef, 0xbb, 0xbf})
	h = bytes.TrimLeft(h, " \t\r\n")
	switch {
	case bytes.HasPrefix(h, []byte("<")):
		switch {
		case bytes.Contains(h, []byte("<NessusClientData_v2")):
			return FormatNessus, nil
		case bytes.Contains(h, []byte(`<nmaprun scanner="masscan"`)):
			return FormatMasscanXML, nil
		case bytes.Contains(h, []byte("<nmaprun")):
			return FormatNmapXML, nil
		}
		return "", fmt.Errorf("%s: an XML file that is not nmap or masscan -oX output nor a .nessus file (no <nmaprun> or <NessusClientData_v2> near its start)", name)
	case bytes.HasPrefix(h, []byte("[")) || bytes.HasPrefix(h, []byte("{")):
		return FormatMasscanJSON, nil
	case bytes.HasPrefix(h, []byte("#masscan")):
		return FormatMasscanList, nil
	case bytes.HasPrefix(h, []byte("# Nmap")) || bytes.HasPrefix(h, []byte("Host: ")):
		if bytes.Contains(h, []byte("\nNmap scan report for ")) {
			return "", fmt.Errorf("%s: nmap normal output (-oN) is not read: give nmap's -oG or -oX output (e.g. nmap -p 139,445 -oX scan.xml ...)", name)
		}
		return FormatNmapGrepable, nil
	}
	return FormatList, nil
}

// limitedReader reads at most n bytes and then reports the overrun through n < 0.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		l.n = -1
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// importer collects the hosts of a result file: every host seen, in the order first seen, and
// the best SMB port found open on it.
type importer struct {
	name  string
	ports []uint16
	first map[netip.Addr]int // index in hosts
	hosts []importHost
	bad   []error
	nbad  int
}

type importHost struct {
	addr netip.Addr
	best int // index in ports of the preferred open SMB port; -1: none
}

func (im *importer) report(where string, err error) {
	im.nbad++
	if len(im.bad) < maxBadLines {
		im.bad = append(im.bad, fmt.Errorf("%s:%s: %w", im.name, where, err))
	}
}

// host records that addr was seen, with port open when open is true.
func (im *importer) host(where, addr string, port int, proto string, open bool) error {
	a, err := netip.ParseAddr(strings.TrimSpace(addr))
	if err != nil || a.Zone() != "" {
		im.report(where, fmt.Errorf("invalid address %s", quote(addr)))
		return nil
	}
	a = a.Unmap()
	i, ok := im.first[a]
	if !ok {
		if len(im.hosts) >= maxImportHosts {
			return fmt.Errorf("%s: more than %d hosts: split the file", im.name, maxImportHosts)
		}
		i = len(im.hosts)
		im.first[a] = i
		im.hosts = append(im.hosts, importHost{addr: a, best: -1})
	}
	if !open || (proto != "" && proto != "tcp") {
		return nil
	}
	for j, p := range im.ports {
		if int(p) == port && (im.hosts[i].best < 0 || j < im.hosts[i].best) {
			im.hosts[i].best = j
		}
	}
	return nil
}

func newXMLDecoder(r io.Reader) *xml.Decoder {
	d := xml.NewDecoder(r)
	d.Strict = true
	// No CharsetReader: a file that declares anything but UTF-8 is refused, not converted.
	return d
}

// nmapHost is the part of an nmap or masscan <host> element that matters here.
type nmapHost struct {
	Addresses []struct {
		Addr string `xml:"addr,attr"`
		Type string `xml:"addrtype,attr"`
	} `xml:"address"`
	Ports []struct {
		Protocol string `xml:"protocol,attr"`
		PortID   int    `xml:"portid,attr"`
		State    struct {
			State string `xml:"state,attr"`
		} `xml:"state"`
	} `xml:"ports>port"`
}

// readNmapXML reads nmap -oX and masscan -oX output, element by element.
func (im *importer) readNmapXML(r io.Reader) error {
	return eachElement(im.name, r, "host", func(where string, h *nmapHost) error {
		addr := ""
		for _, a := range h.Addresses {
			if a.Type == "ipv4" || a.Type == "ipv6" {
				addr = a.Addr
				break
			}
		}
		if addr == "" {
			im.report(where, errors.New("no IPv4 or IPv6 address"))
			return nil
		}
		if len(h.Ports) == 0 {
			if err := im.host(where, addr, 0, "", false); err != nil {
				return err
			}
		}
		for _, p := range h.Ports {
			if err := im.host(where, addr, p.PortID, p.Protocol, p.State.State == "open"); err != nil {
				return err
			}
		}
		return nil
	})
}

// eachElement decodes every element named local of the XML in r, one at a time (a large
// file is never held whole), and calls fn with it and where it is ("host 3"). XML that is
// not well-formed ends the reading with an error naming the file.
func eachElement[T any](name string, r io.Reader, local string, fn func(where string, v *T) error) error {
	d := newXMLDecoder(r)
	for n := 1; ; {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: not well-formed XML: %w", name, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != local {
			continue
		}
		where := local + " " + strconv.Itoa(n)
		n++
		var v T
		if err := d.DecodeElement(&v, &se); err != nil {
			return fmt.Errorf("%s: %s: not well-formed XML: %w", name, where, err)
		}
		if err := fn(where, &v); err != nil {
			return err
		}
	}
}

// nessusHost is the part of a .nessus <ReportHost> that matters here: Nessus lists a
// ReportItem for each open port its port scanners or service plugins found.
type nessusHost struct {
	Name string `xml:"name,attr"`
	Tags []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:",chardata"`
	} `xml:"HostProperties>tag"`
	Items []struct {
		Port     int    `xml:"port,attr"`
		Protocol string `xml:"protocol,attr"`
	} `xml:"ReportItem"`
}

func (im *importer) readNessus(r io.Reader) error {
	return eachElement(im.name, r, "ReportHost", func(where string, h *nessusHost) error {
		addr := h.Name
		for _, t := range h.Tags {
			if t.Name == "host-ip" {
				addr = t.Value
			}
		}
		if err := im.host(where, addr, 0, "", false); err != nil {
			return err
		}
		for _, it := range h.Items {
			if it.Port == 0 {
				continue
			}
			if err := im.host(where, addr, it.Port, it.Protocol, true); err != nil {
				return err
			}
		}
		return nil
	})
}

// readLines calls fn for each line of r (without its end), with its number; lines longer than
// maxImportRecordBytes are reported and skipped.
func (im *importer) readLines(r io.Reader, fn func(line string, where string) error) error {
	lr, err := newLineReader(r, im.name)
	if err != nil {
		return err
	}
	for n := 1; ; n++ {
		text, tooLong, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", im.name, err)
		}
		where := strconv.Itoa(n)
		if tooLong {
			im.report(where, errLongLine)
			continue
		}
		if err := fn(strings.TrimRight(string(text), "\r"), where); err != nil {
			return err
		}
	}
}

// readGrepable reads nmap -oG: "Host: ADDR (NAME)<TAB>Ports: 445/open/tcp//microsoft-ds///, ...".
// "Status:" lines name hosts without ports; comments start with '#'.
func (im *importer) readGrepable(r io.Reader) error {
	return im.readLines(r, func(line, where string) error {
		rest, ok := strings.CutPrefix(line, "Host: ")
		if !ok {
			if line != "" && !strings.HasPrefix(line, "#") {
				im.report(where, fmt.Errorf("not an nmap -oG line: %s", quote(line)))
			}
			return nil
		}
		fields := strings.Split(rest, "\t")
		addr, _, _ := strings.Cut(fields[0], " ")
		var ports string
		for _, f := range fields[1:] {
			if p, ok := strings.CutPrefix(f, "Ports: "); ok {
				ports = p
			}
		}
		if ports == "" {
			return im.host(where, addr, 0, "", false)
		}
		for entry := range strings.SplitSeq(ports, ",") {
			parts := strings.Split(strings.TrimSpace(entry), "/")
			if len(parts) < 3 {
				im.report(where, fmt.Errorf("bad port entry %s", quote(entry)))
				continue
			}
			port, err := strconv.Atoi(parts[0])
			if err != nil {
				im.report(where, fmt.Errorf("bad port entry %s", quote(entry)))
				continue
			}
			if err := im.host(where, addr, port, parts[2], parts[1] == "open"); err != nil {
				return err
			}
		}
		return nil
	})
}

// readMasscanList reads masscan -oL: "open tcp 445 10.0.0.1 1700000000" per port; banner
// lines and comments are skipped.
func (im *importer) readMasscanList(r io.Reader) error {
	return im.readLines(r, func(line, where string) error {
		if line == "" || strings.HasPrefix(line, "#") {
			return nil
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			im.report(where, fmt.Errorf("not a masscan -oL line: %s", quote(line)))
			return nil
		}
		if f[0] == "banner" {
			return nil
		}
		port, err := strconv.Atoi(f[2])
		if err != nil {
			im.report(where, fmt.Errorf("not a masscan -oL line: %s", quote(line)))
			return nil
		}
		return im.host(where, f[3], port, f[1], f[0] == "open")
	})
}

// masscanRecord is one object of masscan -oJ (an array of them) or -oD (one per line).
type masscanRecord struct {
	IP     string `json:"ip"`
	Port   int    `json:"port"`   // -oD
	Proto  string `json:"proto"`  // -oD
	Status string `json:"status"` // -oD
	Ports  []struct {
		Port   int    `json:"port"`
		Proto  string `json:"proto"`
		Status string `json:"status"`
	} `json:"ports"`
}

// readMasscanJSON reads masscan -oJ (a JSON array of one object per open port; older versions
// leave a comma before the closing bracket) and -oD (one object per line).
func (im *importer) readMasscanJSON(r io.Reader) error {
	br := bufio.NewReader(r)
	n := 0
	for {
		// Skip the separators between objects: white space, '[', ',' and ']'.
		c, err := br.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", im.name, err)
		}
		switch c {
		case ' ', '\t', '\r', '\n', '[', ',', ']':
			continue
		case '{':
		default:
			return fmt.Errorf("%s: record %d: not masscan JSON: unexpected %q", im.name, n+1, c)
		}
		_ = br.UnreadByte()
		n++
		obj, err := readJSONObject(br, maxImportRecordBytes)
		if err != nil {
			return fmt.Errorf("%s: record %d: %w", im.name, n, err)
		}
		var rec masscanRecord
		if err := json.Unmarshal(obj, &rec); err != nil {
			return fmt.Errorf("%s: record %d: not masscan JSON: %w", im.name, n, err)
		}
		where := "record " + strconv.Itoa(n)
		if rec.IP == "" {
			continue // e.g. {"finished": 1} at the end of old masscan output
		}
		if rec.Port != 0 {
			if err := im.host(where, rec.IP, rec.Port, rec.Proto, rec.Status == "open"); err != nil {
				return err
			}
		}
		if rec.Port == 0 && len(rec.Ports) == 0 {
			if err := im.host(where, rec.IP, 0, "", false); err != nil {
				return err
			}
		}
		for _, p := range rec.Ports {
			// A banner record ("service") has no status; the port was open to give it.
			open := p.Status == "open" || p.Status == ""
			if err := im.host(where, rec.IP, p.Port, p.Proto, open); err != nil {
				return err
			}
		}
	}
}

// readJSONObject reads one JSON object (balanced braces, strings honoured) of at most max
// bytes from br.
func readJSONObject(br *bufio.Reader, max int) ([]byte, error) {
	var buf []byte
	depth, inString, escaped := 0, false, false
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			return nil, errors.New("truncated JSON object")
		}
		if err != nil {
			return nil, err
		}
		if len(buf) >= max {
			return nil, fmt.Errorf("JSON object longer than %d MiB", max>>20)
		}
		buf = append(buf, c)
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case inString && c == '"':
			inString = false
		case inString:
		case c == '"':
			inString = true
		case c == '{':
			depth++
		case c == '}':
			depth--
			if depth == 0 {
				return buf, nil
			}
		}
	}
}
