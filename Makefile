# Slipway. `make test` runs every test with everything it needs (see scripts/test.sh).
.PHONY: build test demo fmt vet bench

build:
	go build -o bin/slipway ./cmd/slipway
	go build -o bin/slipway-shim ./cmd/slipway-shim

test:
	scripts/test.sh

demo:
	go run ./cmd/slipway demo

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	go vet ./...

bench:
	go test -run '^$$' -bench . -benchmem ./internal/...
