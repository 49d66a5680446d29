# kiln: `make` builds build/kiln; `make test` runs every test under prove.
# `make CUDA=0` builds without the CUDA Toolkit (GPU steps are then an ERROR
# where NVIDIA GPUs are on the bus); CUDA_HOME picks a toolkit (12.0 or newer).

# `make install` puts kiln under PREFIX (and DESTDIR, for a package); with
# PREFIX=/usr the settings go to /etc and the systemd unit to
# /lib/systemd/system (Debian 12's layout, where dh_installsystemd looks),
# otherwise both under PREFIX.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
SYSTEMDUNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
CC ?= cc
BUILD ?= build

CUDA_HOME ?= /usr/local/cuda
NVCC ?= $(CUDA_HOME)/bin/nvcc
# CUDA=1 requires nvcc; unset, it is used when found.
ifeq ($(origin CUDA),undefined)
  CUDA := $(if $(wildcard $(NVCC)),1,0)
endif
CUDA_FOUND := $(if $(wildcard $(NVCC)),1,0)

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

# Goals that build nothing need no CUDA and say nothing about it.
QUIET_GOALS := clean format format-check man
BUILDING := $(if $(MAKECMDGOALS),$(filter-out $(QUIET_GOALS),$(MAKECMDGOALS)),all)

ifeq ($(BUILDING),)
  # nothing to build
