package iam

import (
	"encoding/json"
	"math/rand"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// This file is a differential test of Evaluate against ref, a deliberately simple evaluator
// written from AWS's documented policy evaluation logic, on random policy sets and requests.
// ref shares no code with the package: its own glob, its own ARN splitting, its own condition
// operators, over policies held as plain structs that are rendered to JSON for the real parser.

// chooser is the randomness of a generated case: math/rand in the test, the fuzzer's bytes in
// the fuzz target.
type chooser interface{ intn(n int) int }

type randChooser struct{ r *rand.Rand }

func (c randChooser) intn(n int) int { return c.r.Intn(n) }

type byteChooser struct {
	b []byte
	i int
}

func (c *byteChooser) intn(n int) int {
	if c.i >= len(c.b) {
		return 0
	}
	v := int(c.b[c.i])
	c.i++
	return v % n
}

func pick[T any](c chooser, xs ...T) T { return xs[c.intn(len(xs))] }

type refCond struct {
	op   string // without IfExists
	ifEx bool
	key  string
	vals []string
}

type refStmt struct {
	deny        bool
	principals  []string // resource policies only: "*", an account id, or an ARN
	notAction   bool
	actions     []string
	notResource bool
	resources   []string
	conds       []refCond
}

type refPolicy []refStmt

type diffCase struct {
	who      int // index into diffPrincipals
	action   string
	resource string
	resAcct  string
	ctx      map[string][]string
	now      time.Time
	secure   bool
	identity []refPolicy
	res      refPolicy // nil: none
	scps     [][]refPolicy
	boundary refPolicy // nil: none
	session  []refPolicy
}

var diffPrincipals = []Principal{
	{ARN: "arn:aws:iam::" + acctA + ":user/alice", Account: acctA},
	{ARN: "arn:aws:iam::" + acctB + ":user/bob", Account: acctB},
	{ARN: "arn:aws:sts::" + acctA + ":assumed-role/Deployer/s1", PrincipalARN: "arn:aws:iam::" + acctA + ":role/Deployer", Account: acctA},
	{ARN: "arn:aws:iam::" + acctA + ":root", Account: acctA},
}

var (
	diffActions = []string{"sagemaker:DescribeModelPackageGroup", "sagemaker:DescribeModelPackage", "sagemaker:CreateModelPackage",
		"sagemaker:ListModelPackages", "s3:GetObject", "s3:PutObject", "iam:CreateUser"}
	diffActionPatterns = append([]string{"*", "sagemaker:*", "s3:*", "iam:*", "sagemaker:Describe*", "sagemaker:Describe*Group",
		"sagemaker:*ModelPackage*", "s3:?etObject", "SAGEMAKER:describe*", "*:GetObject", "sagemaker:describemodelpackage"}, diffActions...)
	diffResources = []string{"arn:aws:sagemaker:us-east-1:" + acctA + ":model-package-group/g1",
		"arn:aws:sagemaker:us-east-1:" + acctA + ":model-package/g1/1", "arn:aws:sagemaker:us-east-1:" + acctB + ":model-package-group/g2",
		"arn:aws:s3:::bucket/key", "arn:aws:s3:::other/x", "arn:aws:s3:::bucket/alice/notes", "arn:aws:s3:::bucket/nobody-home", "*"}
	diffResourcePatterns = append([]string{"*", "arn:aws:sagemaker:us-east-1:" + acctA + ":model-package-group/*",
		"arn:aws:sagemaker:*:*:model-package/g1/*", "arn:aws:sagemaker:*:*:*", "arn:aws:s3:::bucket/*", "arn:aws:s3:::b?cket/*",
		"arn:aws:s3:::*", "arn:aws:sagemaker:us-east-1:" + acctA + ":model-package*", "arn:aws:sagemaker:us-east-1:*:model-package-group/G1",
		"arn:aws:s3:::bucket/${aws:username}/*", "arn:aws:s3:::bucket/${aws:username, 'nobody'}*"},
		diffResources[:5]...)
	diffNows = []time.Time{fixedNow, fixedNow.AddDate(1, 0, 0), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
)

// condition vocabulary: per key, the operators and the policy values to draw from
var diffCondKeys = []struct {
	key  string
	ops  []string
	vals []string
}{
	{KeySourceIP, []string{"IpAddress", "NotIpAddress"}, []string{"10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32", "10.1.2.3"}},
	{"aws:ResourceTag/team", []string{"StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"},
		[]string{"ml", "ops", "m*", "ML", "?ps"}},
	{"s3:max-keys", []string{"NumericLessThan", "NumericGreaterThan", "NumericEquals", "NumericNotEquals", "NumericLessThanEquals", "NumericGreaterThanEquals"},
		[]string{"5", "10", "20"}},
	{"aws:CurrentTime", []string{"DateLessThan", "DateGreaterThan", "DateEquals", "DateNotEquals", "DateLessThanEquals", "DateGreaterThanEquals"},
		[]string{"2026-01-01T00:00:00Z", "2026-11-25T18:00:00Z", "2027-01-01T00:00:00Z"}},
	{"aws:SecureTransport", []string{"Bool"}, []string{"true", "false"}},
	{"aws:TagKeys", []string{"ForAnyValue:StringEquals", "ForAllValues:StringEquals", "ForAnyValue:StringLike",
		"ForAllValues:StringLike", "ForAnyValue:StringNotEquals", "ForAllValues:StringNotEquals"}, []string{"team", "env", "cost*"}},
}

func genStatement(c chooser, resource bool) refStmt {
	var s refStmt
	s.deny = c.intn(10) < 3
	if resource {
		for range 1 + c.intn(2) {
			s.principals = append(s.principals, pick(c, "*", acctA, acctB, "arn:aws:iam::"+acctA+":root",
				diffPrincipals[0].ARN, diffPrincipals[1].ARN, diffPrincipals[2].ARN, diffPrincipals[2].PrincipalARN))
		}
	}
	s.notAction = c.intn(100) < 15
	for range 1 + c.intn(2) {
		s.actions = append(s.actions, pick(c, diffActionPatterns...))
	}
	s.notResource = c.intn(100) < 15
	for range 1 + c.intn(2) {
		s.resources = append(s.resources, pick(c, diffResourcePatterns...))
	}
	used := map[string]bool{}
	for range c.intn(3) {
		k := pick(c, diffCondKeys...)
		op := pick(c, k.ops...)
		if used[op+k.key] {
			continue
		}
		used[op+k.key] = true
		cd := refCond{op: op, key: k.key, ifEx: c.intn(4) == 0}
		for range 1 + c.intn(2) {
			cd.vals = append(cd.vals, pick(c, k.vals...))
		}
		s.conds = append(s.conds, cd)
	}
	return s
}

func genPolicy(c chooser, resource bool) refPolicy {
	p := refPolicy{}
	for range 1 + c.intn(3) {
		p = append(p, genStatement(c, resource))
	}
	return p
}

var fullAWSAccess = refPolicy{{actions: []string{"*"}, resources: []string{"*"}}}

func genCase(c chooser) diffCase {
	dc := diffCase{who: c.intn(len(diffPrincipals)), action: pick(c, diffActions...), resource: pick(c, diffResources...),
		now: pick(c, diffNows...), secure: c.intn(2) == 0, ctx: map[string][]string{}}
	if c.intn(5) == 0 {
		dc.action = strings.ToLower(dc.action) // actions are case-insensitive
	}
	if p := strings.Split(dc.resource, ":"); len(p) >= 5 && p[4] != "" {
		dc.resAcct = p[4]
	} else {
		dc.resAcct = pick(c, acctA, acctB)
	}
	if v := pick(c, "", "10.1.2.3", "192.168.1.7", "2001:db8::9", "172.16.0.1"); v != "" {
		dc.ctx[KeySourceIP] = []string{v}
	}
	if v := pick(c, "", "ml", "ops", "ML"); v != "" {
		dc.ctx["aws:ResourceTag/team"] = []string{v}
	}
	if v := pick(c, "", "5", "10", "20", "7"); v != "" {
		dc.ctx["s3:max-keys"] = []string{v}
	}
	if v := pick(c, "-", "", "team", "team env", "owner", "cost-center team"); v != "-" {
		dc.ctx["aws:TagKeys"] = strings.Fields(v) // "" is present but empty
	}
	root := dc.who == 3
	for range c.intn(4) {
		dc.identity = append(dc.identity, genPolicy(c, false))
	}
	if c.intn(2) == 0 {
		dc.res = genPolicy(c, true)
	}
	for range c.intn(4) {
		var level []refPolicy
		if c.intn(10) < 7 {
			level = append(level, fullAWSAccess)
		}
		for range c.intn(3) {
			level = append(level, genPolicy(c, false))
		}
		if c.intn(2) == 0 && len(level) > 1 {
			level[0], level[len(level)-1] = level[len(level)-1], level[0]
		}
		dc.scps = append(dc.scps, level)
	}
	if !root && c.intn(3) == 0 {
		dc.boundary = genPolicy(c, false)
	}
	if dc.who == 2 {
		for range c.intn(3) {
			dc.session = append(dc.session, genPolicy(c, false))
		}
	}
	return dc
}

// ---- the reference evaluator ----

// refGlob matches s against a pattern of * (any run) and ? (any one character).
func refGlob(p, s string) bool {
	if p == "" {
		return s == ""
	}
	switch p[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if refGlob(p[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && refGlob(p[1:], s[1:])
	}
	return s != "" && s[0] == p[0] && refGlob(p[1:], s[1:])
}

// refARNMatch: "*" matches anything; otherwise both are ARNs of six colon-separated parts and
// each part of the pattern matches the same part of the resource, wildcards staying in it.
func refARNMatch(p, r, username string) bool {
	// ${aws:username} is the IAM user's name; without one (and without a default) the pattern
	// matches nothing. Substituted text is literal (these names hold no wildcards).
	if strings.Contains(p, "${aws:username") {
		name := username
		if name == "" && strings.Contains(p, "'nobody'") {
			name = "nobody"
		}
		if name == "" {
			return false
		}
		p = strings.NewReplacer("${aws:username}", name, "${aws:username, 'nobody'}", name).Replace(p)
	}
	if p == "*" {
		return true
	}
	pp, rp := strings.SplitN(p, ":", 6), strings.SplitN(r, ":", 6)
	if len(pp) != 6 || len(rp) != 6 {
		return false
	}
	for i := range pp {
		if !refGlob(pp[i], rp[i]) {
			return false
		}
	}
	return true
}

// refUsername is aws:username: an IAM user's name, nothing for other callers.
func refUsername(p Principal) string {
	if strings.Contains(p.ARN, ":user/") {
		return p.ARN[strings.LastIndex(p.ARN, "/")+1:]
	}
	return ""
}

// refSetCondHolds decides ForAnyValue:/ForAllValues: on a multivalued key: ForAnyValue holds if
// some request value satisfies the operator (none when the key is missing or empty), ForAllValues
// if every request value does (so also when there are none).
func refSetCondHolds(cd refCond, vals []string, present bool) bool {
	if !present && cd.ifEx {
		return true
	}
	qual, op, _ := strings.Cut(cd.op, ":")
	one := refCond{op: op, key: cd.key, vals: cd.vals}
	any, all := false, true
	for _, v := range vals {
		h := refCondHolds(one, map[string]string{strings.ToLower(cd.key): v})
		any, all = any || h, all && h
	}
	if qual == "ForAnyValue" {
		return any
	}
	return all
}

func refCondHolds(cd refCond, ctx map[string]string) bool {
	v, ok := ctx[strings.ToLower(cd.key)]
	negated := strings.Contains(cd.op, "Not")
	if !ok {
		// A missing key: IfExists holds; a negated operator holds (nothing matched); else false.
		return cd.ifEx || negated
	}
	match := false
	for _, pv := range cd.vals {
		var m bool
		switch strings.Replace(cd.op, "Not", "", 1) {
		case "StringEquals":
			m = v == pv
		case "StringEqualsIgnoreCase":
			m = strings.EqualFold(v, pv)
		case "StringLike":
			m = refGlob(pv, v)
		case "Bool":
			m = strings.EqualFold(v, pv)
		case "IpAddress":
			a, err := netip.ParseAddr(v)
			pf, perr := netip.ParsePrefix(pv)
			if perr != nil {
				x, _ := netip.ParseAddr(pv)
				pf = netip.PrefixFrom(x, x.BitLen())
			}
			m = err == nil && pf.Contains(a)
		default: // Numeric*, Date*
			var x, y float64
			if strings.HasPrefix(cd.op, "Date") {
				tv, _ := time.Parse(time.RFC3339, v)
				tp, _ := time.Parse(time.RFC3339, pv)
				x, y = float64(tv.Unix()), float64(tp.Unix())
			} else {
				x, _ = strconv.ParseFloat(v, 64)
				y, _ = strconv.ParseFloat(pv, 64)
			}
			switch strings.TrimPrefix(strings.TrimPrefix(strings.Replace(cd.op, "Not", "", 1), "Numeric"), "Date") {
			case "Equals":
				m = x == y
			case "LessThan":
				m = x < y
			case "LessThanEquals":
				m = x <= y
			case "GreaterThan":
				m = x > y
			case "GreaterThanEquals":
				m = x >= y
			}
		}
		match = match || m
	}
	return match != negated
}

// grant is how a resource policy statement names the caller.
const (
	refNone = iota
	refAccount
	refRole
	refDirect
)

func refPrincipalGrant(s refStmt, p Principal) int {
	best := refNone
	for _, n := range s.principals {
		g := refNone
		switch {
		case n == "*" || n == p.ARN:
			g = refDirect
		case p.PrincipalARN != "" && n == p.PrincipalARN && n != p.ARN:
			g = refRole
		case n == p.Account || n == "arn:aws:iam::"+p.Account+":root":
			g = refAccount
		}
		best = max(best, g)
	}
	return best
}

func refStmtApplies(s refStmt, dc *diffCase, ctx map[string]string) bool {
	am := false
	for _, a := range s.actions {
		am = am || refGlob(strings.ToLower(a), strings.ToLower(dc.action))
	}
	if am == s.notAction {
		return false
	}
	rm := false
	for _, r := range s.resources {
		rm = rm || refARNMatch(r, dc.resource, refUsername(diffPrincipals[dc.who]))
	}
	if rm == s.notResource {
		return false
	}
	for _, cd := range s.conds {
		if strings.HasPrefix(cd.op, "For") {
			// A key with no values is not in the request (AWS sends no aws:TagKeys without tags).
			vals := dc.ctx[cd.key]
			if !refSetCondHolds(cd, vals, len(vals) > 0) {
				return false
			}
			continue
		}
		if !refCondHolds(cd, ctx) {
			return false
		}
	}
	return true
}

// refScan returns whether any Deny and any Allow statement of p applies (for a resource policy,
// only statements naming the caller count) and the strongest grant among the Allows.
func refScan(p refPolicy, dc *diffCase, ctx map[string]string, resource bool) (deny, allow bool, grant int) {
	who := diffPrincipals[dc.who]
	for _, s := range p {
		g := refDirect
		if resource {
			if g = refPrincipalGrant(s, who); g == refNone {
				continue
			}
		}
		if !refStmtApplies(s, dc, ctx) {
			continue
		}
		if s.deny {
			deny = true
		} else {
			allow = true
			grant = max(grant, g)
		}
	}
	return deny, allow, grant
}

// ref decides as AWS documents: an explicit Deny in any policy wins; every SCP level must allow
// (a level allows what any of its policies allows); then, in the same account, a resource
// policy naming the caller itself allows, one naming the caller's role allows within the
// boundary and session policies, else identity policies must allow within the boundary and
// session policies; across accounts both the resource policy and the identity side must allow.
// The account root user's identity allows everything.
func ref(dc *diffCase) Outcome {
	who := diffPrincipals[dc.who]
	ctx := map[string]string{"aws:currenttime": dc.now.UTC().Format(time.RFC3339), "aws:securetransport": strconv.FormatBool(dc.secure)}
	for k, v := range dc.ctx {
		if len(v) == 1 {
			ctx[strings.ToLower(k)] = v[0]
		}
	}
	anyDeny := false
	scpOK := true
	for _, level := range dc.scps {
		levelAllows := false
		for _, p := range level {
			d, a, _ := refScan(p, dc, ctx, false)
			anyDeny = anyDeny || d
			levelAllows = levelAllows || a
		}
		scpOK = scpOK && levelAllows
	}
	idAllow := who.ARN == "arn:aws:iam::"+who.Account+":root"
	for _, p := range dc.identity {
		d, a, _ := refScan(p, dc, ctx, false)
		anyDeny, idAllow = anyDeny || d, idAllow || a
	}
	var resAllow bool
	var resGrant int
	if dc.res != nil {
		var d bool
		d, resAllow, resGrant = refScan(dc.res, dc, ctx, true)
		anyDeny = anyDeny || d
	}
	limits := true
	if dc.boundary != nil {
		d, a, _ := refScan(dc.boundary, dc, ctx, false)
		anyDeny, limits = anyDeny || d, a
	}
	if len(dc.session) > 0 {
		sessionAllows := false
		for _, p := range dc.session {
			d, a, _ := refScan(p, dc, ctx, false)
			anyDeny, sessionAllows = anyDeny || d, sessionAllows || a
		}
		limits = limits && sessionAllows
	}
	switch {
	case anyDeny:
		return ExplicitDeny
	case !scpOK:
		return ImplicitDeny
	}
	identityOK := idAllow && limits
	if dc.resAcct == who.Account {
		if resAllow && (resGrant == refDirect || resGrant == refRole && limits) || identityOK {
			return Allowed
		}
		return ImplicitDeny
	}
	if resAllow && identityOK {
		return Allowed
	}
	return ImplicitDeny
}

// ---- rendering for the real evaluator ----

func (p refPolicy) json(resource bool) string {
	var stmts []map[string]any
	for _, s := range p {
		m := map[string]any{"Effect": "Allow"}
		if s.deny {
			m["Effect"] = "Deny"
		}
		if resource {
			if len(s.principals) == 1 && s.principals[0] == "*" {
				m["Principal"] = "*"
			} else {
				m["Principal"] = map[string]any{"AWS": s.principals}
			}
		}
		if s.notAction {
			m["NotAction"] = s.actions
		} else {
			m["Action"] = s.actions
		}
		if s.notResource {
			m["NotResource"] = s.resources
		} else {
			m["Resource"] = s.resources
		}
		if len(s.conds) > 0 {
			c := map[string]map[string][]string{}
			for _, cd := range s.conds {
				op := cd.op
				if cd.ifEx {
					op += "IfExists"
				}
				if c[op] == nil {
					c[op] = map[string][]string{}
				}
				c[op][cd.key] = cd.vals
			}
			m["Condition"] = c
		}
		stmts = append(stmts, m)
	}
	b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func (dc *diffCase) real(t testing.TB) Decision {
	t.Helper()
	parse := func(p refPolicy, kind Kind) *Policy {
		doc := p.json(kind == Resource)
		pol, err := ParseStored(kind, doc)
		if err != nil {
			t.Fatalf("generated policy does not parse: %v\n%s", err, doc)
		}
		return pol
	}
	var ps PolicySet
	for _, p := range dc.identity {
		ps.Identity = append(ps.Identity, parse(p, Identity))
	}
	if dc.res != nil {
		ps.Resource = parse(dc.res, Resource)
	}
	for _, level := range dc.scps {
		l := []*Policy{}
		for _, p := range level {
			l = append(l, parse(p, SCP))
		}
		ps.SCPs = append(ps.SCPs, l)
	}
	if dc.boundary != nil {
		ps.PermissionsBoundary = parse(dc.boundary, Identity)
	}
	for _, p := range dc.session {
		ps.Session = append(ps.Session, parse(p, Identity))
	}
	req := Request{Principal: diffPrincipals[dc.who], Action: dc.action, Resource: dc.resource, ResourceAccount: dc.resAcct, Context: dc.ctx}
	return Evaluate(req.WithGlobalKeys(dc.now, "us-east-1", dc.secure), ps)
}

func (dc *diffCase) String() string {
	var b strings.Builder
	who := diffPrincipals[dc.who]
	b.WriteString("caller " + who.ARN + " " + dc.action + " on " + dc.resource + " (account " + dc.resAcct + ")")
	ctx, _ := json.Marshal(dc.ctx)
	b.WriteString(" context " + string(ctx) + " at " + dc.now.Format(time.RFC3339) + " secure=" + strconv.FormatBool(dc.secure) + "\n")
	for i, p := range dc.identity {
		b.WriteString("identity " + strconv.Itoa(i) + ": " + p.json(false) + "\n")
	}
	if dc.res != nil {
		b.WriteString("resource: " + dc.res.json(true) + "\n")
	}
	for i, l := range dc.scps {
		for j, p := range l {
			b.WriteString("SCP level " + strconv.Itoa(i) + " #" + strconv.Itoa(j) + ": " + p.json(false) + "\n")
		}
	}
	if dc.boundary != nil {
		b.WriteString("boundary: " + dc.boundary.json(false) + "\n")
	}
	for i, p := range dc.session {
		b.WriteString("session " + strconv.Itoa(i) + ": " + p.json(false) + "\n")
	}
	return b.String()
}

// checkCase decides dc both ways and reports a disagreement; an explicit Deny that loses is named
// as such.
func checkCase(t testing.TB, dc *diffCase) Outcome {
	t.Helper()
	want := ref(dc)
	got := dc.real(t)
	if got.Effect != want {
		what := "disagreement"
		if want == ExplicitDeny {
			what = "EXPLICIT DENY LOST"
		}
		t.Fatalf("%s: Evaluate = %v (%s), reference = %v\n%s", what, got.Effect, got.Reason, want, dc)
	}
	return want
}

// TestDifferential compares Evaluate with the reference on random cases: 5,000 by default, as
// many as IAM_DIFF_CASES says otherwise (IAM_DIFF_CASES=100000 go test -run TestDifferential).
// The seed is fixed; IAM_DIFF_SEED changes it.
func TestDifferential(t *testing.T) {
	n := 5000
	if s := os.Getenv("IAM_DIFF_CASES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatalf("IAM_DIFF_CASES=%q: %v", s, err)
		}
	}
	seed := int64(6)
	if s := os.Getenv("IAM_DIFF_SEED"); s != "" {
		seed, _ = strconv.ParseInt(s, 10, 64)
	}
	c := randChooser{rand.New(rand.NewSource(seed))}
	counts := map[Outcome]int{}
	start := time.Now()
	for range n {
		dc := genCase(c)
		counts[checkCase(t, &dc)]++
	}
	t.Logf("%d cases in %v (seed %d): %d allowed, %d explicit deny, %d implicit deny", n, time.Since(start).Round(time.Millisecond), seed,
		counts[Allowed], counts[ExplicitDeny], counts[ImplicitDeny])
	// A generator that never produced one of the outcomes would test little.
	for _, o := range []Outcome{Allowed, ExplicitDeny, ImplicitDeny} {
		if counts[o] < n/20 {
			t.Errorf("only %d of %d cases ended %v; the generator is lopsided", counts[o], n, o)
		}
	}
}

// FuzzDifferential runs the same comparison on cases the fuzzer's bytes choose.
func FuzzDifferential(f *testing.F) {
	r := rand.New(rand.NewSource(1))
	for range 8 {
		b := make([]byte, 64+r.Intn(192))
		r.Read(b)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		dc := genCase(&byteChooser{b: b})
		checkCase(t, &dc)
	})
}
