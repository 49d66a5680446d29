# kiln: `make` builds build/kiln; `make test` runs every test under prove.
# `make CUDA=0` builds without the CUDA Toolkit (GPU modules then SKIP).

PREFIX ?= /usr/local
CC ?= cc
BUILD ?= build

CUDA_HOME ?= $(firstword $(wildcard /usr/local/cuda) /usr/local/cuda)
NVCC ?= $(CUDA_HOME)/bin/nvcc
# CUDA=1 requires nvcc; unset, it is used when found.
ifeq ($(origin CUDA),undefined)
  CUDA := $(if $(wildcard $(NVCC)),1,0)
endif

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

# Objects per CUDA setting, so `make CUDA=0` never links CUDA-built objects.
OBJDIR = $(BUILD)/obj-cuda$(CUDA)

PKGS := inih jansson libxml-2.0 libpci ncursesw
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wno-unused-parameter -Wformat=2
CFLAGS ?= -O2 -g
KILN_CFLAGS := -std=c11 -D_GNU_SOURCE -Iinclude $(WARN) $(PKG_CFLAGS) \
               -DKILN_VERSION='"$(VERSION)"' -pthread
LDLIBS := $(PKG_LIBS) -lsensors -ldl -lpthread -lm -lipmimonitoring -lfreeipmi

HEADERS := $(wildcard include/kiln/*.h stress/*.h reports/*.h)
LIB_SRC := $(filter-out src/main.c,$(wildcard src/*.c)) \
           $(wildcard reports/*.c) $(wildcard stress/*.c)
CU_SRC := $(wildcard stress/*.cu)
PROFILES := $(wildcard profiles/*.ini)
SKUS := $(wildcard profiles/sku/*.ini)
GEN_PROFILES := $(BUILD)/gen/builtin_profiles.c
GEN_SKUS := $(BUILD)/gen/builtin_skus.c

OBJ := $(patsubst %.c,$(OBJDIR)/%.o,$(LIB_SRC)) $(OBJDIR)/gen/builtin_profiles.o \
       $(OBJDIR)/gen/builtin_skus.o
ifeq ($(CUDA),1)
  CU_OBJ := $(patsubst %.cu,$(OBJDIR)/%.cu.o,$(CU_SRC))
  # Static CUDA runtime: the binary runs on machines without the toolkit.
  CUDA_LIBS := -L$(CUDA_HOME)/lib64 -lcudart_static -lrt -ldl -lstdc++
  # The toolkit's release (13.0 -> 13000, CUDART_VERSION's form): the C
  # side names it and the driver it needs without linking CUDA.
  CUDA_RELEASE := $(shell $(NVCC) --version 2>/dev/null | sed -n 's/.*release \([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p')
  KILN_CUDA_VERSION := $(shell echo $(CUDA_RELEASE) | awk '{ print $$1 * 1000 + $$2 * 10 }')
  NVCC_ARCH ?= -gencode arch=compute_80,code=sm_80 \
               -gencode arch=compute_90,code=sm_90 \
               -gencode arch=compute_90,code=compute_90
endif

KILN_CUDA_VERSION ?= 0

# Unit tests link a sanitized copy of the library (no CUDA: host logic only).
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_OBJ := $(patsubst %.c,$(BUILD)/san/%.o,$(LIB_SRC)) $(BUILD)/san/gen/builtin_profiles.o \
           $(BUILD)/san/gen/builtin_skus.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
UNIT_HELPERS := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))

# Keep every object: the sanitized ones are intermediate for make.
.SECONDARY:
.PHONY: FORCE all test check unit e2e bench install clean format format-check
all: $(BUILD)/kiln

$(BUILD)/kiln: $(OBJDIR)/src/main.o $(OBJ) $(CU_OBJ) $(BUILD)/config
	$(CC) $(CFLAGS) -pthread -o $@ $(filter %.o,$^) $(LDLIBS) $(CUDA_LIBS)

# Relinks when the CUDA setting changes.
$(BUILD)/config: FORCE
	@mkdir -p $(BUILD)
	@echo "CUDA=$(CUDA)" | cmp -s - $@ || echo "CUDA=$(CUDA)" > $@
FORCE:

$(OBJDIR)/%.o: %.c $(HEADERS) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(KILN_CFLAGS) -DKILN_HAVE_CUDA=$(CUDA) \
	  -DKILN_CUDA_VERSION=$(KILN_CUDA_VERSION) $(CFLAGS) -c -o $@ $<

$(OBJDIR)/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(KILN_CFLAGS) -DKILN_HAVE_CUDA=$(CUDA) $(CFLAGS) -c -o $@ $<

$(OBJDIR)/%.cu.o: %.cu $(HEADERS) Makefile
	@mkdir -p $(dir $@)
	$(NVCC) -std=c++17 -O3 -Iinclude $(NVCC_ARCH) -c -o $@ $<

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
test: all unit
	prove --exec '' $(PROVE_FLAGS) $(UNIT_BIN) tests/e2e/*.t
check: test format-check

# Bench drivers (tests/bench/*_bench.c) link the optimised library.
BENCH_SRC := $(wildcard tests/bench/*_bench.c)
BENCH_BIN := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
$(BUILD)/bench/%: tests/bench/%.c $(OBJ) $(CU_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(KILN_CFLAGS) -DKILN_HAVE_CUDA=$(CUDA) $(CFLAGS) -o $@ $< \
	  $(OBJ) $(CU_OBJ) $(LDLIBS) $(CUDA_LIBS)

bench: all $(BENCH_BIN)
	sh tests/bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/kiln/profiles
	install -m 755 $(BUILD)/kiln $(DESTDIR)$(PREFIX)/bin/kiln
	install -m 644 $(PROFILES) $(DESTDIR)$(PREFIX)/share/kiln/profiles/
	install -d $(DESTDIR)$(PREFIX)/share/kiln/profiles/sku
	install -m 644 $(SKUS) $(DESTDIR)$(PREFIX)/share/kiln/profiles/sku/

FORMAT_SRC = $(wildcard src/*.c reports/*.c stress/*.c stress/*.cu include/kiln/*.h tests/unit/*.c tests/unit/*.h tests/bench/*.c)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

clean:
	rm -rf $(BUILD)
