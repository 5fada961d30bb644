# The two quick-start commands: `make demo` and `make test`.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build deps deps-data demo demo-lstm test test-sanitize clean

all: build

deps:
	@sh scripts/install-deps.sh

deps-data:
	@sh scripts/install-deps.sh --data

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: deps-data build
	$(BUILD)/examples/seed_cnn

demo-lstm: deps-data build
	$(BUILD)/examples/seed_lstm

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD) build-asan
