# SPDX-License-Identifier: GPL-2.0-or-later
#
# make            build everything (build/<cc>[-san][-cov]/)
# make run        build, then run the bundled demo/scenarios on the simulator
# make check      build, then run every unit test and the pytest suite
# make check SAN=1   the same with AddressSanitizer + UndefinedBehaviorSanitizer
# make coverage   check with gcov, then an lcov HTML report and a summary
# make CC=clang   any of the above with clang
# make clean

CC ?= cc
SAN ?=
COV ?=
V ?=

variant := $(notdir $(CC))$(if $(SAN),-san)$(if $(COV),-cov)
B := build/$(variant)

WARN := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
CPPFLAGS += -I. -D_GNU_SOURCE
BASE_CFLAGS := -std=c11 $(WARN) -g -O2 -MD -MP
CFLAGS := $(BASE_CFLAGS)
LDLIBS := -lpthread
ifneq ($(SAN),)
CFLAGS := $(filter-out -O2,$(CFLAGS)) -O1 -fsanitize=address,undefined \
	-fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ifneq ($(COV),)
CFLAGS := $(filter-out -O2,$(CFLAGS)) -O0 --coverage
LDFLAGS += --coverage
endif

ifeq ($(V),)
Q := @
say = @printf '  %-7s %s\n' $(1) $(2);
else
Q :=
say :=
endif

