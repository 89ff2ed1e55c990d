// Package credfile writes and reads the AWS shared-credentials file that Slipway creates on first
// start (one profile per account), in the INI format the aws CLI, boto3 and the SDKs read.
package credfile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Profile is one section of the file.
type Profile struct {
	Name            string
	Account         string // written as a comment; "" if unknown
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Region          string
	// EndpointURL is the server's API (endpoint_url): botocore ≥ 1.31 and the AWS CLI v2 ≥ 2.13
	// read it from the profile, so a forgotten --endpoint-url does not send the keys to AWS.
	EndpointURL string
}

// Encode writes profiles in the shared-credentials format, with a header comment.
func Encode(w io.Writer, header string, profiles []Profile) error {
	var b bytes.Buffer
	for _, line := range strings.Split(strings.TrimSpace(header), "\n") {
		if line != "" {
			fmt.Fprintf(&b, "# %s\n", line)
		}
	}
	for _, p := range profiles {
		if strings.TrimSpace(p.Name) == "" || strings.ContainsAny(p.Name, "[]\r\n") {
			return errs.E(errs.Invalid, "profile name %q must be non-empty, without brackets or newlines", p.Name)
		}
		for _, v := range []string{p.Account, p.AccessKeyID, p.SecretAccessKey, p.SessionToken, p.Region, p.EndpointURL} {
			if strings.ContainsAny(v, "\r\n") {
				return errs.E(errs.Invalid, "profile %s: values cannot hold newlines", p.Name)
			}
		}
		fmt.Fprintf(&b, "\n[%s]\n", p.Name)
		if p.Account != "" {
			fmt.Fprintf(&b, "# account %s\n", p.Account)
		}
		fmt.Fprintf(&b, "aws_access_key_id = %s\naws_secret_access_key = %s\n", p.AccessKeyID, p.SecretAccessKey)
		if p.SessionToken != "" {
			fmt.Fprintf(&b, "aws_session_token = %s\n", p.SessionToken)
		}
		if p.Region != "" {
			fmt.Fprintf(&b, "region = %s\n", p.Region)
		}
		if p.EndpointURL != "" {
			fmt.Fprintf(&b, "endpoint_url = %s\n", p.EndpointURL)
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// Decode reads a shared-credentials file: sections, key = value lines, # and ; comments (a
// "# account N" comment inside a section sets Account). Profiles come back in file order.
func Decode(r io.Reader) ([]Profile, error) {
	var out []Profile
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "["):
			if !strings.HasSuffix(line, "]") || strings.TrimSpace(line[1:len(line)-1]) == "" {
				return nil, errs.E(errs.Invalid, "line %d: a section header is [name]", n)
			}
			out = append(out, Profile{Name: strings.TrimSpace(line[1 : len(line)-1])})
		case strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
			if acct, ok := strings.CutPrefix(line, "# account "); ok && len(out) > 0 {
				out[len(out)-1].Account = strings.TrimSpace(acct)
			}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return nil, errs.E(errs.Invalid, "line %d: want key = value", n)
			}
			if len(out) == 0 {
				return nil, errs.E(errs.Invalid, "line %d: %s appears before any [profile]", n, strings.TrimSpace(k))
			}
			p := &out[len(out)-1]
			v = strings.TrimSpace(v)
			switch strings.TrimSpace(k) {
			case "aws_access_key_id":
				p.AccessKeyID = v
			case "aws_secret_access_key":
				p.SecretAccessKey = v
			case "aws_session_token":
				p.SessionToken = v
			case "region":
				p.Region = v
			case "endpoint_url":
				p.EndpointURL = v
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, errs.E(errs.Invalid, "cannot read the credentials: %v", err)
	}
	return out, nil
}

// ReadFile reads the profiles of a file, by name.
func ReadFile(path string) (map[string]Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errs.E(errs.NotFound, "cannot open the credentials file: %v", err)
	}
	defer f.Close()
	ps, err := Decode(f)
	if err != nil {
		return nil, errs.E(errs.Invalid, "%s: %s", path, errs.Message(err))
	}
	m := make(map[string]Profile, len(ps))
	for _, p := range ps {
		m[p.Name] = p
	}
	return m, nil
}
