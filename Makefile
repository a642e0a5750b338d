# mpiscsi top-level build: library of all layers, two programs, unit and end-to-end tests.
PREFIX     ?= /usr/local
DESTDIR    ?=
BUILD      ?= build
CC         ?= cc
SANITIZE   ?= 0
WERROR     ?= 1

PKGS       := libiscsi libnl-3.0 libnl-route-3.0 libnl-genl-3.0 openssl json-c
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lev
CRIT_CFLAGS:= $(shell pkg-config --cflags criterion 2>/dev/null)
CRIT_LIBS  := $(shell pkg-config --libs criterion 2>/dev/null)

WARN := -Wall -Wextra -Wshadow -Wvla -Wformat=2 -Wmissing-declarations \
        -Wmissing-prototypes -Wstrict-prototypes -Wpointer-arith -Wundef \
        -Wno-strict-aliasing
ifeq ($(WERROR),1)
WARN += -Werror
endif
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 $(WARN) -D_GNU_SOURCE -I. $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS)
ifeq ($(SANITIZE),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
BUILD    := build-san
endif

# Every .c under the layer folders goes into the library; tools/PROGRAM/main.c are the programs
# (tools/mpiscsid, tools/mpiscsiadm; tools/ctl is the control protocol both use). tests/fuzz/fuzz.mk
# compiles the same LIB_SRC again with clang.
MAINS    := tools/mpiscsid/main.c tools/mpiscsiadm/main.c
LIB_SRC  := $(sort $(wildcard common/*.c mpath/*.c initiator/*.c transport/*/*.c) \
                   $(filter-out $(MAINS),$(wildcard tools/*/*.c)))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB      := $(BUILD)/lib/libmpiscsi.a
BINS     := $(BUILD)/bin/mpiscsid $(BUILD)/bin/mpiscsiadm
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
HELP_SRC := $(sort $(wildcard tests/helpers/*.c))
HELP_BIN := $(HELP_SRC:tests/helpers/%.c=$(BUILD)/tests/%)
MAN      := $(wildcard docs/*.[0-9])

.PHONY: all deps check unit valgrind-unit e2e demo bench bench-failover bench-alua soak install clean help
all: $(BINS) $(HELP_BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/%: $(BUILD)/obj/tools/%/main.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CRIT_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(CRIT_LIBS) $(LDLIBS)

$(BUILD)/tests/%: tests/helpers/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# the programs' objects are kept (not intermediate files make would delete)
.SECONDARY: $(BINS:$(BUILD)/bin/%=$(BUILD)/obj/tools/%/main.o)

-include $(LIB_OBJ:.o=.d) $(BINS:$(BUILD)/bin/%=$(BUILD)/obj/tools/%/main.d)

## deps: install every Debian package needed to build, test, demo and benchmark
deps:
	@tests/lib/deps.sh

## unit: build and run the Criterion unit tests
# Criterion reports a test as passing even when LeakSanitizer printed a leak at the
# worker's exit, so the output is also searched for sanitizer reports.
unit: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do echo "== $$t"; \
	  $$t --jobs 2 > $$t.log 2>&1; rc=$$?; cat $$t.log; \
	  [ $$rc -eq 0 ] || exit 1; \
	  if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' $$t.log; then \
	    echo "$$t: sanitizer report (see above)"; exit 1; fi; \
	done

## valgrind-unit: every unit test binary under valgrind (memcheck, leaks), each test in its own process (~5 min)
valgrind-unit: $(UNIT_BIN)
	@command -v valgrind >/dev/null || { echo "valgrind missing: apt-get install valgrind"; exit 1; }
	@for t in $(UNIT_BIN); do echo "== valgrind $$t"; \
	  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    --trace-children=yes $$t --jobs 1 > $$t.vg.log 2>&1; rc=$$?; tail -n 1 $$t.vg.log; \
	  if [ $$rc -ne 0 ]; then cat $$t.vg.log; echo "$$t: valgrind or test failure (exit $$rc)"; exit 1; fi; \
	done; echo "valgrind: every unit test clean"

## e2e: end-to-end tests against real tgtd and real NBD clients (needs root)
e2e: $(BINS) $(HELP_BIN)
	@BUILD=$(BUILD) tests/e2e/run.sh

## check: deps, build, unit tests, fuzz regression inputs, end-to-end tests
check: deps
	@$(MAKE) --no-print-directory all unit
	@$(MAKE) --no-print-directory fuzz-check
	@$(MAKE) --no-print-directory e2e

## demo: a local tgtd target with two paths, the daemon and an NBD export
demo: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/demo.sh

## bench: fio against mpiscsi, qemu-nbd (iscsi driver) and iscsi-perf on one tgtd target
bench: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/bench/bench.sh

## bench-failover: failover stall, failback delay, link aggregation and slow-path share (root, ~5 min)
bench-failover: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/bench/failover.sh

## bench-alua: time from an ALUA change on the LIO target to I/O on the new group, per case (root, ~4 min)
bench-alua: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/bench/alua.sh

## bench-scale: one daemon for 16 LUs x 4 paths vs 16 qemu-nbd: sessions, ready time, RSS, fds, IOPS, CPU/IO (root, ~3 min)
.PHONY: bench-scale
bench-scale: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/bench/scale.sh

## bench-tls: fio over NBD/TCP with TLS vs plain, same daemon and listener, 3 runs each (root, ~3 min)
.PHONY: bench-tls
bench-tls: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/bench/tls.sh

## bench-guest: QEMU guest boot time from the multipath disk vs a local file and qemu-nbd, 3 runs each (root, ~3 min)
.PHONY: bench-guest
bench-guest: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/bench/guest_boot.sh

## bench-local-disk: /dev/nbd0 (kernel NBD front end) vs fio's nbd engine on the socket export, in the hostvm guest (root, ~6 min)
.PHONY: bench-local-disk
bench-local-disk: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/bench/local_disk.sh

## soak: chaos soak, random path faults and NBD client reconnects under verified fio (root; SOAK_MINUTES=10, SOAK_SEED=N replays)
soak: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/soak/soak.sh

# The systemd unit runs the daemon where this installs it: etc/mpiscsid.service names
# /usr/sbin/mpiscsid and is rewritten for $(PREFIX) on the way.
install: $(BINS)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man5 \
	           $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/doc/mpiscsi
	install -m 0755 $(BUILD)/bin/mpiscsid $(DESTDIR)$(PREFIX)/sbin/mpiscsid
	install -m 0755 $(BUILD)/bin/mpiscsiadm $(DESTDIR)$(PREFIX)/bin/mpiscsiadm
	for m in $(filter %.5,$(MAN)); do install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man5/; done
	for m in $(filter %.8,$(MAN)); do install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man8/; done
	install -m 0644 etc/mpiscsi.conf $(DESTDIR)$(PREFIX)/share/doc/mpiscsi/mpiscsi.conf.example
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system $(BUILD)/etc
	sed -e 's#/usr/sbin/mpiscsid#$(PREFIX)/sbin/mpiscsid#g' etc/mpiscsid.service > $(BUILD)/etc/mpiscsid.service
	install -m 0644 $(BUILD)/etc/mpiscsid.service $(DESTDIR)$(PREFIX)/lib/systemd/system/mpiscsid.service
	install -d $(DESTDIR)$(PREFIX)/lib/udev/rules.d
	install -m 0644 etc/99-mpiscsi.rules $(DESTDIR)$(PREFIX)/lib/udev/rules.d/99-mpiscsi.rules

clean:
	rm -rf build build-san

help:
	@grep -E '^## ' Makefile | sed 's/^## /  /'

## fuzz: libFuzzer targets for every parser that reads outside bytes (FUZZ_SECONDS=60 each)
## fuzz-check: run each fuzz target once over its committed corpus and past crashes (regressions)
include tests/fuzz/fuzz.mk
