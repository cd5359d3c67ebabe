package probes

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/wire/dcerpc"
)

// coercingOp is a method that makes the server open a connection to a path or host name the
// caller chooses (authentication coercion): smbsweep must never send it.
type coercingOp struct {
	iface   rpcInterface
	opnum   uint16
	name    string
	section string // where the specification defines the method and its opnum
}

// coercingOps lists the coercing methods of the interfaces the coercion surface binds to,
// from the specifications (every method that takes a UNC path or a host name to contact):
//
//   - MS-RPRN 3.1.4.10.3 RpcRemoteFindFirstPrinterChangeNotification (Opnum 62) and 3.1.4.10.4
//     RpcRemoteFindFirstPrinterChangeNotificationEx (Opnum 65): pszLocalMachine is the client
//     the server connects back to ("PrinterBug"). RpcOpenPrinter (1), RpcOpenPrinterEx (69)
//     and RpcAddPrinterDriverEx (89) take a server or driver path too.
//   - MS-EFSR 3.1.4.2 (methods in opnum order): every EfsRpc* method taking a FileName, which
//     may be a UNC path the server opens ("PetitPotam"): 0, 4, 5, 6, 7, 8, 9, 12, 13, 15, 16,
//     18, 19, 21 (3.1.4.2.1 .. 3.1.4.2.19).
//   - MS-DFSNM 3.1.4.4.1 NetrDfsAddStdRoot (Opnum 12), 3.1.4.4.2 NetrDfsRemoveStdRoot
//     (Opnum 13) ("DFSCoerce"); NetrDfsAddRootTarget (23) and NetrDfsRemoveRootTarget (24)
//     take a root target path too.
//   - MS-FSRVP 3.1.4.9 IsPathSupported (Opnum 8), 3.1.4.10 IsPathShadowCopied (Opnum 9)
//     ("ShadowCoerce"): ShareName is a UNC path.
//   - MS-EVEN 3.1.4.1 ElfrOpenBELW (Opnum 9), 3.1.4.2 ElfrOpenBELA (Opnum 16), 3.1.4.11
//     ElfrBackupELFW (Opnum 12), 3.1.4.12 ElfrBackupELFA (Opnum 13) ("CheeseOunce"):
//     BackupFileName is a path the server opens.
var coercingOps = []coercingOp{
	{ifRPRN, 1, "RpcOpenPrinter", "MS-RPRN 3.1.4.2.2"},
	{ifRPRN, 62, "RpcRemoteFindFirstPrinterChangeNotification", "MS-RPRN 3.1.4.10.3"},
	{ifRPRN, 65, "RpcRemoteFindFirstPrinterChangeNotificationEx", "MS-RPRN 3.1.4.10.4"},
	{ifRPRN, 69, "RpcOpenPrinterEx", "MS-RPRN 3.1.4.2.14"},
	{ifRPRN, 89, "RpcAddPrinterDriverEx", "MS-RPRN 3.1.4.4.8"},
	{ifEFSR, 0, "EfsRpcOpenFileRaw", "MS-EFSR 3.1.4.2.1"},
	{ifEFSR, 4, "EfsRpcEncryptFileSrv", "MS-EFSR 3.1.4.2.5"},
	{ifEFSR, 5, "EfsRpcDecryptFileSrv", "MS-EFSR 3.1.4.2.6"},
	{ifEFSR, 6, "EfsRpcQueryUsersOnFile", "MS-EFSR 3.1.4.2.7"},
	{ifEFSR, 7, "EfsRpcQueryRecoveryAgents", "MS-EFSR 3.1.4.2.8"},
	{ifEFSR, 8, "EfsRpcRemoveUsersFromFile", "MS-EFSR 3.1.4.2.9"},
	{ifEFSR, 9, "EfsRpcAddUsersToFile", "MS-EFSR 3.1.4.2.10"},
	{ifEFSR, 12, "EfsRpcFileKeyInfo", "MS-EFSR 3.1.4.2.11"},
	{ifEFSR, 13, "EfsRpcDuplicateEncryptionInfoFile", "MS-EFSR 3.1.4.2.12"},
	{ifEFSR, 15, "EfsRpcAddUsersToFileEx", "MS-EFSR 3.1.4.2.14"},
	{ifEFSR, 16, "EfsRpcFileKeyInfoEx", "MS-EFSR 3.1.4.2.15"},
	{ifEFSR, 18, "EfsRpcGetEncryptedFileMetadata", "MS-EFSR 3.1.4.2.16"},
	{ifEFSR, 19, "EfsRpcSetEncryptedFileMetadata", "MS-EFSR 3.1.4.2.17"},
	{ifEFSR, 21, "EfsRpcEncryptFileExSrv", "MS-EFSR 3.1.4.2.19"},
	{ifDFSNM, 12, "NetrDfsAddStdRoot", "MS-DFSNM 3.1.4.4.1"},
	{ifDFSNM, 13, "NetrDfsRemoveStdRoot", "MS-DFSNM 3.1.4.4.2"},
	{ifDFSNM, 23, "NetrDfsAddRootTarget", "MS-DFSNM 3.1.4.1.9"},
	{ifDFSNM, 24, "NetrDfsRemoveRootTarget", "MS-DFSNM 3.1.4.1.10"},
	{ifFSRVP, 8, "IsPathSupported", "MS-FSRVP 3.1.4.9"},
	{ifFSRVP, 9, "IsPathShadowCopied", "MS-FSRVP 3.1.4.10"},
	{ifEVEN, 9, "ElfrOpenBELW", "MS-EVEN 3.1.4.1"},
	{ifEVEN, 12, "ElfrBackupELFW", "MS-EVEN 3.1.4.11"},
	{ifEVEN, 13, "ElfrBackupELFA", "MS-EVEN 3.1.4.12"},
	{ifEVEN, 16, "ElfrOpenBELA", "MS-EVEN 3.1.4.2"},
}

