package wire

import "fmt"

// NTStatus is a 32-bit NT status code (MS-ERREF 2.3) as carried in the SMB2 header's Status field
// and in SMB1 responses negotiated with 32-bit status codes.
type NTStatus uint32

// NT status codes smbsweep meets or acts on. Names follow MS-ERREF 2.3.1.
const (
	StatusSuccess                          NTStatus = 0x00000000
	StatusTimeout                          NTStatus = 0x00000102
	StatusPending                          NTStatus = 0x00000103
	StatusNotifyEnumDir                    NTStatus = 0x0000010c
	StatusBufferOverflow                   NTStatus = 0x80000005
	StatusNoMoreFiles                      NTStatus = 0x80000006
	StatusStoppedOnSymlink                 NTStatus = 0x8000002d
	StatusUnsuccessful                     NTStatus = 0xc0000001
	StatusNotImplemented                   NTStatus = 0xc0000002
	StatusInvalidInfoClass                 NTStatus = 0xc0000003
	StatusInfoLengthMismatch               NTStatus = 0xc0000004
	StatusInvalidHandle                    NTStatus = 0xc0000008
	StatusInvalidParameter                 NTStatus = 0xc000000d
	StatusNoSuchDevice                     NTStatus = 0xc000000e
	StatusNoSuchFile                       NTStatus = 0xc000000f
	StatusInvalidDeviceRequest             NTStatus = 0xc0000010
	StatusEndOfFile                        NTStatus = 0xc0000011
	StatusMoreProcessingRequired           NTStatus = 0xc0000016
	StatusNoMemory                         NTStatus = 0xc0000017
	StatusAccessDenied                     NTStatus = 0xc0000022
	StatusBufferTooSmall                   NTStatus = 0xc0000023
	StatusObjectTypeMismatch               NTStatus = 0xc0000024
	StatusObjectNameInvalid                NTStatus = 0xc0000033
	StatusObjectNameNotFound               NTStatus = 0xc0000034
	StatusObjectNameCollision              NTStatus = 0xc0000035
	StatusObjectPathInvalid                NTStatus = 0xc0000039
	StatusObjectPathNotFound               NTStatus = 0xc000003a
	StatusObjectPathSyntaxBad              NTStatus = 0xc000003b
	StatusDataError                        NTStatus = 0xc000003e
	StatusSharingViolation                 NTStatus = 0xc0000043
	StatusDeletePending                    NTStatus = 0xc0000056
	StatusNoLogonServers                   NTStatus = 0xc000005e
	StatusPrivilegeNotHeld                 NTStatus = 0xc0000061
	StatusNoSuchUser                       NTStatus = 0xc0000064
	StatusWrongPassword                    NTStatus = 0xc000006a
	StatusLogonFailure                     NTStatus = 0xc000006d
	StatusAccountRestriction               NTStatus = 0xc000006e
	StatusInvalidLogonHours                NTStatus = 0xc000006f
	StatusInvalidWorkstation               NTStatus = 0xc0000070
	StatusPasswordExpired                  NTStatus = 0xc0000071
	StatusAccountDisabled                  NTStatus = 0xc0000072
	StatusNoneMapped                       NTStatus = 0xc0000073
	StatusDiskFull                         NTStatus = 0xc000007f
	StatusInsufficientResources            NTStatus = 0xc000009a
	StatusMediaWriteProtected              NTStatus = 0xc00000a2
	StatusBadImpersonationLevel            NTStatus = 0xc00000a5
	StatusPipeNotAvailable                 NTStatus = 0xc00000ac
	StatusInvalidPipeState                 NTStatus = 0xc00000ad
	StatusPipeBusy                         NTStatus = 0xc00000ae
	StatusPipeDisconnected                 NTStatus = 0xc00000b0
	StatusPipeClosing                      NTStatus = 0xc00000b1
	StatusIOTimeout                        NTStatus = 0xc00000b5
	StatusFileIsADirectory                 NTStatus = 0xc00000ba
	StatusNotSupported                     NTStatus = 0xc00000bb
	StatusDuplicateName                    NTStatus = 0xc00000bd
	StatusInvalidNetworkResponse           NTStatus = 0xc00000c3
	StatusNetworkNameDeleted               NTStatus = 0xc00000c9
	StatusNetworkAccessDenied              NTStatus = 0xc00000ca
	StatusBadDeviceType                    NTStatus = 0xc00000cb
	StatusBadNetworkName                   NTStatus = 0xc00000cc
	StatusRequestNotAccepted               NTStatus = 0xc00000d0
	StatusPipeEmpty                        NTStatus = 0xc00000d9
	StatusInternalError                    NTStatus = 0xc00000e5
	StatusDirectoryNotEmpty                NTStatus = 0xc0000101
	StatusNotADirectory                    NTStatus = 0xc0000103
	StatusCancelled                        NTStatus = 0xc0000120
	StatusCannotDelete                     NTStatus = 0xc0000121
	StatusFileDeleted                      NTStatus = 0xc0000123
	StatusFileClosed                       NTStatus = 0xc0000128
	StatusInvalidDeviceState               NTStatus = 0xc0000184
	StatusIODeviceError                    NTStatus = 0xc0000185
	StatusTrustedRelationshipFailure       NTStatus = 0xc000018d
	StatusAccountExpired                   NTStatus = 0xc0000193
	StatusFSDriverRequired                 NTStatus = 0xc000019c
	StatusUserSessionDeleted               NTStatus = 0xc0000203
	StatusInvalidBufferSize                NTStatus = 0xc0000206
	StatusPasswordMustChange               NTStatus = 0xc0000224
	StatusNotFound                         NTStatus = 0xc0000225
	StatusAccountLockedOut                 NTStatus = 0xc0000234
	StatusConnectionRefused                NTStatus = 0xc0000236
	StatusNetworkSessionExpired            NTStatus = 0xc000035c
	StatusSMBNoPreauthIntegrityHashOverlap NTStatus = 0xc05d0000
)

