//go:build !linux

package local

import (
	"fmt"
	"os"
)

// RunShim reports that jobs run only on Linux here.
func RunShim(args []string) int {
	fmt.Fprintln(os.Stderr, "the local executor runs jobs on Linux only")
	return 1
}
