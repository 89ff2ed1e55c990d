//go:build linux

package local

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroupPlan says which cgroup controllers the shims of this executor use, and under which
// parent: the cgroup the server (and so each shim it starts) runs in. It is found once by New
// and handed to every shim in its spec.
type cgroupPlan struct {
	Version      int    `json:"version"`                // 0: none, 1: v1 (legacy/hybrid), 2: unified
	MemoryParent string `json:"memoryParent,omitempty"` // v1 memory hierarchy or the v2 cgroup
	CPUParent    string `json:"cpuParent,omitempty"`    // v1 cpu hierarchy or the v2 cgroup
	Why          string `json:"-"`                      // what is not enforced, and why
}

const cgroupRoot = "/sys/fs/cgroup"

// findCgroups probes the cgroups this process may create children in.
func findCgroups() cgroupPlan {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return cgroupPlan{Why: "no /proc/self/cgroup"}
	}
	v1 := map[string]string{} // controller -> path
	v2 := ""
	for _, line := range strings.Split(strings.TrimSpace(string(self)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		if f[0] == "0" && f[1] == "" {
			v2 = f[2]
			continue
		}
		for _, c := range strings.Split(f[1], ",") {
			v1[c] = f[2]
		}
	}
	// Pure cgroup v2: /sys/fs/cgroup is the unified hierarchy itself.
	if _, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers")); err == nil && v2 != "" {
		return planV2(filepath.Join(cgroupRoot, v2))
	}
	p := cgroupPlan{Version: 1}
	var why []string
	if path, ok := v1["memory"]; ok && probeV1(filepath.Join(cgroupRoot, "memory", path), "memory.limit_in_bytes", "100000000") {
		p.MemoryParent = filepath.Join(cgroupRoot, "memory", path)
	} else {
		why = append(why, "no writable cgroup v1 memory controller")
	}
	cpuPath, ok := v1["cpu"]
	cpuDir := ""
	for _, d := range []string{"cpu", "cpu,cpuacct", "cpuacct,cpu"} {
		if _, err := os.Stat(filepath.Join(cgroupRoot, d, "cpu.cfs_quota_us")); err == nil {
			cpuDir = d
			break
		}
	}
	if ok && cpuDir != "" && probeV1(filepath.Join(cgroupRoot, cpuDir, cpuPath), "cpu.cfs_quota_us", "50000") {
		p.CPUParent = filepath.Join(cgroupRoot, cpuDir, cpuPath)
	} else {
		why = append(why, "no writable cgroup v1 cpu controller")
	}
	if p.MemoryParent == "" && p.CPUParent == "" {
		p.Version = 0
	}
	p.Why = strings.Join(why, ", ")
	return p
}

// probeV1 creates a child cgroup under parent, writes one limit and removes it.
func probeV1(parent, file, value string) bool {
	dir := filepath.Join(parent, fmt.Sprintf("slipway-probe-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return false
	}
	defer os.Remove(dir)
	return os.WriteFile(filepath.Join(dir, file), []byte(value), 0) == nil
}

// planV2 uses the server's own cgroup as the parent when its subtree may hold the memory and
// cpu controllers. cgroup v2 forbids enabling controllers for children of a cgroup that holds
// processes itself (except the root), so a server in a populated cgroup needs a delegated one.
func planV2(parent string) cgroupPlan {
	ctl, _ := os.ReadFile(filepath.Join(parent, "cgroup.subtree_control"))
	have := " " + strings.TrimSpace(string(ctl)) + " "
	for _, c := range []string{"memory", "cpu"} {
		if !strings.Contains(have, " "+c+" ") {
			if err := os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+"+c), 0); err != nil {
				return cgroupPlan{Why: fmt.Sprintf("cgroup v2: cannot enable the %s controller under %s (%v); run the server in a delegated cgroup whose processes sit in a child", c, parent, err)}
			}
		}
	}
	if !probeV1(parent, "memory.max", "100000000") {
		return cgroupPlan{Why: "cgroup v2: cannot create a child cgroup under " + parent}
	}
	return cgroupPlan{Version: 2, MemoryParent: parent, CPUParent: parent}
}

// enforced describes the plan, for Executor.Enforced.
func (p cgroupPlan) enforced(noCgroups bool) string {
	var parts []string
	switch {
	case noCgroups:
		parts = append(parts, "memory limited per process by RLIMIT_DATA (cgroups disabled by configuration)", "CPU not limited: cgroups disabled by configuration")
	case p.Version == 2:
		parts = append(parts, "memory limited by cgroup v2 memory.max (OOM kills reported)", "CPU limited by cgroup v2 cpu.max")
	default:
		if p.MemoryParent != "" {
			parts = append(parts, "memory limited by cgroup v1 memory.limit_in_bytes (OOM kills reported)")
		} else {
			parts = append(parts, "memory limited per process by RLIMIT_DATA ("+p.Why+")")
		}
		if p.CPUParent != "" {
			parts = append(parts, "CPU limited by cgroup v1 cpu.cfs_quota_us")
		} else {
			parts = append(parts, "CPU not limited: "+p.Why)
		}
	}
	return strings.Join(parts, "; ")
}

