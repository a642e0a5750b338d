#!/usr/bin/python3
"""Second NBD client of the chaos soak (tests/soak/soak.sh).

Connects to the export, does verified reads and writes on its own range of 64 KiB blocks at a
random depth for a random time, then disconnects in one of three ways, chosen at random:
  drain   wait for every request, then NBD_CMD_DISC (libnbd shutdown)
  disc    NBD_CMD_DISC while requests are still in flight
  abrupt  shutdown(2) of the socket while requests are in flight (a request may be cut in half)
and starts again, until the stop file appears or the deadline passes. At the end it reads its
whole range back once more on a fresh connection and checks every block.

Verification model. A block written with generation g holds, in each 512-byte chunk,
(MAGIC, block, chunk, g) and a filler derived from (block, g); generation 0 is the zeroes of a
block never written. A write whose connection ended before its reply is "abandoned": it may
land (whole or in chunks) or not, and, while the daemon still holds it, later. So each block
keeps the generations it may hold: the last acknowledged write, plus every abandoned write
that is not known to be settled. An abandoned write counts as settled for a later write that
was issued more than SETTLE seconds after the abandonment (SETTLE is longer than the daemon
can hold a request: no_path_retry plus retries). Every chunk read must carry its own block and
chunk number, a generation the block may hold, and that generation's filler: data of another
block, a superseded generation (a lost or stale write) or garbage is a verify error.

Usage: nbd_client.py SOCKET EXPORT OFFSET SIZE SEED STOPFILE DEADLINE_S SETTLE_S OUT.json EVENTS.log
Exit status 0 only if no request failed, no block failed verification and the final read-back
was complete.
"""
import json
import os
import random
import socket
import struct
import sys
import time

import nbd

BLOCK = 65536
CHUNK = 512
MAGIC = 0x4D50495343534F4B          # "MPISCSOK"
STALL_S = 200.0                      # a request outstanding this long is an error (a hang)


def chunk_head(blk, i, gen):
    return struct.pack('<QQQQ', MAGIC, blk, i, gen)


