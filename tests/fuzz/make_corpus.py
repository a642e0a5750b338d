#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/<target>/ (run from the repository root; the output is committed)."""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- nbd: 18-byte export description, client flags, options, requests ----
IHAVEOPT = 0x49484156454F5054
REQ_MAGIC = 0x25609513


def export(bs=512, opt=65536, size=1 << 30, tflags=0x014D):
    return struct.pack(">IIQH", bs, opt, size, tflags)


def opt(o, data=b""):
    return struct.pack(">QII", IHAVEOPT, o, len(data)) + data


def go_data(name=b"", infos=()):
    return struct.pack(">I", len(name)) + name + struct.pack(">H", len(infos)) + b"".join(
        struct.pack(">H", i) for i in infos)


def req(typ, off, length, flags=0, cookie=1):
    return struct.pack(">IHHQQI", REQ_MAGIC, flags, typ, cookie, off, length)


CF = struct.pack(">I", 3)  # FIXED_NEWSTYLE | NO_ZEROES
put("nbd", "go-read-write-disc", export() + CF + opt(8) + opt(7, go_data(b"data0", (1, 2, 3)))
    + req(0, 0, 4096) + req(1, 4096, 512) + b"\xab" * 512 + req(3, 0, 0) + req(2, 0, 0))
put("nbd", "export-name-trim", export(tflags=0x016D) + CF + opt(1, b"data0")
    + req(4, 0, 1 << 20) + req(6, 512, 512, flags=3) + req(2, 0, 0))
put("nbd", "info-list-abort", export() + CF + opt(3) + opt(6, go_data(b"", ())) + opt(5) + opt(2))
put("nbd", "bad-go-lengths", export() + CF + opt(7, struct.pack(">I", 0xFFFFFFF0) + b"\0\0")
    + opt(7, go_data(b"x\0y")))
put("nbd", "oversized-option", export() + CF + struct.pack(">QII", IHAVEOPT, 9, 5200) + b"\0" * 5200)
put("nbd", "readonly-unaligned", export(bs=4096, size=1 << 20, tflags=0x0003) + CF + opt(7, go_data(b"a"))
    + req(1, 1, 100) + b"\0" * 100 + req(0, (1 << 20) - 4096, 8192) + req(0, 2**64 - 512, 1024)
    + req(0, 0, 64 << 20) + req(9, 0, 0))
put("nbd", "bad-magic", export() + b"\0\0\0\0")

# ---- config: INI text ----
IQN = "iqn.2026-11.net.example:storage.array1"
with open(os.path.join(os.path.dirname(ROOT), "..", "..", "etc", "mpiscsi.conf"), "rb") as f:
    put("config", "example", f.read())
put("config", "minimal", f"[disk a]\ntarget = {IQN}\nportal = 198.18.1.2\n")
put("config", "all-keys",
    "\ufeff[global]\ninitiator_name = iqn.2026-11.org.mpiscsi:h\nlog_level = debug\n"
    "[nbd]\nlisten = unix:/tmp/x.sock\n"
    f"[disk b]\ntarget = {IQN}\nlun = 16383\nportal = [2001:db8::1]:3261\nportal = host.example\n"
    "discovery = 198.18.3.2:3260\ninterface = eth0\ninterface = eth1\nprio = eth0 100\n"
    "prio = [2001:db8::1]:3261 10\nselector = round-robin\nrr_min_io = 100000\n"
    "failback = 30\nno_path_retry = queue\nnoop_interval = 0\ncommand_timeout = 750ms\n"
    "marginal_flaps = 0\n; comment\n# comment\n")
put("config", "errors", f"[disk c]\ntarget = {IQN}\nportal = 1.2.3.4:99999\nlun = -1\nunknown = 1\n")
put("config", "crlf-and-tricks", f"[disk d]\r\ntarget={IQN}\r\nportal =  198.18.1.2  # x\r\n[disk d2]\n[nope\n= v\nk =\n")
put("config", "failback-values", f"[disk e]\ntarget = {IQN}\nlun = 0\nportal = 198.18.1.2\nfailback = manual\n"
    f"[disk f]\ntarget = {IQN}\nlun = 1\nportal = 198.18.1.2\nfailback = followover\nselector = queue-length\n")