// TestNoCoercingOpnum: the request builder refuses every coercing method (on EFSR under both
// of its UUIDs), and the allowlist holds none of them — nor any opnum at all of an interface
// of the coercion surface, which is bound, never called.
func TestNoCoercingOpnum(t *testing.T) {
	var stub [16]byte
	for _, c := range coercingOps {
		ifaces := []rpcInterface{c.iface}
		if c.iface == ifEFSR {
			ifaces = append(ifaces, ifEFSRLsarpc)
		}
		for _, iface := range ifaces {
			if _, ok := allowed(iface.Syntax, c.opnum); ok {
				t.Errorf("allowlist permits %s opnum %d (%s, %s): it makes the server connect out", iface.Spec, c.opnum, c.name, c.section)
			}
			pdu, err := buildRequest(nil, iface, c.opnum, 1, 0, stub[:])
			if !errors.Is(err, errOpnumNotAllowed) || len(pdu) != 0 {
				t.Errorf("buildRequest(%s opnum %d, %s) = %d bytes, %v; want refused", iface.Spec, c.opnum, c.name, len(pdu), err)
			}
		}
	}
	surface := map[dcerpc.SyntaxID]bool{}
	for _, tg := range coercionTargets {
		surface[tg.iface.Syntax] = true
	}
	for _, op := range rpcAllowlist {
		if surface[op.Interface.Syntax] {
			t.Errorf("allowlist entry %s %s (opnum %d) is on an interface of the coercion surface, which must only be bound", op.Interface.Spec, op.Name, op.Opnum)
		}
		if op.Name == "" || !strings.HasPrefix(op.Section, op.Interface.Spec+" ") {
			t.Errorf("allowlist entry %+v lacks its method name or specification section", op)
		}
	}
	// Every opnum of every coercion interface is refused, not only the listed ones.
	for syn := range surface {
		for opnum := range 1 << 16 {
			if _, ok := allowed(syn, uint16(opnum)); ok {
				t.Fatalf("allowlist permits opnum %d of %s", opnum, syn)
			}
		}
	}
}

// TestBuildRequestAllowed: an allowlisted call is built as a single-fragment REQUEST with the
// opnum, context and stub given; a stub that does not fit one fragment is refused.
func TestBuildRequestAllowed(t *testing.T) {
	stub := []byte{1, 2, 3, 4}
	pdu, err := buildRequest(nil, ifSRVSVC, dcerpc.OpNetrShareEnum, 7, 2, stub)
	if err != nil {
		t.Fatal(err)
	}
	want := (&dcerpc.Request{CallID: 7, ContextID: 2, Opnum: dcerpc.OpNetrShareEnum, Stub: stub}).AppendTo(nil)
	if string(pdu) != string(want) {
		t.Errorf("request % x, want % x", pdu, want)
	}
	if _, err := buildRequest(nil, ifSRVSVC, dcerpc.OpNetrShareEnum, 1, 0, make([]byte, dcerpc.DefaultMaxFrag)); err == nil {
		t.Error("a stub larger than one fragment was accepted")
	}
	if _, err := buildRequest(nil, ifSRVSVC, 16, 1, 0, stub); !errors.Is(err, errOpnumNotAllowed) {
		t.Errorf("SRVSVC opnum 16 (not allowlisted): %v", err)
	}
}

// TestOnlyBuildRequestBuildsRequests: outside package wire/dcerpc (the codec) and tests, no
// production code builds a REQUEST PDU except buildRequest: no dcerpc.Request literal, no
// AppendPDU, no FinishRequest elsewhere. So the allowlist cannot be bypassed by a second path.
func TestOnlyBuildRequestBuildsRequests(t *testing.T) {
	root := filepath.Join("..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "testdata", ".cache", "bin":
				return filepath.SkipDir
			}
			if filepath.ToSlash(path) == "../wire/dcerpc" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			fn, ok := n.(*ast.FuncDecl)
			if ok && fn.Name.Name == "buildRequest" && filepath.Base(path) == "rpc_allowlist.go" {
				return false // the one permitted builder
			}
			switch x := n.(type) {
			case *ast.CompositeLit:
				if sel, ok := x.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Request" && isIdent(sel.X, "dcerpc") {
					t.Errorf("%s: dcerpc.Request built outside buildRequest", fset.Position(x.Pos()))
				}
			case *ast.SelectorExpr:
				if x.Sel.Name == "AppendPDU" || x.Sel.Name == "FinishRequest" {
					t.Errorf("%s: %s used outside buildRequest", fset.Position(x.Pos()), x.Sel.Name)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}
