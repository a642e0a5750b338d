# libFuzzer targets for every parser that reads bytes from outside (included from the top-level Makefile).
#
#   make fuzz-build            build build/fuzz/fuzz_<name> for every target
#   make fuzz                  build, then fuzz each target for FUZZ_SECONDS (default 60) on a copy
#                              of its corpus; fails if any target crashes or breaks an invariant
#   make fuzz-check            run each target once over its committed corpus and crashes/ (seconds)
#   make fuzz FUZZ_TARGETS=nbd FUZZ_SECONDS=600    one target, longer
#
# Needs clang 14 with libFuzzer (Debian: clang libfuzzer-14-dev libclang-rt-14-dev). The project's
# sources are compiled again here with clang and coverage instrumentation: the gcc-built archive in
# build/ can not be linked into a libFuzzer binary.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD   ?= build/fuzz
FUZZ_TARGETS ?= nbd config conf_url ctl scsi sense portal linkmon rtpg secrets psk pdu_guard report_luns

FUZZ_PKGS    := libiscsi libnl-3.0 libnl-route-3.0 libnl-genl-3.0 openssl json-c
FUZZ_PKG_CFLAGS := $(shell pkg-config --cflags $(FUZZ_PKGS) 2>/dev/null)
FUZZ_PKG_LIBS   := $(shell pkg-config --libs $(FUZZ_PKGS) 2>/dev/null) -lev
FUZZ_WARN    := -Wall -Wextra -Wshadow -Wvla -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes \
                -Wpointer-arith -Wundef -Wno-strict-aliasing
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=gnu11 -O1 -g -D_GNU_SOURCE -I. $(FUZZ_PKG_CFLAGS) $(FUZZ_SAN)

# The library, instrumented. -Werror is left off for it: its warnings are gcc's business
# (clang 14 warns about a glibc netlink macro in initiator/linkmon.c).
FUZZ_LIB_SRC := $(LIB_SRC)
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_LIB     := $(FUZZ_BUILD)/libmpiscsi-fuzz.a
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

.PHONY: fuzz fuzz-build fuzz-check

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_WARN) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

# The targets themselves build with -Werror.
$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h tests/fuzz/fuzz_conf_check.h $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_WARN) -Werror -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(FUZZ_PKG_LIBS)

-include $(FUZZ_LIB_OBJ:.o=.d)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_TARGETS)

fuzz-check: fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_CHECK_ONLY=1 tests/fuzz/run.sh $(FUZZ_TARGETS)