# ---- conf_url: one iscsi:// URL per line ----
put("conf_url", "ipv4", f"iscsi://198.18.1.2/{IQN}/1")
put("conf_url", "merge", f"iscsi://198.18.1.2/{IQN}/0\niscsi://198.18.2.2:3260/{IQN}/0\n"
    f"iscsi://[2001:db8::2]/{IQN}\niscsi://198.18.1.2/{IQN}/1\n")
put("conf_url", "ipv6-port", f"iscsi://[2001:db8::1]:3262/{IQN}/16383")
put("conf_url", "odd", "iscsi://target.example/eui.02004567A425678D/\niscsi:///x/1\niscsi://[::1/x\n"
    f"iscsi://1.2.3.4:0/{IQN}/99999999999\nhttp://x/y/1\n")

# ---- ctl: one request line (the same input is also parsed as a reply) ----
put("ctl", "version", '{"v":1,"cmd":"version"}')
put("ctl", "fail-path", '{"v":1,"cmd":"fail-path","args":{"id":3}}')
put("ctl", "switchgroup", '{"v":1,"cmd":"switchgroup","args":{"disk":"data0","prio":50},"x":[1,2]}\r \t')
put("ctl", "bad-args", '{"v":1,"cmd":"show-paths","args":{"bogus":true}}')
put("ctl", "deep", '{"v":1,"cmd":"version","args":{"a":[[[[[[[[[1]]]]]]]]}}')
put("ctl", "reply-ok", '{"v":1,"ok":true,"data":{"paths":[{"id":1,"state":"up"}]}}')
put("ctl", "reply-error", '{"v":1,"ok":false,"error":{"code":"ENOENT","message":"no such path \\u00e9"}}')
put("ctl", "big-int", '{"v":9223372036854775807,"cmd":"version"}')
put("ctl", "not-json", "v=1 cmd=version")
# Edge case: a non-ASCII name that ends exactly where error messages cut names (64 bytes).
put("ctl", "long-utf8-key", '{"v":1,"cmd":"version","args":{"' + "a" * 62 + '\u00e9' + '":1}}')
put("ctl", "long-utf8-cmd", '{"v":1,"cmd":"' + "b" * 62 + "\u00e9" + '"}')

# ---- scsi: one response buffer (INQUIRY, VPD pages, READ CAPACITY(16), MODE SENSE(10)) ----
def hexbytes(s):
    return bytes(int(x, 16) for x in s.replace(",", " ").split())


put("scsi", "tgtd-inquiry", hexbytes(
    "00 00 05 12 3b 00 00 02 49 45 54 20 20 20 20 20 56 49 52 54 55 41 4c 2d 44 49 53 4b 20 20 20 20"
    " 30 30 30 31" + " 00" * 21 + " 40 03 00 09 60 03 00"))
put("scsi", "lio-inquiry-short", hexbytes(
    "00 00 06 12 1f 30 00 02 4c 49 4f 2d 4f 52 47 20 64 69 73 6b 30 20 20 20"))
put("scsi", "vpd00", hexbytes("00 00 00 07 00 80 83 86 b0 b1 b2"))
put("scsi", "vpd80", hexbytes("00 80 00 10 20 62 65 61 66 31 31 20 20 20 20 20 20 20 20 00"))
# VPD 0x83: T10, NAA 16, EUI-64 12, SCSI name, relative port, TPG.
d83 = (bytes([0x02, 0x01, 0x00, 0x10]) + b"IET     00010001"
       + bytes([0x01, 0x03, 0x00, 0x10]) + bytes.fromhex("6001405a1b2c3d4e5f60718293a4b5c6")
       + bytes([0x01, 0x02, 0x00, 0x0c]) + bytes(range(1, 13))
       + bytes([0x03, 0x08, 0x00, 0x10]) + b"iqn.2003-01.x\0\0\0"
       + bytes([0x51, 0x94, 0x00, 0x04, 0, 0, 0, 1])
       + bytes([0x51, 0x95, 0x00, 0x04, 0, 0, 0, 2]))