COMMON_SRCS := $(wildcard common/*.c)
SIM_SRCS := $(wildcard sim/*.c)
SIM_TOOLS := $(patsubst sim/tools/%.c,$(B)/bin/%,$(wildcard sim/tools/*.c))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_HELPERS := $(filter-out tests/unit/test_%,$(wildcard tests/unit/*.c))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRCS))

LIBCOMMON := $(B)/libcommon.a
LIBSIM := $(B)/libsim.a
LIBHARNESS := $(B)/libharness.a

# ---- fakevfio (the fake kernel): library, daemon/launcher binary ----
FAKEVFIO_SRCS := $(filter-out fakevfio/main.c,$(wildcard fakevfio/*.c))
LIBFAKEVFIO := $(B)/libfakevfio.a
FUSE_CFLAGS := $(shell pkg-config --cflags fuse3 2>/dev/null)
FUSE_LIBS := $(shell pkg-config --libs fuse3 2>/dev/null)
FAKEVFIO_LIBS := $(FUSE_LIBS) -lseccomp

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

.PHONY: all run check unit pytest coverage clean deps help bench
# Keep objects of pattern-built programs (no needless rebuilds).
.SECONDARY:
all: $(LIBCOMMON) $(LIBSIM) $(SIM_TOOLS) $(LIBFAKEVFIO)

help:
	@sed -n '3,11p' Makefile | sed 's/^# \{0,1\}//'

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBCOMMON): $(call obj,$(COMMON_SRCS))
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

$(LIBSIM): $(call obj,$(SIM_SRCS))
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

$(B)/obj/fakevfio/%.o: CPPFLAGS += $(FUSE_CFLAGS)

$(LIBFAKEVFIO): $(call obj,$(FAKEVFIO_SRCS))
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

# ---- core (the passthrough core: core/*.c -> libcore.a) --------------------
# Every unit test links it (see the tests rule: $(LIBCORE) before $(LIBFAKEVFIO)).
CORE_SRCS := $(wildcard core/*.c)
LIBCORE := $(B)/libcore.a

$(LIBCORE): $(call obj,$(CORE_SRCS))
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

all: $(LIBCORE)

# vfc-realize: realize a vfio-pci device in a fresh machine (core/tools/).
VFC_REALIZE := $(B)/bin/vfc-realize
$(VFC_REALIZE): $(B)/obj/core/tools/vfc-realize.o $(LIBCORE) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $< $(LIBCORE) $(LIBCOMMON) $(LDLIBS)
all: $(VFC_REALIZE)
# ---- end of core -----------------------------------------------------------

$(B)/bin/%: $(B)/obj/sim/tools/%.o $(LIBSIM) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $< $(LIBSIM) $(LIBCOMMON) $(LDLIBS)

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(call obj,$(UNIT_HELPERS)) $(LIBHARNESS) $(LIBCORE) $(LIBFAKEVFIO) $(LIBSIM) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $< $(call obj,$(UNIT_HELPERS)) \
		$(LIBHARNESS) $(LIBCORE) $(LIBFAKEVFIO) $(LIBSIM) $(LIBCOMMON) -lcmocka $(FAKEVFIO_LIBS) $(LDLIBS)

# ---- fakevfio: the FUSE-backed fake kernel (fakevfio/) --------------------
# The binary: fakevfio/main.c on libfakevfio.a (defined above), libfuse3.
FAKEVFIO := $(B)/bin/fakevfio

$(FAKEVFIO): $(B)/obj/fakevfio/main.o $(LIBFAKEVFIO) $(LIBSIM) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $< $(LIBFAKEVFIO) $(LIBSIM) \
		$(LIBCOMMON) $(FAKEVFIO_LIBS) $(LDLIBS)
all: $(FAKEVFIO)

# Test clients (tests/clients/*.c -> bin/tests/<name>): libc only and no
# sanitizers, so that they run on real VFIO too; vfio-probe also static when
# the toolchain has libc.a.
CLIENT_SRCS := $(wildcard tests/clients/*.c)
CLIENTS := $(patsubst tests/clients/%.c,$(B)/bin/tests/%,$(CLIENT_SRCS))
CLIENT_CFLAGS := $(BASE_CFLAGS)

$(B)/bin/tests/%: tests/clients/%.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(CPPFLAGS) $(CLIENT_CFLAGS) -o $@ $<

ifneq ($(and $(wildcard tests/clients/vfio-probe.c),$(wildcard $(shell $(CC) -print-file-name=libc.a))),)
CLIENTS += $(B)/bin/tests/vfio-probe-static
$(B)/bin/tests/vfio-probe-static: tests/clients/vfio-probe.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(CPPFLAGS) $(CLIENT_CFLAGS) -static -o $@ $<
endif
all: $(CLIENTS)
# ---- end of fakevfio -------------------------------------------------------

# ---- harness (the scenario runner: harness/*.c -> libharness.a, vfio-harness)
# harness/gen-symbols.py writes the symbol table of the scenario language
# (every integer macro of <linux/pci_regs.h> and <linux/vfio.h>, errno names)
# from the installed headers, with this compiler.
HARNESS_SRCS := $(filter-out harness/main.c,$(wildcard harness/*.c))
HARNESS_GEN := $(B)/gen/harness/symbols.c
VFIO_HARNESS := $(B)/bin/vfio-harness

$(HARNESS_GEN): harness/gen-symbols.py
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)/usr/bin/python3 harness/gen-symbols.py $(CC) $@

$(B)/obj/gen/harness/symbols.o: $(HARNESS_GEN)
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBHARNESS): $(call obj,$(HARNESS_SRCS)) $(B)/obj/gen/harness/symbols.o
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

$(VFIO_HARNESS): $(B)/obj/harness/main.o $(LIBHARNESS) $(LIBCORE) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $< $(LIBHARNESS) $(LIBCORE) $(LIBCOMMON) $(LDLIBS)
all: $(VFIO_HARNESS)

# The parser's mutation fuzzer (tests/fuzz/fuzz-scn.c; run by
# tests/py/test_harness_exec.py, or by hand: fuzz-scn -n 300000 scenarios/).
FUZZ_SCN := $(B)/bin/fuzz-scn
$(FUZZ_SCN): $(B)/obj/tests/fuzz/fuzz-scn.o $(LIBHARNESS) $(LIBCORE) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $< $(LIBHARNESS) $(LIBCORE) $(LIBCOMMON) $(LDLIBS)
all: $(FUZZ_SCN)
# ---- end of harness --------------------------------------------------------

# ---- bench (benchmarks: timing lives here, never in tests) ----
BENCH_BINS := $(B)/bin/bench/vfio-bench $(B)/bin/bench/null-fuse
$(B)/obj/bench/%.o: CPPFLAGS += $(FUSE_CFLAGS)
$(B)/bin/bench/%: $(B)/obj/bench/%.o
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $< $(FUSE_LIBS) $(LDLIBS)
# tce-bench drives the core (guest hypercalls -> MAP_DMA): it links libcore.
BENCH_BINS += $(B)/bin/bench/tce-bench
$(B)/bin/bench/tce-bench: $(B)/obj/bench/tce-bench.o $(LIBCORE) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $< $(LIBCORE) $(LIBCOMMON) $(LDLIBS)
all: $(BENCH_BINS)

bench: deps all
	$(Q)bench/run-fakevfio-bench $(B)
	$(Q)bench/run-tce-bench $(B)
	$(Q)bench/run-harness-bench $(B)

deps:
	$(Q)scripts/install-deps

# The bundled scenario suite on the simulator, plus a scenario generated
# from a real PCI device of this machine (skipped, with the reason, when
# there is none).
run: deps all
	$(Q)rm -rf $(B)/captured
	$(Q)VFIOSIM_BUILD=$(CURDIR)/$(B) scripts/gen-captured-scenario $(B)/captured
	$(Q)$(B)/bin/vfio-harness run -j2 scenarios/ $$(ls $(B)/captured/captured.scn 2>/dev/null)

# Every unit test runs even when one fails; the target fails if any did.
unit: deps all $(UNIT_TESTS)
	$(Q)fail=0; for t in $(UNIT_TESTS); do \
		echo "== $$t"; \
		(cd tests/unit && $(CURDIR)/$$t) || fail=1; \
	done; exit $$fail

pytest: deps all
	$(Q)VFIOSIM_BUILD=$(CURDIR)/$(B) /usr/bin/python3 -m pytest -q tests/py

check: unit pytest

coverage:
	$(Q)$(MAKE) --no-print-directory check COV=1
	$(Q)scripts/coverage-report build/$(notdir $(CC))-cov build/coverage

clean:
	rm -rf build

-include $(shell find $(B) -name '*.d' 2>/dev/null)