else ifeq ($(CUDA),1)
  ifeq ($(CUDA_FOUND),0)
    $(error kiln: CUDA=1 but nvcc is not at $(NVCC): make CUDA_HOME=<the toolkit's directory>, or CUDA=0)
  endif
  # The toolkit's release ("release 13.0," -> 13 0). The C side gets it as
  # CUDART_VERSION's form (13000): it names the runtime and the driver it
  # needs without linking CUDA; a .cu file checks it against CUDART_VERSION.
  CUDA_RELEASE := $(shell $(NVCC) --version 2>/dev/null | sed -n 's/.*release \([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p')
  CUDA_MAJOR := $(word 1,$(CUDA_RELEASE))
  CUDA_MINOR := $(word 2,$(CUDA_RELEASE))
  ifeq ($(CUDA_MAJOR),)
    $(error kiln: cannot read the CUDA release from `$(NVCC) --version`: make CUDA_HOME=<a CUDA Toolkit 12.0 or newer>, or CUDA=0)
  endif
  ifeq ($(shell test $(CUDA_MAJOR) -ge 12 && echo yes),)
    $(error kiln: CUDA $(CUDA_MAJOR).$(CUDA_MINOR) at $(CUDA_HOME) is too old: kiln needs CUDA Toolkit 12.0 or newer (make CUDA_HOME=<its directory>, or CUDA=0))
  endif
  KILN_CUDA_VERSION := $(shell expr $(CUDA_MAJOR) \* 1000 + $(CUDA_MINOR) \* 10)
  # The oldest driver branch the runtime needs; src/hw/gpu_access.c's
  # kiln_cuda_min_driver() says the same to `kiln version`.
  CUDA_MIN_DRIVER := $(if $(filter 12,$(CUDA_MAJOR)),525,$(if $(filter 13,$(CUDA_MAJOR)),580))
  # sm_80 and sm_90 always (12.0 has both); the newer archs where this
  # nvcc lists them; PTX of the newest for GPUs newer still.
  NVCC_KNOWN_ARCHS := $(shell $(NVCC) --list-gpu-arch 2>/dev/null)
  CUDA_SMS := 80 90 $(foreach a,100 120,$(if $(filter compute_$(a),$(NVCC_KNOWN_ARCHS)),$(a)))
  CUDA_PTX := $(lastword $(CUDA_SMS))
  NVCC_ARCH ?= $(foreach a,$(CUDA_SMS),-gencode arch=compute_$(a),code=sm_$(a)) \
               -gencode arch=compute_$(CUDA_PTX),code=compute_$(CUDA_PTX)
  CU_SRC := $(wildcard stress/*.cu)
  CU_OBJ = $(patsubst %.cu,$(OBJDIR)/%.cu.o,$(CU_SRC))
  # Static CUDA runtime: the binary runs on machines without the toolkit.
  CUDA_LIBS := -L$(CUDA_HOME)/lib64 -lcudart_static -lrt -ldl -lstdc++
  CUDA_SAYS := kiln: CUDA $(CUDA_MAJOR).$(CUDA_MINOR) at $(CUDA_HOME): GPU modules built for $(patsubst %,sm_%,$(CUDA_SMS)) + PTX; needs NVIDIA driver $(or $(CUDA_MIN_DRIVER),<see CUDA $(CUDA_MAJOR)'s release notes>) or newer
else ifeq ($(CUDA_FOUND),1)
  CUDA_SAYS := kiln: built without CUDA (CUDA=0; nvcc is at $(NVCC)): GPU steps will be an ERROR on machines with NVIDIA GPUs
else
  CUDA_SAYS := kiln: no CUDA Toolkit (nvcc not at $(NVCC); set CUDA_HOME): GPU steps will be an ERROR on machines with NVIDIA GPUs; make CUDA_HOME=<the toolkit's directory>
endif
KILN_CUDA_VERSION ?= 0

# Said once per make invocation: not by sub-makes, not for clean/format.
ifeq ($(MAKELEVEL),0)
  ifneq ($(CUDA_SAYS),)
    $(info $(CUDA_SAYS))
  endif
endif

# Objects per CUDA setting and release, so `make CUDA=0` or another
# CUDA_HOME never links objects built for a different runtime.
OBJDIR = $(BUILD)/obj-cuda$(KILN_CUDA_VERSION)

PKGS := inih jansson yajl libxml-2.0 libpci ncursesw sqlite3 libpq libmicrohttpd \
        libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wno-unused-parameter -Wformat=2
# CFLAGS, CPPFLAGS and LDFLAGS are the builder's (dpkg-buildflags' hardening
# in the package).
CFLAGS ?= -O2 -g
KILN_CFLAGS := -std=c11 -D_GNU_SOURCE -Iinclude -Isrc $(WARN) $(PKG_CFLAGS) \
               -DKILN_VERSION='"$(VERSION)"' -pthread
LDLIBS := $(PKG_LIBS) -lcsv -lsensors -ldl -lpthread -lm -lipmimonitoring -lfreeipmi

HEADERS := $(wildcard include/kiln/*.h src/*/*.h stress/*.h reports/*.h)
# The library: every layer but the command line (src/cli/), which is the
# program; unit tests and benchmarks link the library alone.
CLI_SRC := $(wildcard src/cli/*.c)
LIB_SRC := $(filter-out $(CLI_SRC),$(wildcard src/*/*.c)) \
           $(wildcard reports/*.c) $(wildcard stress/*.c)
PROFILES := $(wildcard profiles/*.ini)
SKUS := $(wildcard profiles/sku/*.ini)
GEN_PROFILES := $(BUILD)/gen/builtin_profiles.c
GEN_SKUS := $(BUILD)/gen/builtin_skus.c

OBJ := $(patsubst %.c,$(OBJDIR)/%.o,$(LIB_SRC)) $(OBJDIR)/gen/builtin_profiles.o \
       $(OBJDIR)/gen/builtin_skus.o

# Unit tests link a sanitized copy of the library (no CUDA: host logic only).
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_OBJ := $(patsubst %.c,$(BUILD)/san/%.o,$(LIB_SRC)) $(BUILD)/san/gen/builtin_profiles.o \
           $(BUILD)/san/gen/builtin_skus.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
UNIT_HELPERS := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))

# Keep every object: the sanitized ones are intermediate for make.
.SECONDARY:
.PHONY: FORCE all test check unit e2e bench bench-build man install clean format format-check
all: $(BUILD)/kiln

$(BUILD)/kiln: $(patsubst %.c,$(OBJDIR)/%.o,$(CLI_SRC)) $(OBJ) $(CU_OBJ) $(BUILD)/config
	$(CC) $(CFLAGS) $(LDFLAGS) -pthread -o $@ $(filter %.o,$^) $(LDLIBS) $(CUDA_LIBS)

# Relinks when the CUDA setting or toolkit changes.
BUILD_CONFIG := CUDA=$(CUDA) KILN_CUDA_VERSION=$(KILN_CUDA_VERSION) CUDA_HOME=$(CUDA_HOME)
$(BUILD)/config: FORCE
	@mkdir -p $(BUILD)
	@echo "$(BUILD_CONFIG)" | cmp -s - $@ || echo "$(BUILD_CONFIG)" > $@
FORCE:

$(OBJDIR)/%.o: %.c $(HEADERS) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(KILN_CFLAGS) $(CPPFLAGS) -DKILN_HAVE_CUDA=$(CUDA) \
	  -DKILN_CUDA_VERSION=$(KILN_CUDA_VERSION) $(CFLAGS) -c -o $@ $<

$(OBJDIR)/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(KILN_CFLAGS) $(CPPFLAGS) -DKILN_HAVE_CUDA=$(CUDA) $(CFLAGS) -c -o $@ $<

$(OBJDIR)/%.cu.o: %.cu $(HEADERS) Makefile
	@mkdir -p $(dir $@)
	$(NVCC) -std=c++17 -O3 -Iinclude -Isrc $(NVCC_ARCH) \
	  -DKILN_CUDA_VERSION=$(KILN_CUDA_VERSION) -c -o $@ $<

# Built-in profiles and GPU SKU files: each INI file becomes a C string.
$(GEN_PROFILES): $(PROFILES) scripts/embed-profiles.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-profiles.sh profile $(PROFILES) > $@.tmp && mv $@.tmp $@
$(GEN_SKUS): $(SKUS) scripts/embed-profiles.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-profiles.sh sku $(SKUS) > $@.tmp && mv $@.tmp $@

$(BUILD)/san/%.o: %.c $(HEADERS) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(KILN_CFLAGS) -DKILN_HAVE_CUDA=0 -O1 -g $(SAN) -c -o $@ $<

$(BUILD)/san/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(KILN_CFLAGS) -O1 -g $(SAN) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(UNIT_HELPERS) $(SAN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(KILN_CFLAGS) -DKILN_HAVE_CUDA=0 -Itests/unit -O1 -g $(SAN) -o $@ $< \
	  $(UNIT_HELPERS) $(SAN_OBJ) $(LDLIBS) -lcmocka

unit: $(UNIT_BIN)
# Every test runs through tests/unit/tap-skip.sh, which turns cmocka's
# skipped-test line ("not ok N # SKIP", a failure to prove) into TAP's
# "ok N # SKIP" and changes nothing else.
# ../shared beside the clone (or $KILN_SHARED) holds the validators, schemas
# and lspci captures the tests check against: said once here when absent,
# and each test skips exactly the checks that need it, by name.
test: all unit
	@shared=$${KILN_SHARED:-../shared}; missing=; \
	for f in tools/ocp-validate schemas/junit-10.xsd fixtures/pci; do \
	  [ -e "$$shared/$$f" ] || missing="$$missing $$shared/$$f"; done; \
	[ -z "$$missing" ] || echo "make test: not found:$$missing; the checks \
	against them are skipped by name (set KILN_SHARED to the directory \
	that has them)"
	prove --exec 'sh tests/unit/tap-skip.sh' $(PROVE_FLAGS) $(UNIT_BIN) \
	  tests/e2e/*.t
check: test format-check

# Man pages from their scdoc sources (docs/man/NAME.SECTION.scd); scdoc is
# needed only for these (tests/e2e/18-man.t builds and checks them).
MAN_SRC := $(wildcard docs/man/*.scd)
MAN_PAGES := $(patsubst docs/man/%.scd,$(BUILD)/man/%,$(MAN_SRC))
man: $(MAN_PAGES)
$(BUILD)/man/%: docs/man/%.scd
	@mkdir -p $(dir $@)
	scdoc < $< > $@.tmp && mv $@.tmp $@

# Bench drivers (tests/bench/*_bench.c) link the optimised library.
BENCH_SRC := $(wildcard tests/bench/*_bench.c)
BENCH_BIN := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
# line_bench's simulated DUTs post through libcurl.
BENCH_LIBS := $(shell pkg-config --libs libcurl 2>/dev/null)
$(BUILD)/bench/%: tests/bench/%.c $(OBJ) $(CU_OBJ) $(BUILD)/config
	@mkdir -p $(dir $@)
	$(CC) $(KILN_CFLAGS) -DKILN_HAVE_CUDA=$(CUDA) $(CFLAGS) -o $@ $< \
	  $(OBJ) $(CU_OBJ) $(LDLIBS) $(BENCH_LIBS) $(CUDA_LIBS)

# bench-build: the bench drivers alone, e.g. to carry build/ to a GPU machine
# (scripts/gpu-proof.sh runs them there).
bench-build: all $(BENCH_BIN)
bench: bench-build
	sh tests/bench/run.sh

# The station's files carry the paths they are installed with. An existing
# $(SYSCONFDIR)/default/kiln is the station's settings: kept.
install: all $(MAN_PAGES)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/kiln/profiles/sku
	install -m 755 $(BUILD)/kiln $(DESTDIR)$(BINDIR)/kiln
	install -m 644 $(PROFILES) $(DESTDIR)$(DATADIR)/kiln/profiles/
	install -m 644 $(SKUS) $(DESTDIR)$(DATADIR)/kiln/profiles/sku/
	for page in $(MAN_PAGES); do \
	  dir=$(DESTDIR)$(MANDIR)/man$${page##*.}; \
	  install -d $$dir && install -m 644 $$page $$dir/ || exit 1; \
	done
	$(if $(wildcard scripts/completion/kiln),install -D -m 644 scripts/completion/kiln \
	  $(DESTDIR)$(BASHCOMPDIR)/kiln)
	install -d $(DESTDIR)$(LIBEXECDIR)/kiln $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|^kiln=/usr/bin/kiln$$|kiln=$(BINDIR)/kiln|' scripts/systemd/kiln-burnin \
	  > $(DESTDIR)$(LIBEXECDIR)/kiln/kiln-burnin
	chmod 755 $(DESTDIR)$(LIBEXECDIR)/kiln/kiln-burnin
	sed -e 's|/usr/libexec/kiln/|$(LIBEXECDIR)/kiln/|' \
	  -e 's|/etc/default/kiln|$(SYSCONFDIR)/default/kiln|g' \
	  scripts/systemd/kiln-burnin.service > $(DESTDIR)$(SYSTEMDUNITDIR)/kiln-burnin.service
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/kiln-burnin.service
	if [ -e $(DESTDIR)$(SYSCONFDIR)/default/kiln ]; then \
	  echo "kiln: kept $(DESTDIR)$(SYSCONFDIR)/default/kiln (the station's settings)"; \
	else \
	  install -D -m 644 scripts/systemd/kiln.default $(DESTDIR)$(SYSCONFDIR)/default/kiln; \
	fi

FORMAT_SRC = $(wildcard src/*/*.c src/*/*.h reports/*.c reports/*.h stress/*.h stress/*.c stress/*.cu include/kiln/*.h tests/unit/*.c tests/unit/*.h tests/bench/*.c)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

clean:
	rm -rf $(BUILD)