put("scsi", "vpd83", bytes([0, 0x83]) + struct.pack(">H", len(d83)) + d83)
put("scsi", "vpd83-lying-length", bytes([0, 0x83, 0x00, 0x40]) + d83[:20])
put("scsi", "vpdb0", hexbytes(
    "00 b0 00 3c 01 01 00 08 00 00 04 00 00 00 04 00 00 00 00 00 00 40 00 00 00 00 00 01 00 00 00 08"
    " 00 00 00 00 00 00 00 00 00 00 10 00" + " 00" * 20))
put("scsi", "vpdb0-old", hexbytes("00 b0 00 10 00 00 00 01 00 00 20 00 00 00 00 80 00 00 00 00"))
put("scsi", "vpdb2", hexbytes("00 b2 00 04 00 c4 02 00"))
put("scsi", "rc16", hexbytes("00 00 00 00 00 1f ff ff 00 00 02 00 00 03 c0 00" + " 00" * 16))
put("scsi", "rc16-max-lba", hexbytes("ff ff ff ff ff ff ff ff 00 00 02 00"))
put("scsi", "mode-sense10-wp", hexbytes("00 1a 00 80 00 00 00 00"))

# ---- sense: xport, status, sense bytes ----
def fixed(key, asc, ascq):
    return bytes([0x70, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, ascq, 0, 0, 0, 0])


put("sense", "good", bytes([0, 0x00]))
put("sense", "ua-fixed", bytes([0, 0x02]) + fixed(0x6, 0x29, 0x00))
put("sense", "alua-transition", bytes([0, 0x02]) + fixed(0x2, 0x04, 0x0a))
put("sense", "alua-standby-desc", bytes([0, 0x02, 0x72, 0x02, 0x04, 0x0b, 0, 0, 0, 0]))
put("sense", "medium-error", bytes([0, 0x02]) + fixed(0x3, 0x11, 0x00))
put("sense", "illegal-request", bytes([0, 0x02]) + fixed(0x5, 0x24, 0x00))
put("sense", "resv-conflict", bytes([0, 0x18]))
put("sense", "busy", bytes([0, 0x08]))
put("sense", "short-fixed", bytes([0, 0x02, 0xf0, 0x00, 0x06]))
put("sense", "transport-error", bytes([1, 0x00]))

# ---- portal: SendTargets TargetAddress values ----
for i, s in enumerate(["198.18.1.2:3260,1", "198.18.1.2", "[2001:db8::1]:3261,2", "[::1]",
                       "target.example.com:860", "a-b.c,65535", "1.2.3.4:65536", "[fe80::1%eth0]:3260",
                       "host:03260", "[::ffff:1.2.3.4],0"]):
    put("portal", f"p{i:02d}", s)

# ---- linkmon: rtnetlink messages ----
RTM_NEWLINK, RTM_DELLINK, IFLA_IFNAME, IFLA_OPERSTATE = 16, 17, 3, 16


def align4(n):
    return (n + 3) & ~3


def attr(t, data):
    a = struct.pack("=HH", 4 + len(data), t) + data
    return a + b"\0" * (align4(len(a)) - len(a))


def link(typ, index, flags, attrs=b"", seq=0):
    body = struct.pack("=BxHiII", 0, 1, index, flags, 0) + attrs
    return struct.pack("=IHHII", 16 + len(body), typ, 0, seq, 0) + body


