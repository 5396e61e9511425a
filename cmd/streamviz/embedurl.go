package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/streamviz/streamviz/gateway"
)

// runEmbedURL prints a signed link to one widget's embed page
// (docs/protocol.md §6.2). It needs the token the server runs with, not the
// server itself.
func runEmbedURL(args []string, stdout, stderr io.Writer, env func(string) string, now time.Time) error {
	var auth authFlags
	var base string
	var expires time.Duration
	fs := flag.NewFlagSet("streamviz embed-url", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: streamviz embed-url WIDGET [flags]\n\nPrints a signed link to the widget's embed page.")
		fs.PrintDefaults()
	}
	fs.StringVar(&base, "base-url", "http://127.0.0.1:3000", "the dashboard's address as browsers reach it")
	fs.DurationVar(&expires, "expires", time.Hour, "how long the link works (like 30m, 24h)")
	auth.register(fs)
	if err := applyEnv(fs, env, map[string]bool{}); err != nil {
		return err
	}
	// The widget may come before or after the flags.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) != 1 {
		fs.Usage()
		return fmt.Errorf("%w: embed-url takes one widget id, got %d arguments", errUsage, len(positional))
	}
	if expires <= 0 {
		return fmt.Errorf("%w: --expires %v: want a positive duration", errUsage, expires)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return fmt.Errorf("%w: --base-url %q: want http(s)://host[:port][/path]", errUsage, base)
	}
	token, err := auth.token()
	if err != nil {
		return err
	}
	if token == "" {
		return fmt.Errorf("%w: embed-url signs with the server's token: give --token, --token-file or STREAMVIZ_TOKEN", errUsage)
	}
	path, err := gateway.EmbedPath(token, positional[0], now.Add(expires))
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	fmt.Fprintln(stdout, strings.TrimSuffix(base, "/")+path)
	return nil
}
