# recall - message recall inside the mail transfer path.
#
#   make            build build/bin/recall-milter, recalld, recallctl
#   make deps       install the Debian packages the build, tests and demo need
#   make check      deps + build + every test suite; ends with "N passed, N failed"
#   make demo       deps + build + a real recall on a private lab, end to end
#   make install    PREFIX=/usr/local DESTDIR=
#   make bench      the benchmarks under bench/

CC       ?= cc
CLANG    ?= clang
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build

WARN     = -Wall -Wextra -Wformat=2 -Werror
PQ_INC  := $(shell pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)
CPPFLAGS = -D_GNU_SOURCE -Ilib $(PQ_INC)
CFLAGS   = -std=c17 -O2 -g $(WARN) -fstack-protector-strong -D_FORTIFY_SOURCE=2
SANFLAGS = -std=c17 -O1 -g $(WARN) -fno-omit-frame-pointer \
           -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDLIBS_LIB = -lconfig -lpq -lcrypto -lpthread

LIB_SRC      := $(wildcard lib/*.c)
MILTER_SRC   := $(wildcard milter/*.c)
RECALLD_SRC  := $(filter-out recalld/recallctl%.c,$(wildcard recalld/*.c))
RECALLCTL_SRC:= $(wildcard recalld/recallctl*.c)
UNIT_SRC     := $(wildcard tests/unit/test_*.c)
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(1)/obj/%.o,$(2))

LIB_OBJ       = $(call obj,$(BUILD),$(LIB_SRC))
MILTER_OBJ    = $(call obj,$(BUILD),$(MILTER_SRC))
RECALLD_OBJ   = $(call obj,$(BUILD),$(RECALLD_SRC))
RECALLCTL_OBJ = $(call obj,$(BUILD),$(RECALLCTL_SRC))

PROGS = $(BUILD)/bin/recall-milter $(BUILD)/bin/recalld $(BUILD)/bin/recallctl
# The same programs under ASan and UBSan, for the "sanitized" tests.
ASAN_PROGS = $(BUILD)/asan/bin/recall-milter $(BUILD)/asan/bin/recalld \
	$(BUILD)/asan/bin/recallctl

.PHONY: all deps check unit demo install clean bench fuzz asan-progs
all: $(PROGS)

$(BUILD)/obj/%.o: %.c $(wildcard lib/*.h milter/*.h recalld/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/asan/obj/%.o: %.c $(wildcard lib/*.h milter/*.h recalld/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit $(TEST_INC) $(SANFLAGS) -c -o $@ $<

$(BUILD)/lib/librecall.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/asan/lib/librecall.a: $(call obj,$(BUILD)/asan,$(LIB_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/recall-milter: $(MILTER_OBJ) $(BUILD)/lib/librecall.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ -lmilter -ljansson $(LDLIBS_LIB)

$(BUILD)/bin/recalld: $(RECALLD_OBJ) $(BUILD)/lib/librecall.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ -lcurl -ljansson $(LDLIBS_LIB)

$(BUILD)/bin/recallctl: $(RECALLCTL_OBJ) $(BUILD)/lib/librecall.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ -ljansson $(LDLIBS_LIB)

asan-progs: $(ASAN_PROGS)

$(BUILD)/asan/bin/recall-milter: $(call obj,$(BUILD)/asan,$(MILTER_SRC)) $(BUILD)/asan/lib/librecall.a
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) -o $@ $^ -lmilter -ljansson $(LDLIBS_LIB)

$(BUILD)/asan/bin/recalld: $(call obj,$(BUILD)/asan,$(RECALLD_SRC)) $(BUILD)/asan/lib/librecall.a
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) -o $@ $^ -lcurl -ljansson $(LDLIBS_LIB)

$(BUILD)/asan/bin/recallctl: $(call obj,$(BUILD)/asan,$(RECALLCTL_SRC)) $(BUILD)/asan/lib/librecall.a
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) -o $@ $^ -ljansson $(LDLIBS_LIB)

# Unit tests.  test_milter_*.c link the milter's objects (not main.c) with
# tests/unit/fake_libmilter.c instead of libmilter; test_recalld_*.c link the
# daemon's objects (not main.c); the others link the shared library only.
unit_objs = $(if $(filter test_milter_%,$(1)),$(filter-out %/milter/main.o,$(call obj,$(2),$(MILTER_SRC))) $(2)/obj/tests/unit/fake_libmilter.o,)$(if $(filter test_recalld_%,$(1)),$(filter-out %/recalld/main.o,$(call obj,$(2),$(RECALLD_SRC))),)$(if $(filter test_recallctl_%,$(1)),$(filter-out %/recalld/recallctl.o,$(call obj,$(2),$(RECALLCTL_SRC))),)
unit_libs = $(if $(filter test_recalld_%,$(1)),-lcurl -ljansson,) -ljansson

UNIT_BIN  = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
ASAN_BIN  = $(patsubst tests/unit/%.c,$(BUILD)/asan/tests/%,$(UNIT_SRC))

.SECONDEXPANSION:
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $$(call unit_objs,$$*,$(BUILD)) $(BUILD)/lib/librecall.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(call unit_libs,$*) $(LDLIBS_LIB)

$(BUILD)/asan/tests/%: $(BUILD)/asan/obj/tests/unit/%.o $$(call unit_objs,$$*,$(BUILD)/asan) $(BUILD)/asan/lib/librecall.a
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) -o $@ $^ $(call unit_libs,$*) $(LDLIBS_LIB)

$(BUILD)/obj/tests/unit/%.o: tests/unit/%.c $(wildcard lib/*.h milter/*.h recalld/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit $(TEST_INC) $(CFLAGS) -c -o $@ $<

# Tests of a program's modules see that program's headers.
$(BUILD)/obj/tests/unit/test_milter_%.o $(BUILD)/asan/obj/tests/unit/test_milter_%.o: TEST_INC = -Imilter
$(BUILD)/obj/tests/unit/fake_libmilter.o $(BUILD)/asan/obj/tests/unit/fake_libmilter.o: TEST_INC = -Imilter
$(BUILD)/obj/tests/unit/test_recalld_%.o $(BUILD)/asan/obj/tests/unit/test_recalld_%.o: TEST_INC = -Irecalld
$(BUILD)/obj/tests/unit/test_recallctl_%.o $(BUILD)/asan/obj/tests/unit/test_recallctl_%.o: TEST_INC = -Irecalld

unit: $(UNIT_BIN) $(ASAN_BIN)

# Fuzz targets (clang libFuzzer), built from the sources directly.
FUZZ_BIN = $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_SRC) $(MILTER_SRC) $(RECALLD_SRC) $(wildcard lib/*.h milter/*.h recalld/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(CPPFLAGS) -Irecalld -std=c17 -g -O1 $(WARN) -fsanitize=fuzzer,address,undefined \
	    -o $@ $< $(shell sed -n 's/^.*FUZZ_SOURCES: *//p' $<) $(LDLIBS_LIB) -ljansson
fuzz: $(FUZZ_BIN)

deps:
	@sh scripts/deps.sh

check: deps
	@$(MAKE) --no-print-directory all unit fuzz asan-progs
	@bash tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@bash tests/demo.sh

bench: all
	@bash bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
	    $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/recall
	install -m 755 $(BUILD)/bin/recall-milter $(BUILD)/bin/recalld $(DESTDIR)$(PREFIX)/sbin
	install -m 755 $(BUILD)/bin/recallctl $(DESTDIR)$(PREFIX)/bin
	for f in docs/*.1; do [ -e "$$f" ] && install -m 644 $$f $(DESTDIR)$(PREFIX)/share/man/man1; done; true
	for f in docs/*.5; do [ -e "$$f" ] && install -m 644 $$f $(DESTDIR)$(PREFIX)/share/man/man5; done; true
	for f in docs/*.8; do [ -e "$$f" ] && install -m 644 $$f $(DESTDIR)$(PREFIX)/share/man/man8; done; true
	cp -R schema $(DESTDIR)$(PREFIX)/share/recall/
	install -m 644 etc/recall.conf.example etc/systemd/*.service \
	    $(DESTDIR)$(PREFIX)/share/recall/

clean:
	rm -rf $(BUILD)