UP = 0x1 | 0x40 | 0x10000  # IFF_UP | IFF_RUNNING | IFF_LOWER_UP
put("linkmon", "newlink-up", link(RTM_NEWLINK, 2, UP, attr(IFLA_IFNAME, b"veth1\0") + attr(IFLA_OPERSTATE, b"\x06")))
put("linkmon", "dellink", link(RTM_DELLINK, 3, 0, attr(IFLA_IFNAME, b"veth2\0")))
put("linkmon", "no-operstate", link(RTM_NEWLINK, 1, UP, attr(IFLA_IFNAME, b"lo\0")))
put("linkmon", "two-messages", link(RTM_NEWLINK, 4, 0x1, attr(IFLA_IFNAME, b"eth0\0") + attr(IFLA_OPERSTATE, b"\x02"))
    + link(RTM_NEWLINK, 5, UP, attr(IFLA_IFNAME, b"0123456789abcde\0") + attr(IFLA_OPERSTATE, b"\x00"), seq=1))
put("linkmon", "other-type", struct.pack("=IHHII", 20, 24, 0, 0, 0) + b"\0" * 4)
put("linkmon", "bad-name", link(RTM_NEWLINK, 6, UP, attr(IFLA_IFNAME, b"0123456789abcdef")))

# ---- rtpg: REPORT TARGET PORT GROUPS answers (LIO captures from tests/unit/rtpg_samples.h, edge cases) ----
put("rtpg", "lio-ext-ano-pref", hexbytes(
    "00 00 00 24 10 1e 00 00 01 cf 00 01 00 02 00 01 00 00 00 01 80 cf 00 02 00 02 00 01 00 00 00 02"
    " 03 cf 00 03 00 02 00 01"))
put("rtpg", "lio-len-ano-pref", hexbytes(
    "00 00 00 24 01 cf 00 01 00 02 00 01 00 00 00 01 80 cf 00 02 00 02 00 01 00 00 00 02 03 cf 00 03"
    " 00 02 00 01 00 00 00 03"))
put("rtpg", "lio-ext-two-ports", hexbytes(
    "00 00 00 1c 10 1e 00 00 00 cf 00 01 00 01 00 02 00 00 00 01 00 00 00 03 82 cf 00 02 00 01 00 01"))
put("rtpg", "lio-len-transitioning", hexbytes(
    "00 00 00 24 01 cf 00 01 00 02 00 01 00 00 00 01 80 cf 00 02 00 02 00 01 00 00 00 02 0f cf 00 03"
    " 00 02 00 01 00 00 00 03"))
put("rtpg", "lio-ext-alloc16-filler", hexbytes("00 00 00 18 10 07 00 00 00 00 00 00 00 00 00 00"))
put("rtpg", "len-only-header", hexbytes("00 00 00 24"))
put("rtpg", "ext-empty", hexbytes("00 00 00 04 10 05 00 00"))


def rtpg_desc(tpg, state, ports, pref=False, sup=0xcf, status=0):
    return (bytes([(0x80 if pref else 0) | state, sup]) + struct.pack(">H", tpg) + bytes([0, status, 0, len(ports)])
            + b"".join(struct.pack(">HH", 0, p) for p in ports))


def rtpg_answer(descs, ext=False, its=0):
    body = (bytes([0x10, its, 0, 0]) if ext else b"") + b"".join(descs)
    return struct.pack(">I", len(body)) + body


put("rtpg", "ext-conforming", rtpg_answer([rtpg_desc(1, 0, [1, 3]), rtpg_desc(2, 2, [2], pref=True)], ext=True, its=60))
put("rtpg", "many-groups", rtpg_answer([rtpg_desc(100 + i, i % 4, [i + 1]) for i in range(40)]))
put("rtpg", "many-ports", rtpg_answer([rtpg_desc(7, 1, list(range(1, 21))), rtpg_desc(8, 0xe, [])]))
overrun = bytearray(rtpg_answer([rtpg_desc(1, 0, [1])]))
overrun[4 + 7] = 2  # two ports announced, one stated and sent
put("rtpg", "port-count-overrun", bytes(overrun))
put("rtpg", "lying-length", b"\x00\x00\x01\x00" + rtpg_answer([rtpg_desc(1, 1, [1]), rtpg_desc(2, 3, [2])])[4:])

# ---- report_luns: REPORT LUNS answers (tgtd's encoding, truncated, lying lengths, other methods) ----
def rl_answer(entries, list_len=None):
    body = b"".join(entries)
    return struct.pack(">II", len(body) if list_len is None else list_len, 0) + body


