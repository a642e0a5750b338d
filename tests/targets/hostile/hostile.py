#!/usr/bin/env python3
"""hostile.py: a lying iSCSI target for tests: a proxy in front of a real target (tgtd) that
forwards PDUs both ways and, in the chosen mode, mutates or injects PDUs (stdlib only).

Usage:
  hostile.py --mode MODE --listen HOST:PORT --upstream HOST:PORT [--min-lba N] [--redirect-to HOST:PORT]
  hostile.py --list

Every accepted connection gets its own connection to --upstream. PDUs are parsed (48-byte
BHS, AHS, data segment + padding); the login is rewritten to HeaderDigest=None and
DataDigest=None so that no digests have to be computed. The lies of the I/O modes apply only
to READ(10)/READ(16) and WRITE(10)/WRITE(16) at or above --min-lba ("targeted" commands), so
that the initiator's attach (INQUIRY, READ CAPACITY, VPD, ...) goes through honestly.

Sequence numbers stay consistent for the initiator: a fabricated status PDU takes the next
StatSN the initiator expects and a swallowed one is taken out of the numbering (StatSN towards
the initiator and ExpStatSN towards the target are translated by a running delta). A command
that the initiator must never see reach the target ("hijacked") is replaced by a NOP-Out ping
with the same ITT and CmdSN (the target's CmdSN window stays intact) whose NOP-In is swallowed;
the command's Data-Out PDUs are dropped, so the target never writes any of its data.

The log (stderr, one line each, flushed) names every connection, every login rewrite and
every lie ("LIE <mode>: ..."); tests count the LIE lines.
"""

import argparse
import os
import select
import socket
import struct
import sys
import threading
import time

# ---------------------------------------------------------------- the modes
# name: (what it does, options)
#   r2t:     login request rewritten to InitialR2T=Yes, ImmediateData=No (every write via R2T)
#   resp:    keys rewritten in the target's operational login response
#   rcvbuf:  SO_RCVBUF of the listening socket (a slow receiver: the initiator cannot push all
#            of a WRITE's data out before the lie reaches it)
MODES = {
    "honest": ("forward everything unchanged (baseline)", {}),
    "nop_itt_datain": ("after each NOP-Out ping, a Data-In carrying the ping's ITT", {}),
    "nop_itt_r2t": ("after each NOP-Out ping, an R2T carrying the ping's ITT", {}),
    "login_itt_datain": ("a Data-In carrying the Login Request's ITT, during login", {}),
    "login_itt_r2t": ("an R2T carrying the Login Request's ITT, during login", {}),
    "read_no_data": ("targeted READ: no Data-In at all, then GOOD (no residual)", {}),
    "read_half": ("targeted READ: the first half of the data, status GOOD in the last Data-In", {}),
    "read_gap": ("targeted READ: Data-In for [0,L/4) and [L/2,L), a gap between, then GOOD", {}),
    "read_beyond": ("targeted READ: all data, then another 8 KiB Data-In at offset L (beyond EDTL)", {}),
    "resid_under_mismatch": ("targeted READ: half the data, underflow residual L/4 (does not match)", {}),
    "resid_overflow": ("targeted READ: half the data, GOOD with an overflow residual", {}),
    "resid_too_big": ("targeted READ: half the data, underflow residual L+64 KiB (> length)", {}),
    "write_before_r2t": ("targeted WRITE (hijacked): an R2T for all of it and GOOD in the same send", {"r2t": True}),
    "write_before_unsolicited": ("targeted WRITE (hijacked): GOOD as soon as the command arrives, "
                                 "before its unsolicited Data-Out (InitialR2T=No, ImmediateData=Yes, "
                                 "FirstBurstLength 64 KiB, target MaxRecvDataSegmentLength 8192 announced: "
                                 "8 KiB immediate, 56 KiB unsolicited, the rest would need R2Ts); a 16 KiB "
                                 "receive buffer and 1 s without reading afterwards keep data in the initiator",
                                 {"resp": {"InitialR2T": "No", "ImmediateData": "Yes", "FirstBurstLength": "65536",
                                           "MaxRecvDataSegmentLength": "8192"}, "rcvbuf": 16384}),
    "write_partial_0": ("targeted WRITE (hijacked): GOOD without asking for any data", {"r2t": True}),
    "write_partial_8k": ("targeted WRITE (hijacked): R2T for 8 KiB, GOOD once they arrived", {"r2t": True}),
    "write_partial_64k": ("targeted WRITE (hijacked): R2T for 64 KiB, GOOD once they arrived", {"r2t": True}),
    "r2t_beyond": ("targeted WRITE: the target's R2T stretched 64 KiB past the command's length", {"r2t": True}),
    "r2t_huge_small_mrdsl": ("targeted WRITE: R2T DDTL 0xfffff000 on a session where the target announced "
                             "MaxRecvDataSegmentLength 512",
                             {"r2t": True, "resp": {"MaxRecvDataSegmentLength": "512"}}),
    "login_mrdsl0": ("login response announces MaxRecvDataSegmentLength=0 (writes via R2T)",
                     {"r2t": True, "resp": {"MaxRecvDataSegmentLength": "0"}}),
    "login_bad_values": ("login response with out-of-range values: MaxBurstLength=16777216, "
                         "FirstBurstLength=100, MaxOutstandingR2T=0",
                         {"resp": {"MaxBurstLength": "16777216", "FirstBurstLength": "100",
                                   "MaxOutstandingR2T": "0"}}),
    "login_redirect": ("every Login Request answered with status 0x0101 (moved temporarily), "
                       "TargetAddress = --redirect-to", {}),
    "nop_in_storm": ("from full feature phase on, unsolicited NOP-Ins (each asking for a reply) "
                     "as fast as the initiator reads them, for 3 s", {}),
    "reject": ("targeted READ (hijacked): answered with a Reject PDU (reason 0x09) carrying its header", {}),
    "async_logout": ("at the first targeted command: Async Message 'target requests logout' (2 s)", {}),
    "close_mid_header": ("first Data-In of a targeted READ: 20 bytes of its header, then the connection closes", {}),
    "close_mid_data": ("first Data-In of a targeted READ: header and half its data, then the connection closes", {}),
}