// jobCgroup is the cgroup (one directory per hierarchy) of one running job.
type jobCgroup struct {
	version int
	memory  string // the directory whose counters tell OOM kills; "" when not used
	dirs    []string
}

// cgroupName names a job's cgroup: the attempt id, and the shim's pid so that two servers on one
// machine (or two test runs) that reuse an id never share, or remove, each other's cgroup.
func cgroupName(id string) string { return fmt.Sprintf("slipway-%s-%d", id, os.Getpid()) }

// create makes the job's cgroups, sets the limits and moves the calling process (the shim)
// into them, so that the command it starts next is born inside.
func (p cgroupPlan) create(id string, cpus float64, memory int64) (*jobCgroup, error) {
	cg := &jobCgroup{version: p.Version}
	if p.Version == 0 {
		return cg, nil
	}
	mk := func(parent string, limits map[string]string) (string, error) {
		dir := filepath.Join(parent, cgroupName(id))
		if err := os.Mkdir(dir, 0o755); err != nil {
			return "", err
		}
		cg.dirs = append(cg.dirs, dir)
		for _, file := range sortedKeys(limits) {
			if err := os.WriteFile(filepath.Join(dir, file), []byte(limits[file]), 0); err != nil {
				return "", fmt.Errorf("cannot set %s: %w", file, err)
			}
		}
		return dir, os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0)
	}
	const period = 100000 // µs
	quota := int64(cpus * period)
	if quota > 0 && quota < 1000 {
		quota = 1000 // the kernel's minimum
	}
	var err error
	if p.Version == 2 {
		limits := map[string]string{}
		if memory > 0 {
			limits["memory.max"] = strconv.FormatInt(memory, 10)
		}
		if quota > 0 {
			limits["cpu.max"] = fmt.Sprintf("%d %d", quota, period)
		}
		cg.memory, err = mk(p.MemoryParent, limits)
		if err == nil && memory > 0 {
			os.WriteFile(filepath.Join(cg.memory, "memory.swap.max"), []byte("0"), 0) // absent without swap
		}
		return cg, err
	}
	if p.MemoryParent != "" {
		limits := map[string]string{}
		if memory > 0 {
			limits["memory.limit_in_bytes"] = strconv.FormatInt(memory, 10)
		}
		if cg.memory, err = mk(p.MemoryParent, limits); err != nil {
			return cg, err
		}
		if memory > 0 {
			// With swap accounting, forbid swapping past the limit; without it the file is absent.
			os.WriteFile(filepath.Join(cg.memory, "memory.memsw.limit_in_bytes"), []byte(strconv.FormatInt(memory, 10)), 0)
		}
	}
	if p.CPUParent != "" && quota > 0 {
		if _, err = mk(p.CPUParent, map[string]string{"cpu.cfs_period_us": strconv.Itoa(period), "cpu.cfs_quota_us": strconv.FormatInt(quota, 10)}); err != nil {
			return cg, err
		}
	}
	return cg, nil
}

// oomKills reads how many processes of the job the kernel killed for memory.
func (cg *jobCgroup) oomKills() int {
	if cg == nil || cg.memory == "" {
		return 0
	}
	file := "memory.oom_control"
	if cg.version == 2 {
		file = "memory.events"
	}
	b, err := os.ReadFile(filepath.Join(cg.memory, file))
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "oom_kill" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// killAll kills every process left in the job's cgroups but the caller.
func (cg *jobCgroup) killAll() {
	if cg == nil {
		return
	}
	for _, dir := range cg.dirs {
		for _, pid := range cgroupPIDs(dir) {
			if pid != os.Getpid() {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

// remove moves the caller out of the job's cgroups, kills what is left in them and removes them.
func (cg *jobCgroup) remove() {
	if cg == nil {
		return
	}
	for _, dir := range cg.dirs {
		os.WriteFile(filepath.Join(filepath.Dir(dir), "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0)
	}
	cg.killAll()
	for _, dir := range cg.dirs {
		// A killed process leaves its cgroup when it is reaped; give that a moment.
		for i := 0; i < 100; i++ {
			if err := os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func cgroupPIDs(dir string) []int {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids
}

// jobCgroupAt rebuilds the cgroups a vanished shim recorded, to clean them up.
func jobCgroupAt(dirs []string) *jobCgroup {
	cg := &jobCgroup{}
	for _, dir := range dirs {
		if _, err := os.Stat(dir); err == nil {
			cg.dirs = append(cg.dirs, dir)
		}
	}
	return cg
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m)) // cpu.cfs_period_us before cpu.cfs_quota_us
}