def rl_periph(lun, bus=0):
    return bytes([bus, lun]) + b"\0" * 6


def rl_flat(lun):
    return bytes([0x40 | (lun >> 8), lun & 0xff]) + b"\0" * 6


put("report_luns", "tgtd-controller-two-disks", rl_answer([rl_periph(0), rl_periph(1), rl_periph(2)]))
put("report_luns", "flat-and-peripheral", rl_answer([rl_periph(5), rl_flat(256), rl_flat(16383), rl_flat(5)]))
put("report_luns", "truncated-alloc16", rl_answer([rl_periph(i) for i in range(4)])[:16])
put("report_luns", "header-only-long-list", rl_answer([], list_len=8 * 1000))
put("report_luns", "list-not-multiple-of-8", rl_answer([rl_periph(1)], list_len=12))
put("report_luns", "huge-list-length", rl_answer([rl_periph(1)], list_len=0xfffffff8))
put("report_luns", "other-methods", rl_answer([rl_periph(0x2c, bus=1), bytes([0x80, 5]) + b"\0" * 6,
                                               bytes([0xc1, 1]) + b"\0" * 6, bytes([0xd2, 0, 1, 2]) + b"\0" * 4,
                                               b"\xff" * 8, bytes([0, 1, 0, 2]) + b"\0" * 4, rl_periph(9)]))
put("report_luns", "duplicates", rl_answer([rl_periph(2), rl_periph(1), rl_periph(2), rl_flat(1), rl_flat(500)]))
put("report_luns", "small-max", bytes(rl_answer([rl_periph(i) for i in range(10)])[:4]) + b"\x83\0\0\0"
    + b"".join(rl_periph(i) for i in range(10)))
put("report_luns", "sixteen-luns", rl_answer([rl_periph(i) for i in range(17)]))

# ---- secrets: CHAP secrets files (tools/mpiscsid/secrets.c) ----
put("secrets", "valid", "# CHAP secrets\n\nalice alice-secret-1\n\tbob\tb#b-secret;12  \r\ntgt-out 0123456789abcdef\n")
put("secrets", "no-final-newline", "twelve-bytes 123456789012")
put("secrets", "one-field", "alice\n")
put("secrets", "three-fields", "alice Pa55 w0rd-w0rd-w0rd\n")
put("secrets", "short-secret", "alice 12345678901\n")
put("secrets", "duplicate", "alice first-secret-1\nbob bob-secret-12\nalice second-secret\n")
put("secrets", "control-bytes", b"alice abc\x01defghijklmn\nbob s\xc3\xa9cret-secret-1\ncarol x\x00yzzzzzzzzzzzz\n")
put("secrets", "long-fields", "u" * 256 + " " + "k" * 40 + "\nv " + "k" * 256 + "\n")
put("secrets", "comments-only", "# a\n   # b\n\r\n\t\n")

# ---- pdu_guard: budget byte, then records (bit 7: from the target; 7-bit length, 127 = 16-bit length follows) ----


def rec(incoming, data):
    if len(data) < 127:
        return bytes([(0x80 if incoming else 0) | len(data)]) + data
    return bytes([(0x80 if incoming else 0) | 127]) + struct.pack(">H", len(data)) + data


def pdu(op, flags, itt, data=b"", f20=0, f24=0, f28=0, f32=0, f36=0, f40=0, f44=0, b2=0, b3=0, ahs=0):
    h = struct.pack(">BBBBB", op, flags, b2, b3, ahs) + len(data).to_bytes(3, "big") + b"\0" * 8
    h += struct.pack(">IIIIIIIII", itt, f20, f24, f28, f32, f36, f40, f44, 0)[:32]
    h = h[:48]
    return h + data + b"\0" * ((4 - len(data) % 4) % 4)


def keys(*kv):
    return b"".join(k.encode() + b"\0" for k in kv)