# opcodes
OP_NOP_OUT, OP_SCSI_CMD, OP_TMF_REQ, OP_LOGIN_REQ, OP_TEXT_REQ, OP_DATA_OUT, OP_LOGOUT_REQ = 0, 1, 2, 3, 4, 5, 6
OP_SNACK = 0x10
OP_NOP_IN, OP_SCSI_RESP, OP_TMF_RESP, OP_LOGIN_RESP, OP_TEXT_RESP, OP_DATA_IN, OP_LOGOUT_RESP = \
    0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26
OP_R2T, OP_ASYNC, OP_REJECT = 0x31, 0x32, 0x3F
RSVD = 0xFFFFFFFF
READS = {0x28: 10, 0x88: 16}
WRITES = {0x2A: 10, 0x8A: 16}


def log(msg):
    sys.stderr.write("%.3f hostile[%d]: %s\n" % (time.time(), os.getpid(), msg))
    sys.stderr.flush()


def u32(b, off):
    return struct.unpack_from(">I", b, off)[0]


def set_u32(b, off, v):
    struct.pack_into(">I", b, off, v & 0xFFFFFFFF)


class Pdu:
    """One PDU: the 48-byte BHS (a bytearray, edited in place), the AHS and the data segment
    (without padding). bytes() recomputes TotalAHSLength and DataSegmentLength and pads."""

    def __init__(self, hdr, ahs=b"", data=b""):
        self.hdr = bytearray(hdr)
        self.ahs = bytes(ahs)
        self.data = bytes(data)

    @property
    def op(self):
        return self.hdr[0] & 0x3F

    @property
    def itt(self):
        return u32(self.hdr, 16)

    def __bytes__(self):
        self.hdr[4] = len(self.ahs) // 4
        n = len(self.data)
        self.hdr[5:8] = n.to_bytes(3, "big")
        return bytes(self.hdr) + self.ahs + self.data + b"\0" * (-n % 4)


def parse_pdus(buf):
    """Take every complete PDU off the front of buf (a bytearray); return them."""
    out = []
    while len(buf) >= 48:
        ahs = buf[4] * 4
        dsl = int.from_bytes(buf[5:8], "big")
        total = 48 + ahs + dsl + (-dsl % 4)
        if len(buf) < total:
            break
        out.append(Pdu(buf[:48], buf[48:48 + ahs], buf[48 + ahs:48 + ahs + dsl]))
        del buf[:total]
    return out


def text_keys(data):
    return [kv for kv in data.split(b"\0") if kv]