def filler(blk, gen):
    return struct.pack('<QQ', blk ^ 0x5A5A5A5A, gen) * ((CHUNK - 32) // 16)


def pattern(blk, gen):
    if gen == 0:
        return bytes(BLOCK)
    f = filler(blk, gen)
    return b''.join(chunk_head(blk, i, gen) + f for i in range(BLOCK // CHUNK))


class Soak:
    def __init__(self, args):
        (self.sock_path, self.export, off, size, seed, self.stop, deadline, settle,
         self.out, events) = args
        self.base = int(off)
        self.nblk = int(size) // BLOCK
        self.rng = random.Random(int(seed))
        self.end = time.monotonic() + float(deadline)
        self.settle = float(settle)
        self.ev = open(events, 'a', buffering=1)
        self.cur = [{0} for _ in range(self.nblk)]     # acknowledged generation(s)
        self.aband = [[] for _ in range(self.nblk)]    # [(gen, monotonic time abandoned)]
        self.gen = 0
        self.st = {"ios": 0, "reads": 0, "writes": 0, "errors": 0, "verify_errors": 0,
                   "connects": 0, "connect_errors": 0, "abandoned_writes": 0,
                   "abandoned_reads": 0, "disconnects": {"drain": 0, "disc": 0, "abrupt": 0},
                   "max_ms": 0.0, "final_blocks": 0, "first_errors": []}

    # ------------------------------------------------------------ bookkeeping
    def event(self, msg):
        self.ev.write("%d client %s\n" % (time.time_ns() // 1000000, msg))

    def error(self, kind, msg):
        self.st[kind] += 1
        if len(self.st["first_errors"]) < 10:
            self.st["first_errors"].append("%d %s" % (time.time_ns() // 1000000, msg))
        self.event("ERROR " + msg)

    def possible(self, blk):
        return self.cur[blk] | {g for g, _ in self.aband[blk]}

    def check(self, blk, data):
        """Verify one block read back; return True if it is consistent with the model."""
        gens = self.possible(blk)
        for g in gens:
            if data == pattern(blk, g):
                return True
        # chunk by chunk: an abandoned write may have landed in part
        fills = {g: filler(blk, g) for g in gens if g}
        for i in range(BLOCK // CHUNK):
            c = data[i * CHUNK:(i + 1) * CHUNK]
            if c == bytes(CHUNK) and 0 in gens:
                continue
            m, b, ci, g = struct.unpack_from('<QQQQ', c)
            if m != MAGIC or b != blk or ci != i or g not in fills or c[32:] != fills[g]:
                self.error("verify_errors",
                           "block %d chunk %d: magic %x block %d chunk %d gen %d, expected one of %s"
                           % (blk, i, m, b, ci, g, sorted(gens)))
                return False
        return True

    # ------------------------------------------------------------ one connection
    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        h = nbd.NBD()
        try:
            s.settimeout(10)
            s.connect(self.sock_path)
            h.set_export_name(self.export)
            h.connect_socket(os.dup(s.fileno()))
        except (OSError, nbd.Error) as ex:
            s.close()
            del h
            self.error("connect_errors", "connect: %s" % ex)
            return None, None
        self.st["connects"] += 1
        if h.get_size() < self.base + self.nblk * BLOCK:
            raise SystemExit("export smaller than the client's range")
        return h, s

    def session(self, life, depth, mode):
        """Connect, run I/O for life seconds at depth, then disconnect by mode. Updates the
        model; the handle is dropped here (no other reference), which closes it."""
        h, s = self.connect()
        if h is None:
            time.sleep(0.5)
            return
        self.event("connect depth %d life %.2f s, then %s" % (depth, life, mode))
        inflight = {}          # blk -> (kind, gen, t_issue_ns, t_issue_mono)
        closing = [False]
        t_stop = time.monotonic() + life

        def make_cb(blk, buf):
            def cb(err):
                ent = inflight.pop(blk, None)
                if ent is None:          # already counted as abandoned
                    return 0
                kind, gen, t0, tm = ent
                e = err.value
                if closing[0] and e:
                    self._abandon(blk, kind, gen)
                    return 0
                ms = (time.time_ns() - t0) / 1e6
                self.st["max_ms"] = max(self.st["max_ms"], ms)
                self.st["ios"] += 1
                if e:
                    self.error("errors", "%s block %d gen %d: errno %d after %.0f ms"
                               % ("write" if kind == "w" else "read", blk, gen, e, ms))
                    if kind == "w":
                        self.cur[blk].add(gen)
                elif kind == "w":
                    self.st["writes"] += 1
                    self.cur[blk] = {gen}
                    self.aband[blk] = [(g, ta) for g, ta in self.aband[blk] if ta + self.settle > tm]
                else:
                    self.st["reads"] += 1
                    self.check(blk, buf.to_bytearray())
                return 0
            return cb

        try:
            while True:
                now = time.monotonic()
                if now >= t_stop or os.path.exists(self.stop) or now > self.end:
                    break
                tries = 0
                while len(inflight) < depth and tries < 4 * depth:
                    tries += 1
                    blk = self.rng.randrange(self.nblk)
                    if blk in inflight:
                        continue
                    off = self.base + blk * BLOCK
                    if self.rng.random() < 0.5:
                        self.gen += 1
                        buf = nbd.Buffer.from_bytearray(bytearray(pattern(blk, self.gen)))
                        inflight[blk] = ("w", self.gen, time.time_ns(), time.monotonic())
                        h.aio_pwrite(buf, off, completion=make_cb(blk, buf))
                    else:
                        buf = nbd.Buffer(BLOCK)
                        inflight[blk] = ("r", 0, time.time_ns(), time.monotonic())
                        h.aio_pread(buf, off, completion=make_cb(blk, buf))
                h.poll(100)
                self._stalls(inflight)
            if mode == "drain":
                t_end = time.monotonic() + STALL_S
                while inflight and time.monotonic() < t_end:
                    h.poll(100)
                self._stalls(inflight)
            closing[0] = True
            n = len(inflight)
            self.st["disconnects"][mode] += 1
            if mode == "abrupt":
                s.shutdown(socket.SHUT_RDWR)
            else:
                try:
                    h.shutdown()
                except nbd.Error as ex:
                    # NBD_CMD_DISC with requests in flight: the server must handle them but
                    # may close without replying (libnbd: "server disconnected
                    # unexpectedly"); they are abandoned. With none in flight it is an error.
                    if n == 0:
                        raise
                    self.event("disconnect disc: %s" % ex)
            self.event("disconnect %s with %d in flight" % (mode, n))
        except nbd.Error as ex:
            self.error("errors", "libnbd (%s): %s" % ("disconnect" if closing[0] else "I/O", ex))
        finally:
            closing[0] = True
            for blk, (kind, gen, _, _) in list(inflight.items()):
                self._abandon(blk, kind, gen)
            inflight.clear()
            del h
            s.close()

    def _abandon(self, blk, kind, gen):
        if kind == "w":
            self.st["abandoned_writes"] += 1
            self.aband[blk].append((gen, time.monotonic()))
        else:
            self.st["abandoned_reads"] += 1

    def _stalls(self, inflight):
        now = time.time_ns()
        for blk, (kind, gen, t0, _) in inflight.items():
            if (now - t0) / 1e9 > STALL_S:
                raise SystemExit("request on block %d outstanding for %.0f s" % (blk, (now - t0) / 1e9))

    # ------------------------------------------------------------ final read-back
    def final(self):
        h, s = self.connect()
        if h is None:
            return
        pending = {}
        nxt = 0

        def make_cb(blk, buf):
            def cb(err):
                pending.pop(blk)
                if err.value:
                    self.error("errors", "final read block %d: errno %d" % (blk, err.value))
                else:
                    self.st["final_blocks"] += 1
                    self.check(blk, buf.to_bytearray())
                return 0
            return cb

        t_end = time.monotonic() + STALL_S
        while (nxt < self.nblk or pending) and time.monotonic() < t_end:
            while nxt < self.nblk and len(pending) < 8:
                buf = nbd.Buffer(BLOCK)
                pending[nxt] = buf
                h.aio_pread(buf, self.base + nxt * BLOCK, completion=make_cb(nxt, buf))
                nxt += 1
            h.poll(100)
        h.shutdown()
        del h
        s.close()

    def run(self):
        self.event("start: %d blocks of %d bytes at offset %d" % (self.nblk, BLOCK, self.base))
        while not os.path.exists(self.stop) and time.monotonic() < self.end:
            # lives from a few requests to several seconds; depth 1..16
            life = self.rng.choice((0.02, 0.2, 1.0, 3.0, 6.0)) * self.rng.uniform(0.5, 1.5)
            depth = self.rng.randint(1, 16)
            mode = self.rng.choices(("drain", "disc", "abrupt"), weights=(2, 1, 2))[0]
            self.session(life, depth, mode)
            time.sleep(self.rng.uniform(0, 1.0))
        self.final()
        self.event("final read-back: %d of %d blocks" % (self.st["final_blocks"], self.nblk))
        self.st["max_ms"] = round(self.st["max_ms"], 1)
        with open(self.out, "w") as f:
            json.dump(self.st, f)
        print(json.dumps(self.st))
        ok = (self.st["errors"] == 0 and self.st["verify_errors"] == 0 and
              self.st["connect_errors"] == 0 and self.st["final_blocks"] == self.nblk)
        return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 11:
        sys.exit(__doc__)
    sys.exit(Soak(sys.argv[1:]).run())
