# sandprobe: one non-recursive Makefile. Objects go to build/<variant>/ so variants never mix.
#   make            build build/release/sandprobe
#   make test       unit tests, conformance suites on the mocks, official-SDK fidelity tests
#   make asan       the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz       every libFuzzer target (clang) for FUZZ_SECONDS each; make fuzz-replay
#                   (part of make test) runs each target's checked-in corpus once, with gcc
#   make tsan       the event-driver and mock tests under ThreadSanitizer (clang)
#   make bench      benchmarks (figures printed, nothing asserted)
#   make install PREFIX=/usr/local | make clean | make format | make format-check | make lint

CC       ?= gcc
VARIANT  ?= release
PREFIX   ?= /usr/local
BUILD    := build/$(VARIANT)
PKGS     := libcurl libcjson libmicrohttpd zlib libprotobuf-c libnghttp2 gnutls

WARN := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wold-style-definition -Wformat=2 -Wcast-qual -Wwrite-strings -Wvla -Wundef \
        -Wpointer-arith -Wimplicit-fallthrough

# The clang variants (fuzz, tsan): the option tables (harness/cmd_*.c) leave a trailing
# member out of positional initialisers, which C zero-fills and gcc accepts; clang's
# -Wmissing-field-initializers would stop `make fuzz` and `make tsan` there. And protoc-c's
# MESSAGE__INIT macros cast protobuf_c_empty_string's const away and fill Modal's deprecated
# fields: gcc keeps quiet about macros from a system header (-isystem $(GEN)), clang warns
# where they expand, in our code. The gcc variants (release, asan) still hold our own code to
# -Wcast-qual and -Wdeprecated-declarations.
CLANG_WARN := -Wno-missing-field-initializers -Wno-cast-qual -Wno-deprecated-declarations

ifeq ($(VARIANT),asan)
OPT := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else ifeq ($(VARIANT),fuzz)
OPT := -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
       -fno-omit-frame-pointer $(CLANG_WARN)
else ifeq ($(VARIANT),tsan)
OPT := -O1 -fsanitize=thread -fno-omit-frame-pointer $(CLANG_WARN)
else
OPT := -O2
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

CFLAGS   := -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) -g $(OPT) -MMD -MP
# Generated protobuf-c code (Modal's protos, see proto/) comes in as a system directory: its
# headers are not ours to hold to the warning set.
GEN      := $(BUILD)/gen
CPPFLAGS := -Iproviders -Imocks -Iharness -Ireports -Isuites -isystem $(GEN) $(PKG_CFLAGS)
LDLIBS   := $(PKG_LIBS) -lpthread -lm