def text_set(data, changes, add_missing):
    """Rewrite key=value pairs of a login text segment; add missing keys if add_missing."""
    kvs = text_keys(data)
    done = set()
    out = []
    for kv in kvs:
        k, _, v = kv.partition(b"=")
        ks = k.decode(errors="replace")
        if ks in changes:
            out.append(k + b"=" + changes[ks].encode())
            done.add(ks)
        else:
            out.append(kv)
    if add_missing:
        for k, v in changes.items():
            if k not in done:
                out.append(k.encode() + b"=" + v.encode())
    return b"".join(kv + b"\0" for kv in out)


def cdb_lba(cdb):
    if cdb[0] in (0x28, 0x2A):
        return u32(cdb, 2)
    return struct.unpack_from(">Q", cdb, 2)[0]


class Cmd:
    """A targeted SCSI command seen from the initiator."""

    def __init__(self, pdu):
        self.itt = pdu.itt
        self.edtl = u32(pdu.hdr, 20)
        self.cdb = bytes(pdu.hdr[32:48])
        self.lun = bytes(pdu.hdr[8:16])
        self.is_read = self.cdb[0] in READS
        self.data = bytearray(self.edtl) if self.is_read else None
        self.got = 0            # Data-Out bytes received (hijacked writes)
        self.want = None        # Data-Out bytes after which GOOD is sent (partial modes)
        self.lied = False