OURS = keys("InitiatorName=iqn.2026-01.fuzz:ini", "HeaderDigest=None,CRC32C", "DataDigest=None",
            "MaxRecvDataSegmentLength=262144", "MaxBurstLength=262144", "FirstBurstLength=262144",
            "MaxOutstandingR2T=1")
THEIRS = keys("HeaderDigest=None", "DataDigest=None", "MaxRecvDataSegmentLength=65536",
              "MaxBurstLength=262144", "FirstBurstLength=65536", "MaxOutstandingR2T=1")


def login(theirs=THEIRS, status=0, flags=0x87):
    return rec(False, pdu(0x43, 0x87, 0x1000, OURS)) + rec(True, pdu(0x23, flags, 0x1000, theirs,
                                                                   f36=status << 16))


def pg(name, *records, budget=0):
    put("pdu_guard", name, bytes([budget]) + b"".join(records))


READ = rec(False, pdu(0x01, 0xc1, 0x10, f20=8192))
pg("read-honest", login(), READ, rec(True, pdu(0x25, 0x00, 0x10, b"\x5a" * 4096, f40=0)),
   rec(True, pdu(0x25, 0x81, 0x10, b"\x5a" * 4096, f36=1, f40=4096)))
pg("read-good-no-data", login(), READ, rec(True, pdu(0x21, 0x80, 0x10)))
pg("read-underflow", login(), READ, rec(True, pdu(0x25, 0x80, 0x10, b"\1" * 512)),
   rec(True, pdu(0x21, 0x82, 0x10, f44=8192 - 512)))
WRITE = rec(False, pdu(0x01, 0xa1, 0x20, f20=16384))
pg("write-r2t", login(), WRITE, rec(True, pdu(0x31, 0x80, 0x20, f20=7, f40=0, f44=16384)),
   rec(False, pdu(0x05, 0x80, 0x20, b"\2" * 16384, f20=7)), rec(True, pdu(0x21, 0x80, 0x20)))
pg("write-good-early", login(), WRITE, rec(True, pdu(0x31, 0x80, 0x20, f20=7, f44=16384)),
   rec(True, pdu(0x21, 0x80, 0x20)))
pg("write-unsolicited", login(), rec(False, pdu(0x01, 0x21, 0x21, b"\3" * 4096, f20=8192)),
   rec(False, pdu(0x05, 0x80, 0x21, b"\3" * 4096, f20=0xffffffff, f40=4096)), rec(True, pdu(0x21, 0x80, 0x21)))
pg("nop-data-in", login(), rec(False, pdu(0x40, 0x80, 0x12, f20=0xffffffff)),
   rec(True, pdu(0x25, 0x81, 0x12, b"\0" * 512)))
pg("nop-storm", login(), *[rec(True, pdu(0x20, 0x80, 0xffffffff, f20=i)) for i in range(40)], budget=3)
pg("digests", login(keys("HeaderDigest=CRC32C", "MaxRecvDataSegmentLength=8192")),
   rec(False, pdu(0x40, 0x80, 0x12, f20=0xffffffff)[:48] + b"\0\0\0\0"))
pg("redirect", login(keys("TargetAddress=198.18.2.2:3261,1"), status=0x0101, flags=0))
pg("mrdsl-zero", login(keys("HeaderDigest=None", "MaxRecvDataSegmentLength=0")))
pg("reject-async", login(), rec(False, pdu(0x40, 0x80, 0x13, f20=0xffffffff)),
   rec(True, pdu(0x3f, 0x80, 0xffffffff, pdu(0x40, 0x80, 0x13), b2=4)),
   rec(True, pdu(0x32, 0x80, 0xffffffff, f36=1 << 24)))
pg("tmf-text-logout", login(), rec(False, pdu(0x44, 0x80, 0x30)), rec(True, pdu(0x24, 0x80, 0x30)),
   rec(False, pdu(0x42, 0x81, 0x31, f20=0x10)), rec(True, pdu(0x22, 0x80, 0x31)),
   rec(False, pdu(0x46, 0x80, 0x32)), rec(True, pdu(0x26, 0x80, 0x32)))
