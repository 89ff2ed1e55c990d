package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var consoleHelp = helpText{
	usage: "slipway console [flags]",
	desc: `Prints a one-time link that signs the profile's principal in to the web console
(ENDPOINT/console/). The link works once, within five minutes; the request for it is signed
with the profile's credentials (SigV4, service "signin"), so only the key's holder gets one.
The console then acts as that principal: its policies decide what each page shows and allows.`,
	example: `slipway console --profile data-science
slipway console --profile data-science --print-link   # the URL alone, for scripts`,
}

// runConsole asks the server for a one-time sign-in link to its web console.
func runConsole(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommand("console", consoleHelp, stdout, stderr)
	var cf clientFlags
	cf.register(fs)
	printLink := fs.Bool("print-link", false, "print only the link")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: slipway console takes no arguments", errUsage)
	}
	cfg, err := cf.config()
	if err != nil {
		return err
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return err
	}
	body := []byte("{}")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(cf.endpoint, "/")+"/console/link", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "signin", cf.region, time.Now()); err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the server at %s: %w", cf.endpoint, err)
	}
	defer resp.Body.Close()
	var out struct {
		URL       string `json:"url"`
		Expires   string `json:"expires"`
		Principal string `json:"principal"`
		Error     string `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&out); err != nil {
		return fmt.Errorf("the server answered %s without a link", resp.Status)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the server refused a sign-in link (%s): %s", resp.Status, out.Error)
	}
	if *printLink {
		fmt.Fprintln(stdout, out.URL)
		return nil
	}
	fmt.Fprintf(stdout, "Sign in to the console as %s (the link works once, until %s):\n\n  %s\n", out.Principal, out.Expires, out.URL)
	return nil
}
