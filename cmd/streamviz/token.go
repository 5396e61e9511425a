package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// authFlags are the token flags that serve and embed-url share.
type authFlags struct {
	value, file string
}

func (a *authFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.value, "token", "", "require this token for the dashboard, /embed/, /ws and the API (prefer --token-file or STREAMVIZ_TOKEN: flags show in ps)")
	fs.StringVar(&a.file, "token-file", "", "read the token from this file (surrounding whitespace is ignored)")
}

// token is the configured token, "" when none.
func (a *authFlags) token() (string, error) {
	if a.value != "" && a.file != "" {
		return "", fmt.Errorf("%w: --token and --token-file (or STREAMVIZ_TOKEN and STREAMVIZ_TOKEN_FILE) exclude each other", errUsage)
	}
	if a.file == "" {
		if a.value != strings.TrimSpace(a.value) {
			return "", fmt.Errorf("%w: --token: a token cannot start or end with whitespace", errUsage)
		}
		return a.value, nil
	}
	b, err := os.ReadFile(a.file)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("--token-file %s: the file holds no token", a.file)
	}
	return t, nil
}
