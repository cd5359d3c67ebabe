#!/usr/bin/python3
"""Oracle for TestFleetCoercionSurface: open each named pipe of IPC$ and send one DCE/RPC
BIND with impacket (Debian python3-impacket), the way smbsweep's coercion stage does, and print
one line per pipe: "<pipe> <outcome> <detail>" with outcome reachable, absent, access_denied,
rejected, refused or error. Nothing but a BIND is sent. Loopback test fleets only.

usage: impacket_bind.py HOST PORT USER PASSWORD PIPE=UUID:MAJOR.MINOR ...
"""
import sys

from impacket.smbconnection import SMBConnection, SessionError
from impacket.dcerpc.v5 import transport
from impacket.dcerpc.v5.rpcrt import DCERPCException
from impacket import uuid as iuuid
from impacket.nt_errors import ERROR_MESSAGES


def status_name(code):
    return ERROR_MESSAGES.get(code, ("0x%08x" % code,))[0]


def main():
    host, port, user, password = sys.argv[1:5]
    for spec in sys.argv[5:]:
        pipe, iface = spec.split("=", 1)
        uuid, ver = iface.split(":", 1)
        conn = SMBConnection(host, host, sess_port=int(port), timeout=10)
        conn.login(user, password)
        rpc = transport.SMBTransport(host, int(port), filename="\\" + pipe, smb_connection=conn)
        dce = rpc.get_dce_rpc()
        try:
            dce.connect()
        except SessionError as e:
            code = e.getErrorCode()
            name = status_name(code)
            outcome = {"STATUS_OBJECT_NAME_NOT_FOUND": "absent", "STATUS_ACCESS_DENIED": "access_denied"}.get(name, "refused")
            print(pipe, outcome, name)
            continue
        try:
            dce.bind(iuuid.uuidtup_to_bin((uuid, ver)))
            print(pipe, "reachable", "bind_ack")
        except DCERPCException as e:
            print(pipe, "rejected", str(e).replace(" ", "_")[:80])
        except Exception as e:  # noqa: BLE001 - the oracle reports, the test decides
            print(pipe, "error", type(e).__name__)
        finally:
            try:
                dce.disconnect()
            except Exception:  # noqa: BLE001
                pass


if __name__ == "__main__":
    main()
