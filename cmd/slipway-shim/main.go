// Command slipway-shim supervises one job of the local executor: it is what
// `slipway executor-shim` does, in a binary that links only the executor. The server starts one
// per job; a slipway-shim installed next to the slipway binary is used instead of the slipway
// binary itself because it starts about four times faster: the slipway binary spends most of a
// job's launch time initialising the packages of its API clients (see bench/README.md).
package main

import (
	"os"

	"github.com/slipway-ml/slipway/internal/executor/local"
)

func main() {
	os.Exit(local.RunShim(os.Args[1:]))
}
