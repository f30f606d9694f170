# SPDX-License-Identifier: GPL-2.0-only
# Peregrine: one Makefile for the monitor, its tools, the test guest and tests.
# `make` builds everything; `make check` runs the whole suite; `make demo` shows
# a guest running; `make check-asan` rebuilds with ASan/UBSan and runs the suite.

CC       ?= cc
BUILD    ?= build
PKGS     := jansson libxml-2.0
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wmissing-prototypes -Wstrict-prototypes \
            -Wformat=2 -Wundef -Wno-unused-parameter
CFLAGS   ?= -O2 -g
CFLAGS   += -DPGR_VERSION=\"0.1.0\" -std=gnu11 $(WARN) -MMD -MP -D_GNU_SOURCE -Iinclude -I. $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDLIBS   += $(PKG_LIBS) -lpthread $(EXTRA_LDFLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

# ---- host code -------------------------------------------------------------
LIB_SRC  := $(wildcard lib/*.c)
VMM_SRC  := $(filter-out vmm/main.c,$(wildcard vmm/*.c devices/*.c migration/*.c block/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
VMM_OBJ  := $(VMM_SRC:%.c=$(BUILD)/%.o)

BINS     := $(BUILD)/pgr-vmm $(BUILD)/pgr-migdump
UNIT_SRC := $(wildcard tests/unit/test-*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

GUEST    := $(BUILD)/guest/pgr-testguest.elf

# pgrd (daemon/) and pgr (cli/): built once their sources exist.
DAEMON_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard daemon/*.c))
CLI_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(wildcard cli/*.c))
ifneq ($(DAEMON_OBJ),)
BINS     += $(BUILD)/pgrd
endif
ifneq ($(CLI_OBJ),)
BINS     += $(BUILD)/pgr
endif

all: $(BINS) $(GUEST) $(UNIT_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libpgr.a: $(LIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/libvmm.a: $(VMM_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/pgr-vmm: $(BUILD)/vmm/main.o $(BUILD)/libvmm.a $(BUILD)/libpgr.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/pgr-migdump: $(BUILD)/tools/pgr-migdump.o $(BUILD)/libvmm.a $(BUILD)/libpgr.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/pgrd: $(DAEMON_OBJ) $(BUILD)/libpgr.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/pgr: $(CLI_OBJ) $(BUILD)/libpgr.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libvmm.a $(BUILD)/libpgr.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
# pgrd's own parts, tested alone
$(BUILD)/tests/test-pgrd-monitor: $(BUILD)/tests/unit/test-pgrd-monitor.o \
		$(BUILD)/daemon/monitor.o $(BUILD)/daemon/evloop.o $(BUILD)/libpgr.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# ---- the test guest: freestanding PVH ELF ----------------------------------
GUEST_SRC := $(wildcard tests/guest/*.c tests/guest/*.S)
GUEST_OBJ := $(patsubst tests/guest/%,$(BUILD)/guest/%.o,$(GUEST_SRC))
GUEST_CFLAGS := -std=gnu11 $(WARN) -O2 -g -ffreestanding -fno-pic -fno-pie \
        -fno-stack-protector -fno-builtin -mno-red-zone -mno-sse -mno-mmx \
        -mno-sse2 -mno-avx -mcmodel=kernel -m64 -nostdinc -Itests/guest -MMD -MP
$(BUILD)/guest/%.c.o: tests/guest/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GUESTCC $<")
	$(Q)$(CC) $(GUEST_CFLAGS) -c -o $@ $<
$(BUILD)/guest/%.S.o: tests/guest/%.S
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GUESTAS $<")
	$(Q)$(CC) $(GUEST_CFLAGS) -D__ASSEMBLY__ -c -o $@ $<
$(GUEST): $(GUEST_OBJ) tests/guest/guest.ld
	@$(if $(Q),echo "  GUESTLD $@")
	$(Q)$(CC) -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,max-page-size=4096 \
		-T tests/guest/guest.ld -o $@ $(GUEST_OBJ)

# ---- fuzzing (clang/libFuzzer) ---------------------------------------------
FUZZ_SRC := $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 30
FUZZ_FLAGS := -DPGR_VERSION=\"0.1.0\" -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude -I. $(PKG_CFLAGS)
$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_SRC) $(VMM_SRC)
	@mkdir -p $(dir $@)
	$(Q)clang $(FUZZ_FLAGS) -o $@ $< $(filter-out $<,$^) $(LDLIBS)
$(BUILD)/fuzz/fuzz-pgrdconf: daemon/config.c
fuzz: $(FUZZ_BIN)
	$(Q)for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p $(BUILD)/fuzz/corpus-$$n; \
		$$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 $(BUILD)/fuzz/corpus-$$n tests/fuzz/seeds/$$n || exit 1; done

# ---- set-up, tests, demo ---------------------------------------------------
deps:
	$(Q)scripts/install-deps.sh

check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) tests/run.sh

check-asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan \
		EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -O1" \
		EXTRA_LDFLAGS="-fsanitize=address,undefined" all
	$(Q)BUILD=build-asan ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 tests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) scripts/demo.sh

clean:
	rm -rf $(BUILD) build-asan

.PHONY: all deps check check-asan demo clean fuzz
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
