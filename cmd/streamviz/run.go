package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

// errUsage marks a bad command line; main exits 2 for it.
var errUsage = errors.New("usage")

const usage = `streamviz: live dashboards for streaming Python

Usage:
  streamviz serve [flags]     run the bus, the gateway and the dashboard
  streamviz demo [flags]      serve plus a synthetic feed of every widget type
  streamviz embed-url WIDGET  print a signed link to one widget's embed page
  streamviz version           print the version

Run "streamviz serve -h" for the flags.`

// run is the whole program; main only maps its error to an exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("%w: no command given", errUsage)
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr, nil)
	case "demo":
		return runServe(ctx, args[1:], stdout, stderr, runDemoFeed)
	case "embed-url":
		err := runEmbedURL(args[1:], stdout, stderr, os.Getenv, time.Now())
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	case "version", "--version", "-version":
		return runVersion(stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
}