# Everything but the program's main and the test programs goes into one static library.
LIB_SRCS  := $(wildcard providers/*.c mocks/*.c reports/*.c suites/conformance/*.c) \
             $(filter-out harness/main.c,$(wildcard harness/*.c))
# Modal's protos: proto/rewrite.sh makes them acceptable to protoc-c 1.4.1, protoc-c makes C.
PROTO_NAMES := api task_command_router
GEN_C     := $(PROTO_NAMES:%=$(GEN)/modal_proto/%.pb-c.c) $(GEN)/google/protobuf/empty.pb-c.c
GEN_H     := $(GEN_C:.c=.h)
GEN_OBJS  := $(GEN_C:%.c=%.o)
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(GEN_OBJS)
LIB       := $(BUILD)/libsandprobe.a
BIN       := $(BUILD)/sandprobe
UNIT_SRCS := $(wildcard suites/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:suites/unit/%.c=$(BUILD)/tests/%)
CONF_BIN  := $(BUILD)/tests/conformance
FUZZ_NAMES := $(patsubst suites/fuzz/%.c,%,$(wildcard suites/fuzz/fuzz_*.c))
FUZZ_BINS  := $(FUZZ_NAMES:%=$(BUILD)/fuzz/%)
REPLAY_BINS := $(FUZZ_NAMES:%=$(BUILD)/fuzz-replay/%)
# What the targets share (fuzz.h): linked into each, with libFuzzer or with the replayer.
FUZZ_HELPERS := $(BUILD)/suites/fuzz/helpers.o
FUZZ_SECONDS ?= 20
# The tests ThreadSanitizer runs: the event driver and every mock (their servers are
# thread-per-connection).
TSAN_TESTS := $(filter $(BUILD)/tests/test_event_driver $(BUILD)/tests/test_client_threads \
                $(BUILD)/tests/test_mock_% \
                $(BUILD)/tests/test_store $(BUILD)/tests/test_shell_backend,$(UNIT_BINS))
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

ifeq ($(V),1)
Q :=
else
Q := @
endif

.PHONY: all test unit conformance sdk-test asan bench install clean format format-check lint setup \
        fuzz fuzz-run fuzz-replay fuzz-seeds tsan tsan-run
all: $(BIN)

# build/sandprobe: the release binary under the stable name the README uses.
ifeq ($(VARIANT),release)
all: build/sandprobe
build/sandprobe: $(BIN)
	$(Q)ln -sf release/sandprobe $@
endif

$(BUILD)/%.o: %.c | $(GEN_H)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(GEN)/modal_proto/%.proto: proto/modal_proto/%.proto proto/rewrite.sh
	$(Q)sh proto/rewrite.sh $< $@

$(GEN)/modal_proto/%.pb-c.c $(GEN)/modal_proto/%.pb-c.h: $(GEN)/modal_proto/%.proto
	@[ "$(V)" = 1 ] || echo "  PROTOC  $<"
	$(Q)cd $(GEN) && protoc-c -I. -I/usr/include --c_out=. modal_proto/$*.proto 2>&1 | \
	    { grep -v 'is unused' >&2 || true; }; test -s modal_proto/$*.pb-c.c
$(GEN)/modal_proto/task_command_router.pb-c.c: $(GEN)/modal_proto/api.proto

$(GEN)/google/protobuf/empty.pb-c.c $(GEN)/google/protobuf/empty.pb-c.h:
	@mkdir -p $(GEN)
	$(Q)protoc-c -I/usr/include --c_out=$(GEN) google/protobuf/empty.proto

# Generated code builds without our warning set (it is not ours to fix).
$(GEN)/%.pb-c.o: $(GEN)/%.pb-c.c $(GEN_H)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) -std=c11 -g $(OPT) -I$(GEN) $(PKG_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@[ "$(V)" = 1 ] || echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(BUILD)/harness/main.o $(LIB)
	@[ "$(V)" = 1 ] || echo "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/suites/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(CMOCKA_LIBS)

$(CONF_BIN): $(BUILD)/suites/main.o $(LIB)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(CMOCKA_LIBS)

# A fuzz target linked with libFuzzer (VARIANT=fuzz, clang), or with the corpus replayer.
$(BUILD)/fuzz/%: $(BUILD)/suites/fuzz/%.o $(FUZZ_HELPERS) $(LIB)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

$(BUILD)/fuzz-replay/%: $(BUILD)/suites/fuzz/%.o $(BUILD)/suites/fuzz/replay.o $(FUZZ_HELPERS) \
                        $(LIB)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The Modal targets' seed corpora, from the project's own encoders (seeds_modal.c); they are
# checked in, so this runs only when an input format changes.
$(BUILD)/fuzz-seeds/%: $(BUILD)/suites/fuzz/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

fuzz-seeds: $(BUILD)/fuzz-seeds/seeds_modal
	@mkdir -p suites/fuzz/corpus/modal_client suites/fuzz/corpus/modal_mock \
	    suites/fuzz/corpus/h2server
	@$<

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

setup:
	@sh scripts/setup.sh --test

# Each test program runs on its own under a timeout; SP_TEST_TIMEOUT_MULTIPLIER scales it
# for sanitizer runs.
unit: $(UNIT_BINS) $(BIN)
	@sh scripts/run-tests.sh $(UNIT_BINS)

# One mock group per provider mode, each with the [Disruptive] fault requirements (stalls
# wait out client deadlines), all at once in child processes (they mostly wait): about 40 s
# in all, but the program gets 600 s where a unit program gets 120 s, for sanitizer builds.
conformance: $(CONF_BIN) $(BIN)
	@SP_TEST_TIMEOUT=$${SP_TEST_TIMEOUT:-600} sh scripts/run-tests.sh $(CONF_BIN)

sdk-test: $(BIN)
	@sh suites/sdk/run.sh $(BIN)

# Each fuzz target's corpus (suites/fuzz/corpus/<target>) once: seconds, and no clang.
fuzz-replay: $(REPLAY_BINS)
	@sh scripts/run-tests.sh $(REPLAY_BINS)

test: setup
	@$(MAKE) --no-print-directory unit conformance sdk-test fuzz-replay

asan:
	@sh scripts/setup.sh --test
	@$(MAKE) --no-print-directory VARIANT=asan SP_TEST_TIMEOUT_MULTIPLIER=3 unit conformance \
	    sdk-test fuzz-replay

# libFuzzer and ThreadSanitizer need clang; only these targets install it.
fuzz:
	@sh scripts/setup.sh --fuzz
	@$(MAKE) --no-print-directory VARIANT=fuzz CC=clang fuzz-run

fuzz-run: $(FUZZ_BINS)
	@sh scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

tsan:
	@sh scripts/setup.sh --fuzz
	@$(MAKE) --no-print-directory VARIANT=tsan CC=clang SP_TEST_TIMEOUT_MULTIPLIER=3 tsan-run

tsan-run: $(TSAN_TESTS) $(BIN)
	@TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 $(TSAN_OPTIONS)" \
	    sh scripts/run-tests.sh $(TSAN_TESTS)

bench:
	@sh scripts/setup.sh --bench
	@$(MAKE) --no-print-directory $(BIN) $(BENCH_BINS)
	@sh bench/run.sh $(BUILD)

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/sandprobe

clean:
	rm -rf build

# clang-format and cppcheck come with `sh scripts/setup.sh --dev`.
FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_SRCS)
format-check:
	clang-format --dry-run -Werror $(FORMAT_SRCS)

# The tracked sources only (the SDKs' node_modules under suites/sdk carry C++ of their own),
# and no system include directory (cppcheck would check glibc's headers).
BANNED := '\b(sprintf|vsprintf|strcpy|strcat|strncpy|strtok|gets|atoi|atol)\s*\('
lint:
	cppcheck --quiet --enable=warning,performance,portability --error-exitcode=1 \
	    --suppress=missingIncludeSystem $(filter-out -I/usr/include%,$(CPPFLAGS)) $(filter-out proto/%,$(FORMAT_SRCS))
	@! git grep -nE $(BANNED) -- '*.c' '*.h' || (echo "lint: banned function above" && false)

-include $(shell find build -name '*.d' 2>/dev/null)
.SECONDARY:
