# voice-gateway — the two commands a newcomer needs are `make run` and `make test`.
# Both install what they need on a fresh Debian machine with only the Rust toolchain.

CARGO ?= cargo
ARGS ?=

.PHONY: run test test-asterisk test-asterisk-soak test-ha bench bench-api bench-speech bench-load bench-soak bench-faults bench-turn bench-sip lint fmt deps deps-test check-config clean

## run: build (release) and run the gateway on its embedded defaults; with
## [speech] on "wyoming" (the default) it first sets up and starts the local
## speech engines (scripts/run.sh) and stops them when the gateway exits
run: deps
	CARGO="$(CARGO)" scripts/run.sh $(ARGS)

## test: install what the tests need, then run the whole test suite
test: deps-test
	$(CARGO) test --workspace --all-targets
	$(CARGO) test --workspace --doc

## test-asterisk: only the call flows on the real Asterisk (tests/asterisk)
test-asterisk: deps-test
	$(CARGO) test -p voice-gateway --test asterisk -- --nocapture

## test-asterisk-soak: ASTERISK_CALLS (200) real calls one after another on the
## real Asterisk; prints the count, the setup errors and the time (not in CI)
test-asterisk-soak: deps-test
	VG_SEQUENTIAL_CALLS=$(or $(ASTERISK_CALLS),200) $(CARGO) test -p voice-gateway --test asterisk \
		calls_in_a_row_all_set_up -- --nocapture

## test-ha: issue 23's acceptance at its size on the real Asterisk: two [ha]
## instances, 20 live calls, SIGKILL of the active one (every caller hears
## the agent again within 3 s, its question answered, one call.ended per
## call). Needs the machine to itself: 20 recorded calls fill two cores, so
## the gateways are release builds.
test-ha: deps-test
	$(CARGO) build --release -p voice-gateway --bin voice-gateway
	VG_GATEWAY_BIN=$(TARGET_DIR)/release/voice-gateway $(CARGO) test -p voice-gateway --test asterisk \
		ha_takeover::ha_twenty_live_calls_go_on_with_the_standby_after_a_sigkill -- --ignored --exact --nocapture

## bench: criterion micro-benchmarks of the media path, the local speech
## engines' figures, then the load benchmark
bench: deps
	$(CARGO) bench --workspace
	$(MAKE) bench-speech
	$(MAKE) bench-load

# Where cargo puts the release binaries.
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
STEPS ?= 100,500,1000,2000,4000
STEP_SECS ?= 30
SOAK_CALLS ?= 500
SOAK_SECS ?= 1800
SIP_STEPS ?= 50,200,500
SIP_RATE ?= 20
SIP_TURNS ?= 5

## bench-load: concurrent full-duplex calls ramped step by step through the
## gateway's release binary (fake speech with fixed delays, the simulator as
## load generator over real UDP RTP), for both caller models in one report:
## continuous RTP first, then talkspurt-only (each with a fresh gateway), and
## the gateway's RSS a minute after the calls end; writes
## bench/results/<date>-load.{json,md} and <date>-load-<model>.svg.
## Shorter: STEPS=100,500 STEP_SECS=20 make bench-load;
## one model: ARGS="--caller-media continuous" (or talkspurt)
bench-load: deps
	$(CARGO) build --release -p voice-gateway --bin voice-gateway -p vg-asterisk-sim --bin loadgen
	ulimit -n $$(ulimit -Hn) && $(TARGET_DIR)/release/loadgen --gateway $(TARGET_DIR)/release/voice-gateway \
		--steps $(STEPS) --step-secs $(STEP_SECS) $(ARGS)

## bench-soak: SOAK_CALLS calls (500) for SOAK_SECS (1800) with churn; memory,
## descriptor and thread growth in bench/results/<date>-soak.{json,md}
bench-soak: deps
	$(CARGO) build --release -p voice-gateway --bin voice-gateway -p vg-asterisk-sim --bin loadgen
	ulimit -n $$(ulimit -Hn) && $(TARGET_DIR)/release/loadgen --gateway $(TARGET_DIR)/release/voice-gateway \
		--soak-calls $(SOAK_CALLS) --soak-secs $(SOAK_SECS) $(ARGS)

## bench-turn: voice-to-voice latency as callers feel it, on the real Asterisk
## with the embedded local engines (Whisper tiny.en, Piper, the built-in agent):
## 25 turns from the callers' own recordings, the gateway's stage figures, the
## barge-in stop delay and the word error rate in bench/results/<date>-turn.{json,md}.
## STT=faster-whisper measures wyoming-faster-whisper (30 s window) instead of
## scripts/whisper-server.py, to <date>-turn-faster-whisper.{json,md}
STT ?= windowed
bench-turn: deps-test
	scripts/speech-setup.sh >/dev/null
	VG_BENCH_STT=$(STT) VG_BENCH_OUT=$(CURDIR)/bench/results $(CARGO) test -p voice-gateway --test asterisk \
		speech::bench_turn::bench_turn -- --ignored --exact --nocapture

## bench-sip: the gateway's release binary on the real Asterisk (chan_sip) with
## SIPp callers that send PCMU RTP every 20 ms for the whole call: a greeting and
## SIP_TURNS (5, more on long ramps) turns per call, fake speech; SIP_STEPS
## (50,200,500) concurrent calls at SIP_RATE (20) new calls/s. CPU per call of the
## gateway and Asterisk, RSS per call, setup failures and turns completed in
## bench/results/<date>-sip.{json,md}
bench-sip:
	scripts/install-deps.sh bench
	scripts/install-deps.sh asterisk
	$(CARGO) build --release -p voice-gateway --bin voice-gateway
	@# Separately: built together, the harness's features would change shared
	@# dependencies and rebuild the gateway (about 45 minutes on two shared cores).
	$(CARGO) build --release -p vg-testkit --bin bench-sip
	ulimit -n $$(ulimit -Hn) && $(TARGET_DIR)/release/bench-sip --gateway $(TARGET_DIR)/release/voice-gateway \
		--steps $(SIP_STEPS) --rate $(SIP_RATE) --turns $(SIP_TURNS) $(ARGS)

## bench-faults: the fault-injection suite at full size (not in CI; `make test`
## runs each scenario small): 100+ concurrent simulated calls per fault, the
## Asterisk ones also with 10 real calls, the [ha] takeover with 50 live calls
## through 20 SIGKILLs (lease expiry and kill to audio back p50/p99, calls
## lost, in its notes; VG_HA_CALLS=20 on a 2-core machine, where 50 recorded
## callers overload Asterisk); writes bench/results/<date>-faults.{json,md}
bench-faults: deps-test
	rm -rf $(TARGET_DIR)/faults
	VG_FAULTS=full VG_FAULTS_OUT=$(abspath $(TARGET_DIR))/faults $(CARGO) test -p voice-gateway \
		--test faults -- --test-threads=1 --nocapture
	VG_FAULTS=full VG_FAULTS_OUT=$(abspath $(TARGET_DIR))/faults $(CARGO) test -p voice-gateway \
		--test asterisk faults:: -- --test-threads=1 --nocapture
	$(CARGO) run -p vg-testkit --bin faults-report -- $(TARGET_DIR)/faults bench/results

## bench-api: the call API under load on loopback (wrk against the release
## gateway and the simulator): requests/s and latency percentiles of
## GET /v1/calls/{id} and GET /v1/calls, written to bench/results/
bench-api:
	scripts/install-deps.sh bench
	CARGO="$(CARGO)" scripts/bench-api.sh

## bench-speech: time to first audio of the local TTS and real-time factor of
## the local STT on this machine (real Wyoming servers), and the gateway's own
## overhead on the cloud providers (Azure, OpenAI, AWS, Google) against their
## loopback fakes (figures printed, or written under bench/results)
bench-speech: deps
	scripts/speech-setup.sh >/dev/null
	$(CARGO) test -p voice-gateway --test speech -- --ignored --nocapture bench_local_engines
	VG_BENCH_OUT=$(CURDIR)/bench/results $(CARGO) test -p voice-gateway --test speech -- \
		--ignored --nocapture bench_azure_against_fake
	$(CARGO) test -p voice-gateway --test speech -- --ignored --nocapture bench_openai_stt
	VG_BENCH_OUT=$(CURDIR)/bench/results $(CARGO) test -p voice-gateway --lib -- --ignored --nocapture bench_aws_overhead
	VG_BENCH_OUT=$(CURDIR)/bench/results $(CARGO) test -p voice-gateway --test speech -- --ignored --nocapture bench_google

## lint: formatting, clippy with warnings as errors, tokio-free core crates
lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	scripts/check-no-tokio.sh

## fmt: format the whole workspace
fmt:
	$(CARGO) fmt --all

## check-config: validate the configuration and print it with secrets masked
check-config:
	$(CARGO) run -q -p voice-gateway -- check-config $(ARGS)

deps:
	scripts/install-deps.sh build

deps-test:
	scripts/install-deps.sh test
	scripts/speech-setup.sh >/dev/null

clean:
	$(CARGO) clean