class Conn:
    """One initiator connection and its upstream connection; a non-blocking select loop."""

    def __init__(self, args, ini, peer, num):
        self.a = args
        self.mode = args.mode
        self.opt = MODES[args.mode][1]
        self.ini = ini
        self.tgt = None
        self.num = num
        self.peer = peer
        self.inbuf = {ini: bytearray()}
        self.outbuf = {ini: bytearray()}
        self.ffp = False              # full feature phase reached
        self.delta = 0                # initiator StatSN = target StatSN + delta
        self.next_statsn = 0          # next StatSN the initiator expects
        self.expcmdsn = 0
        self.maxcmdsn = 0
        self.cmds = {}                # ITT -> Cmd (targeted commands)
        self.hijacked = set()         # ITTs whose NOP-In (for the replacement ping) is swallowed
        self.dropdata = set()         # ITTs of hijacked commands: their Data-Out never reaches the target
        self.storm_ttt = 0x10000
        self.storm_until = None
        self.pause_ini_until = 0.0    # do not read from the initiator before this time
        self.storm_sent = 0
        self.once = False
        self.saw_cmd = False
        self.maxburst = 262144        # MaxBurstLength as the initiator saw it negotiated
        self.din_max = 8192           # largest Data-In data segment the target sent (what the initiator accepts)
        self.closing = False
        self.ttt = 0x7000

    def say(self, msg):
        log("conn %d (%s): %s" % (self.num, self.peer, msg))

    def lie(self, msg):
        log("conn %d (%s): LIE %s: %s" % (self.num, self.peer, self.mode, msg))

    # ------------------------------------------------------------ output
    def to_ini(self, pdu, fabricated_status=False, fabricated=False):
        """Send a PDU to the initiator. Forwarded PDUs have their StatSN translated;
        fabricated ones take the next StatSN the initiator expects (a status PDU advances it)."""
        if self.ffp:
            if fabricated_status or fabricated:
                set_u32(pdu.hdr, 24, self.next_statsn)
                if fabricated_status:
                    self.delta += 1
                    self.next_statsn = (self.next_statsn + 1) & 0xFFFFFFFF
                set_u32(pdu.hdr, 28, self.expcmdsn)
                set_u32(pdu.hdr, 32, self.maxcmdsn)
            else:
                sn = (u32(pdu.hdr, 24) + self.delta) & 0xFFFFFFFF
                set_u32(pdu.hdr, 24, sn)
                if self.is_status(pdu):
                    self.next_statsn = (sn + 1) & 0xFFFFFFFF
        self.outbuf[self.ini] += bytes(pdu)

    def to_tgt(self, pdu):
        if self.ffp and pdu.op in (OP_NOP_OUT, OP_SCSI_CMD, OP_TMF_REQ, OP_TEXT_REQ, OP_DATA_OUT,
                                   OP_LOGOUT_REQ, OP_SNACK):
            set_u32(pdu.hdr, 28, u32(pdu.hdr, 28) - self.delta)
        self.outbuf[self.tgt] += bytes(pdu)

    @staticmethod
    def is_status(pdu):
        op = pdu.op
        if op == OP_NOP_IN:
            return pdu.itt != RSVD
        if op == OP_DATA_IN:
            return bool(pdu.hdr[1] & 0x01)
        return op in (OP_SCSI_RESP, OP_TMF_RESP, OP_TEXT_RESP, OP_LOGOUT_RESP, OP_REJECT, OP_ASYNC)

    def swallow_status(self, pdu, why):
        self.delta -= 1
        self.say("swallowed %s (%s)" % (opname(pdu.op), why))

    # ------------------------------------------------------------ fabricated PDUs
    def scsi_resp(self, cmd, status=0, flags=0, residual=0, expdatasn=0):
        h = bytearray(48)
        h[0] = OP_SCSI_RESP
        h[1] = 0x80 | flags
        h[3] = status
        set_u32(h, 16, cmd.itt)
        set_u32(h, 36, expdatasn)
        set_u32(h, 44, residual)
        return Pdu(h)

    def data_in(self, itt, datasn, offset, data, final=False, lun=b"\0" * 8):
        h = bytearray(48)
        h[0] = OP_DATA_IN
        h[1] = 0x80 if final else 0
        h[8:16] = lun
        set_u32(h, 16, itt)
        set_u32(h, 20, RSVD)
        set_u32(h, 36, datasn)
        set_u32(h, 40, offset)
        return Pdu(h, data=data)

    def r2t(self, itt, offset, length, lun=b"\0" * 8):
        h = bytearray(48)
        h[0] = OP_R2T
        h[1] = 0x80
        h[8:16] = lun
        set_u32(h, 16, itt)
        self.ttt += 1
        set_u32(h, 20, self.ttt)
        set_u32(h, 36, 0)
        set_u32(h, 40, offset)
        set_u32(h, 44, length)
        return Pdu(h)

    def hijack(self, pdu, cmd):
        """Send the target a NOP-Out ping in place of the command (same ITT, CmdSN)."""
        h = bytearray(48)
        h[0] = OP_NOP_OUT | (pdu.hdr[0] & 0x40)
        h[1] = 0x80
        set_u32(h, 16, cmd.itt)
        set_u32(h, 20, RSVD)
        h[24:32] = pdu.hdr[24:32]
        self.hijacked.add(cmd.itt)
        self.dropdata.add(cmd.itt)
        self.to_tgt(Pdu(h))

    # ------------------------------------------------------------ login
    def login_from_ini(self, pdu):
        changes = {"HeaderDigest": "None", "DataDigest": "None"}
        if self.opt.get("r2t"):
            changes.update({"InitialR2T": "Yes", "ImmediateData": "No"})
        keys = [kv.split(b"=")[0].decode(errors="replace") for kv in text_keys(pdu.data)]
        ch = {k: v for k, v in changes.items() if k in keys}
        if ch:
            pdu.data = text_set(pdu.data, ch, False)
            self.say("login request rewritten: %s" % ", ".join("%s=%s" % kv for kv in ch.items()))
        if self.mode in ("login_itt_datain", "login_itt_r2t") and not self.once:
            self.once = True
            self.to_tgt(pdu)
            if self.mode == "login_itt_datain":
                inj = self.data_in(pdu.itt, 0, 0, b"\xee" * 512, final=True)
            else:
                inj = self.r2t(pdu.itt, 0, 4096)
            set_u32(inj.hdr, 28, u32(pdu.hdr, 24))   # ExpCmdSN = the login's CmdSN
            set_u32(inj.hdr, 32, u32(pdu.hdr, 24))
            self.lie("%s with the Login Request's ITT 0x%08x" % (opname(inj.op), pdu.itt))
            self.to_ini(inj)
            return
        self.to_tgt(pdu)

    def login_from_tgt(self, pdu):
        resp = self.opt.get("resp")
        csg = (pdu.hdr[1] >> 2) & 3
        if resp and csg == 1 and pdu.hdr[36] == 0:
            old = {kv.split(b"=")[0].decode(errors="replace"): kv for kv in text_keys(pdu.data)}
            pdu.data = text_set(pdu.data, resp, True)
            self.lie("login response rewritten: %s (target said: %s)" % (
                ", ".join("%s=%s" % kv for kv in resp.items()),
                ", ".join(old[k].decode(errors="replace") for k in resp if k in old) or "-"))
        for kv in text_keys(pdu.data):
            k, _, v = kv.partition(b"=")
            if k == b"MaxBurstLength" and v.isdigit() and int(v) >= 512:
                self.maxburst = int(v)
        if pdu.hdr[1] & 0x80 and (pdu.hdr[1] & 3) == 3 and pdu.hdr[36] == 0:
            self.ffp = True
            self.next_statsn = (u32(pdu.hdr, 24) + 1) & 0xFFFFFFFF
            self.expcmdsn, self.maxcmdsn = u32(pdu.hdr, 28), u32(pdu.hdr, 32)
            self.say("login done, full feature phase (StatSN %d)" % u32(pdu.hdr, 24))
            if self.mode == "nop_in_storm":
                self.storm_until = time.monotonic() + 3.0
                self.lie("NOP-In storm starts (3 s)")
        self.outbuf[self.ini] += bytes(pdu)

    def redirect(self, pdu):
        h = bytearray(48)
        h[0] = OP_LOGIN_RESP
        h[1] = pdu.hdr[1] & 0x0C
        h[8:16] = pdu.hdr[8:16]
        set_u32(h, 16, pdu.itt)
        set_u32(h, 28, u32(pdu.hdr, 24))
        set_u32(h, 32, u32(pdu.hdr, 24))
        h[36], h[37] = 1, 1
        addr = self.a.redirect_to or self.a.upstream
        self.lie("Login Request answered with a redirect (0x0101) to %s" % addr)
        self.outbuf[self.ini] += bytes(Pdu(h, data=("TargetAddress=%s,1" % addr).encode() + b"\0"))
        self.closing = True

    # ------------------------------------------------------------ initiator -> target
    def from_ini(self, pdu):
        op = pdu.op
        if op == OP_LOGIN_REQ:
            if self.mode == "login_redirect":
                self.redirect(pdu)
                return
            self.login_from_ini(pdu)
            return
        if not self.ffp:
            self.to_tgt(pdu)
            return
        if op == OP_NOP_OUT:
            if pdu.itt == RSVD and u32(pdu.hdr, 20) >= 0x10000 and self.mode == "nop_in_storm":
                return                       # a reply to one of our storm NOP-Ins
            self.to_tgt(pdu)
            if pdu.itt != RSVD and self.mode in ("nop_itt_datain", "nop_itt_r2t"):
                if self.mode == "nop_itt_datain":
                    inj = self.data_in(pdu.itt, 0, 0, b"\xee" * 512, final=True)
                else:
                    inj = self.r2t(pdu.itt, 0, 4096)
                self.lie("%s with the NOP-Out's ITT 0x%08x" % (opname(inj.op), pdu.itt))
                self.to_ini(inj, fabricated=True)
            return
        if op == OP_DATA_OUT:
            cmd = self.cmds.get(pdu.itt)
            if cmd is not None and pdu.itt in self.dropdata:
                cmd.got += len(pdu.data)
                if cmd.want is not None and cmd.got >= cmd.want and pdu.hdr[1] & 0x80:
                    self.lie("GOOD for the WRITE (ITT 0x%08x, %d bytes) after %d bytes of its data" %
                             (cmd.itt, cmd.edtl, cmd.got))
                    self.to_ini(self.scsi_resp(cmd), fabricated_status=True)
                    cmd.want = None
                return                       # the target never sees a hijacked write's data
            self.to_tgt(pdu)
            return
        if op != OP_SCSI_CMD:
            self.to_tgt(pdu)
            return
        if not self.saw_cmd:
            self.saw_cmd = True
            self.say("first SCSI command in full feature phase (opcode 0x%02x)" % pdu.hdr[32])
        cdb = pdu.hdr[32:48]
        targeted = (cdb[0] in READS or cdb[0] in WRITES) and cdb_lba(cdb) >= self.a.min_lba \
            and u32(pdu.hdr, 20) > 0
        if not targeted:
            self.to_tgt(pdu)
            return
        cmd = Cmd(pdu)
        self.cmds[cmd.itt] = cmd
        self.command(pdu, cmd)

    def command(self, pdu, cmd):
        m = self.mode
        what = "%s LBA %d, %d bytes, ITT 0x%08x" % ("READ" if cmd.is_read else "WRITE",
                                                    cdb_lba(cmd.cdb), cmd.edtl, cmd.itt)
        if m == "async_logout" and not self.once:
            self.once = True
            self.to_tgt(pdu)
            h = bytearray(48)
            h[0] = OP_ASYNC
            h[1] = 0x80
            set_u32(h, 16, RSVD)
            set_u32(h, 20, RSVD)
            h[36] = 1                        # target requests logout
            struct.pack_into(">HHH", h, 38, 0, 0, 2)
            self.lie("Async Message 'target requests logout' (at %s)" % what)
            self.to_ini(Pdu(h), fabricated_status=True)
            return
        if m == "reject" and cmd.is_read:
            self.hijack(pdu, cmd)
            h = bytearray(48)
            h[0] = OP_REJECT
            h[1] = 0x80
            h[2] = 0x09
            set_u32(h, 16, RSVD)
            self.lie("Reject (reason 0x09) for %s" % what)
            self.to_ini(Pdu(h, data=bytes(pdu.hdr)), fabricated_status=True)
            return
        if not cmd.is_read and m in ("write_before_r2t", "write_before_unsolicited", "write_partial_0",
                                     "write_partial_8k", "write_partial_64k"):
            self.hijack(pdu, cmd)
            if m == "write_before_r2t":
                n = min(cmd.edtl, self.maxburst)
                self.lie("R2T (0, %d) and GOOD at once for %s" % (n, what))
                self.to_ini(self.r2t(cmd.itt, 0, n, cmd.lun), fabricated=True)
                self.to_ini(self.scsi_resp(cmd), fabricated_status=True)
            elif m == "write_before_unsolicited":
                self.lie("GOOD before the unsolicited data (%d immediate bytes, F=%d) of %s" %
                         (len(pdu.data), pdu.hdr[1] >> 7, what))
                self.to_ini(self.scsi_resp(cmd), fabricated_status=True)
                self.pause_ini_until = time.monotonic() + 1.0
            elif m == "write_partial_0":
                self.lie("GOOD without any data for %s" % what)
                self.to_ini(self.scsi_resp(cmd), fabricated_status=True)
            else:
                n = 8192 if m == "write_partial_8k" else 65536
                cmd.want = n
                self.say("R2T (0, %d) only, for %s" % (n, what))
                self.to_ini(self.r2t(cmd.itt, 0, n, cmd.lun), fabricated=True)
            return
        self.to_tgt(pdu)

    # ------------------------------------------------------------ target -> initiator
    def from_tgt(self, pdu):
        op = pdu.op
        if op == OP_LOGIN_RESP:
            self.login_from_tgt(pdu)
            return
        if not self.ffp:
            self.outbuf[self.ini] += bytes(pdu)
            return
        self.expcmdsn, self.maxcmdsn = u32(pdu.hdr, 28), u32(pdu.hdr, 32)
        if op == OP_NOP_IN and pdu.itt in self.hijacked:
            self.hijacked.discard(pdu.itt)
            self.swallow_status(pdu, "reply to the ping that replaced ITT 0x%08x" % pdu.itt)
            return
        cmd = self.cmds.get(pdu.itt)
        if cmd is None:
            self.to_ini(pdu)
            return
        if op == OP_R2T and self.mode in ("r2t_beyond", "r2t_huge_small_mrdsl") and not cmd.lied:
            cmd.lied = True
            off = u32(pdu.hdr, 40)
            if self.mode == "r2t_beyond":
                n = cmd.edtl - off + 65536
            else:
                n = 0xFFFFF000
            self.lie("R2T for ITT 0x%08x (EDTL %d): offset %d, DDTL %d -> %d" %
                     (cmd.itt, cmd.edtl, off, u32(pdu.hdr, 44), n))
            set_u32(pdu.hdr, 44, n)
            self.to_ini(pdu)
            return
        if cmd.is_read and op in (OP_DATA_IN, OP_SCSI_RESP):
            self.read_pdu(pdu, cmd)
            return
        self.to_ini(pdu)

    READ_LIES = ("read_no_data", "read_half", "read_gap", "read_beyond", "resid_under_mismatch",
                 "resid_overflow", "resid_too_big")

    def read_pdu(self, pdu, cmd):
        m = self.mode
        if m in ("close_mid_header", "close_mid_data") and op_is(pdu, OP_DATA_IN) and not self.once:
            self.once = True
            raw = bytes(pdu)
            cut = 20 if m == "close_mid_header" else 48 + len(pdu.ahs) + len(pdu.data) // 2
            self.lie("first %d of %d bytes of a Data-In for ITT 0x%08x, then close" % (cut, len(raw), cmd.itt))
            self.outbuf[self.ini] += raw[:cut]
            self.closing = True
            return
        if m not in self.READ_LIES:
            self.to_ini(pdu)
            return
        # collect the real data; lie when the real status arrives
        if pdu.op == OP_DATA_IN and pdu.data:
            self.din_max = max(self.din_max, len(pdu.data))
            off = u32(pdu.hdr, 40)
            n = min(len(pdu.data), max(0, cmd.edtl - off))
            cmd.data[off:off + n] = pdu.data[:n]
        has_status = pdu.op == OP_SCSI_RESP or pdu.hdr[1] & 0x01
        if not has_status:
            return
        status = pdu.hdr[3]
        statsn = u32(pdu.hdr, 24)
        if status != 0:
            self.say("READ ITT 0x%08x: target status 0x%02x, no lie" % (cmd.itt, status))
            self.send_read(cmd, [(0, cmd.edtl)], statsn, status, 0, 0, False)
            return
        L = cmd.edtl
        h = (L // 2) & ~511
        q = (L // 4) & ~511
        if m == "read_no_data":
            plan, fl, res, in_last = [], 0, 0, False
        elif m == "read_half":
            plan, fl, res, in_last = [(0, h)], 0, 0, True
        elif m == "read_gap":
            plan, fl, res, in_last = [(0, q), (h, L - h)], 0, 0, False
        elif m == "read_beyond":
            plan, fl, res, in_last = [(0, L), (L, 8192)], 0, 0, False
        elif m == "resid_under_mismatch":
            plan, fl, res, in_last = [(0, h)], 0x02, q, False
        elif m == "resid_overflow":
            plan, fl, res, in_last = [(0, h)], 0x04, 4096, False
        else:
            plan, fl, res, in_last = [(0, h)], 0x02, L + 65536, False
        self.lie("READ ITT 0x%08x, %d bytes: sent %s, status GOOD, %s residual %d%s" % (
            cmd.itt, L, " ".join("[%d,%d)" % (o, o + n) for o, n in plan) or "no data",
            {0: "no", 2: "underflow", 4: "overflow"}[fl], res, " (in the last Data-In)" if in_last else ""))
        self.send_read(cmd, plan, statsn, 0, fl, res, in_last)

    def send_read(self, cmd, plan, statsn, status, flags, residual, in_last):
        """Data-In PDUs for the plan's (offset, length) pieces, then the status, with the real
        status's StatSN (forwarded numbering). Pieces are cut as the target cut its own
        Data-In, so that no segment is larger than the initiator accepts."""
        chunk = self.din_max
        pdus = []
        for off, n in plan:
            o = off
            while o < off + n:
                k = min(chunk, off + n - o)
                data = bytes(cmd.data[o:o + k]) if o + k <= cmd.edtl else b"\xee" * k
                pdus.append((o, data))
                o += k
        for i, (o, data) in enumerate(pdus):
            last = i == len(pdus) - 1
            p = self.data_in(cmd.itt, i, o, data, final=last, lun=cmd.lun)
            if last and in_last:
                p.hdr[1] = 0x80 | 0x01 | flags
                p.hdr[3] = status
                set_u32(p.hdr, 24, statsn)
                set_u32(p.hdr, 44, residual)
                set_u32(p.hdr, 28, self.expcmdsn)
                set_u32(p.hdr, 32, self.maxcmdsn)
                self.to_ini(p)
                return
            set_u32(p.hdr, 28, self.expcmdsn)
            set_u32(p.hdr, 32, self.maxcmdsn)
            self.outbuf[self.ini] += bytes(p)  # a Data-In without status carries no StatSN
        r = self.scsi_resp(cmd, status, flags, residual, expdatasn=len(pdus))
        set_u32(r.hdr, 24, statsn)
        set_u32(r.hdr, 28, self.expcmdsn)
        set_u32(r.hdr, 32, self.maxcmdsn)
        self.to_ini(r)

    # ------------------------------------------------------------ storm
    def storm(self):
        if self.storm_until is None:
            return
        if time.monotonic() > self.storm_until:
            self.say("NOP-In storm over: %d NOP-Ins sent" % self.storm_sent)
            self.storm_until = None
            return
        # keep ~1 MiB queued: the initiator finds thousands of NOP-Ins per read
        if len(self.outbuf[self.ini]) > (1 << 20):
            return
        for _ in range(4096):
            h = bytearray(48)
            h[0] = OP_NOP_IN
            h[1] = 0x80
            set_u32(h, 16, RSVD)
            self.storm_ttt = 0x10000 + (self.storm_ttt + 1) % 0x7FFF0000
            set_u32(h, 20, self.storm_ttt)
            self.to_ini(Pdu(h), fabricated=True)
            self.storm_sent += 1

    # ------------------------------------------------------------ loop
    def run(self):
        try:
            if self.mode != "login_redirect":
                host, port = self.a.upstream.rsplit(":", 1)
                self.tgt = socket.create_connection((host, int(port)), timeout=5)
                self.inbuf[self.tgt] = bytearray()
                self.outbuf[self.tgt] = bytearray()
            socks = [s for s in (self.ini, self.tgt) if s is not None]
            for s in socks:
                s.setblocking(False)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                if self.closing and not self.outbuf[self.ini]:
                    self.say("closing both connections")
                    return
                self.storm()
                paused = time.monotonic() < self.pause_ini_until
                rd = [s for s in socks if len(self.outbuf[self.other(s)]) < 4 << 20 and
                      not (paused and s is self.ini)] if not self.closing else []
                wr = [s for s in socks if self.outbuf[s]]
                r, w, _ = select.select(rd, wr, [], 0.05 if self.storm_until or paused else 1.0)
                for s in w:
                    try:
                        n = s.send(self.outbuf[s])
                        del self.outbuf[s][:n]
                    except BlockingIOError:
                        pass
                for s in r:
                    try:
                        b = s.recv(1 << 20)
                    except BlockingIOError:
                        continue
                    if not b:
                        self.say("%s closed the connection" % ("initiator" if s is self.ini else "target"))
                        return
                    self.inbuf[s] += b
                    for pdu in parse_pdus(self.inbuf[s]):
                        if s is self.ini:
                            self.from_ini(pdu)
                        else:
                            self.from_tgt(pdu)
                        if self.closing:
                            break
        except OSError as ex:
            self.say("connection error: %s" % ex)
        finally:
            if self.storm_sent:
                self.say("NOP-In storm: %d NOP-Ins sent in all" % self.storm_sent)
            for s in (self.ini, self.tgt):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass

    def other(self, s):
        if self.tgt is None:
            return self.ini
        return self.tgt if s is self.ini else self.ini


def op_is(pdu, op):
    return pdu.op == op


def opname(op):
    return {OP_DATA_IN: "Data-In", OP_R2T: "R2T", OP_NOP_IN: "NOP-In", OP_SCSI_RESP: "SCSI Response",
            OP_REJECT: "Reject", OP_ASYNC: "Async Message"}.get(op, "opcode 0x%02x" % op)


def main():
    ap = argparse.ArgumentParser(description="a lying iSCSI target: a proxy in front of a real one")
    ap.add_argument("--mode", choices=sorted(MODES))
    ap.add_argument("--listen", help="HOST:PORT to accept initiators on")
    ap.add_argument("--upstream", help="HOST:PORT of the real target")
    ap.add_argument("--redirect-to", help="TargetAddress for login_redirect (default: --upstream)")
    ap.add_argument("--min-lba", type=int, default=2048,
                    help="READ/WRITE at or above this LBA are targeted (default 2048)")
    ap.add_argument("--list", action="store_true", help="print the table of modes")
    a = ap.parse_args()
    if a.list:
        for k in MODES:
            print("%-26s %s" % (k, MODES[k][0]))
        return 0
    if not (a.mode and a.listen and a.upstream):
        ap.error("--mode, --listen and --upstream are required")
    host, port = a.listen.rsplit(":", 1)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if MODES[a.mode][1].get("rcvbuf"):
        # set before listen(): accepted connections inherit it (and the window it advertises)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, MODES[a.mode][1]["rcvbuf"])
    ls.bind((host, int(port)))
    ls.listen(16)
    log("mode %s (%s): listening on %s, upstream %s" % (a.mode, MODES[a.mode][0], a.listen, a.upstream))
    num = 0
    # a thread per connection (one stalled initiator stalls only its own); all of them end
    # with the process, so killing its PID removes everything
    while True:
        c, peer = ls.accept()
        num += 1
        threading.Thread(target=Conn(a, c, "%s:%d" % peer, num).run, daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