var statusNames = map[NTStatus]string{
	StatusSuccess:                          "STATUS_SUCCESS",
	StatusTimeout:                          "STATUS_TIMEOUT",
	StatusPending:                          "STATUS_PENDING",
	StatusNotifyEnumDir:                    "STATUS_NOTIFY_ENUM_DIR",
	StatusBufferOverflow:                   "STATUS_BUFFER_OVERFLOW",
	StatusNoMoreFiles:                      "STATUS_NO_MORE_FILES",
	StatusStoppedOnSymlink:                 "STATUS_STOPPED_ON_SYMLINK",
	StatusUnsuccessful:                     "STATUS_UNSUCCESSFUL",
	StatusNotImplemented:                   "STATUS_NOT_IMPLEMENTED",
	StatusInvalidInfoClass:                 "STATUS_INVALID_INFO_CLASS",
	StatusInfoLengthMismatch:               "STATUS_INFO_LENGTH_MISMATCH",
	StatusInvalidHandle:                    "STATUS_INVALID_HANDLE",
	StatusInvalidParameter:                 "STATUS_INVALID_PARAMETER",
	StatusNoSuchDevice:                     "STATUS_NO_SUCH_DEVICE",
	StatusNoSuchFile:                       "STATUS_NO_SUCH_FILE",
	StatusInvalidDeviceRequest:             "STATUS_INVALID_DEVICE_REQUEST",
	StatusEndOfFile:                        "STATUS_END_OF_FILE",
	StatusMoreProcessingRequired:           "STATUS_MORE_PROCESSING_REQUIRED",
	StatusNoMemory:                         "STATUS_NO_MEMORY",
	StatusAccessDenied:                     "STATUS_ACCESS_DENIED",
	StatusBufferTooSmall:                   "STATUS_BUFFER_TOO_SMALL",
	StatusObjectTypeMismatch:               "STATUS_OBJECT_TYPE_MISMATCH",
	StatusObjectNameInvalid:                "STATUS_OBJECT_NAME_INVALID",
	StatusObjectNameNotFound:               "STATUS_OBJECT_NAME_NOT_FOUND",
	StatusObjectNameCollision:              "STATUS_OBJECT_NAME_COLLISION",
	StatusObjectPathInvalid:                "STATUS_OBJECT_PATH_INVALID",
	StatusObjectPathNotFound:               "STATUS_OBJECT_PATH_NOT_FOUND",
	StatusObjectPathSyntaxBad:              "STATUS_OBJECT_PATH_SYNTAX_BAD",
	StatusDataError:                        "STATUS_DATA_ERROR",
	StatusSharingViolation:                 "STATUS_SHARING_VIOLATION",
	StatusDeletePending:                    "STATUS_DELETE_PENDING",
	StatusNoLogonServers:                   "STATUS_NO_LOGON_SERVERS",
	StatusPrivilegeNotHeld:                 "STATUS_PRIVILEGE_NOT_HELD",
	StatusNoSuchUser:                       "STATUS_NO_SUCH_USER",
	StatusWrongPassword:                    "STATUS_WRONG_PASSWORD",
	StatusLogonFailure:                     "STATUS_LOGON_FAILURE",
	StatusAccountRestriction:               "STATUS_ACCOUNT_RESTRICTION",
	StatusInvalidLogonHours:                "STATUS_INVALID_LOGON_HOURS",
	StatusInvalidWorkstation:               "STATUS_INVALID_WORKSTATION",
	StatusPasswordExpired:                  "STATUS_PASSWORD_EXPIRED",
	StatusAccountDisabled:                  "STATUS_ACCOUNT_DISABLED",
	StatusNoneMapped:                       "STATUS_NONE_MAPPED",
	StatusDiskFull:                         "STATUS_DISK_FULL",
	StatusInsufficientResources:            "STATUS_INSUFFICIENT_RESOURCES",
	StatusMediaWriteProtected:              "STATUS_MEDIA_WRITE_PROTECTED",
	StatusBadImpersonationLevel:            "STATUS_BAD_IMPERSONATION_LEVEL",
	StatusPipeNotAvailable:                 "STATUS_PIPE_NOT_AVAILABLE",
	StatusInvalidPipeState:                 "STATUS_INVALID_PIPE_STATE",
	StatusPipeBusy:                         "STATUS_PIPE_BUSY",
	StatusPipeDisconnected:                 "STATUS_PIPE_DISCONNECTED",
	StatusPipeClosing:                      "STATUS_PIPE_CLOSING",
	StatusIOTimeout:                        "STATUS_IO_TIMEOUT",
	StatusFileIsADirectory:                 "STATUS_FILE_IS_A_DIRECTORY",
	StatusNotSupported:                     "STATUS_NOT_SUPPORTED",
	StatusDuplicateName:                    "STATUS_DUPLICATE_NAME",
	StatusInvalidNetworkResponse:           "STATUS_INVALID_NETWORK_RESPONSE",
	StatusNetworkNameDeleted:               "STATUS_NETWORK_NAME_DELETED",
	StatusNetworkAccessDenied:              "STATUS_NETWORK_ACCESS_DENIED",
	StatusBadDeviceType:                    "STATUS_BAD_DEVICE_TYPE",
	StatusBadNetworkName:                   "STATUS_BAD_NETWORK_NAME",
	StatusRequestNotAccepted:               "STATUS_REQUEST_NOT_ACCEPTED",
	StatusPipeEmpty:                        "STATUS_PIPE_EMPTY",
	StatusInternalError:                    "STATUS_INTERNAL_ERROR",
	StatusDirectoryNotEmpty:                "STATUS_DIRECTORY_NOT_EMPTY",
	StatusNotADirectory:                    "STATUS_NOT_A_DIRECTORY",
	StatusCancelled:                        "STATUS_CANCELLED",
	StatusCannotDelete:                     "STATUS_CANNOT_DELETE",
	StatusFileDeleted:                      "STATUS_FILE_DELETED",
	StatusFileClosed:                       "STATUS_FILE_CLOSED",
	StatusInvalidDeviceState:               "STATUS_INVALID_DEVICE_STATE",
	StatusIODeviceError:                    "STATUS_IO_DEVICE_ERROR",
	StatusTrustedRelationshipFailure:       "STATUS_TRUSTED_RELATIONSHIP_FAILURE",
	StatusAccountExpired:                   "STATUS_ACCOUNT_EXPIRED",
	StatusFSDriverRequired:                 "STATUS_FS_DRIVER_REQUIRED",
	StatusUserSessionDeleted:               "STATUS_USER_SESSION_DELETED",
	StatusInvalidBufferSize:                "STATUS_INVALID_BUFFER_SIZE",
	StatusPasswordMustChange:               "STATUS_PASSWORD_MUST_CHANGE",
	StatusNotFound:                         "STATUS_NOT_FOUND",
	StatusAccountLockedOut:                 "STATUS_ACCOUNT_LOCKED_OUT",
	StatusConnectionRefused:                "STATUS_CONNECTION_REFUSED",
	StatusNetworkSessionExpired:            "STATUS_NETWORK_SESSION_EXPIRED",
	StatusSMBNoPreauthIntegrityHashOverlap: "STATUS_SMB_NO_PREAUTH_INTEGRITY_HASH_OVERLAP",
}

// String returns the status's MS-ERREF name, or its value as 0xXXXXXXXX when unnamed.
func (s NTStatus) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("0x%08X", uint32(s))
}

// IsError reports whether the status's severity bits say error (0xC.......).
func (s NTStatus) IsError() bool { return uint32(s)>>30 == 3 }

// Error lets an NTStatus be returned and matched (errors.As) as an error.
func (s NTStatus) Error() string { return s.String() }
