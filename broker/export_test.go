package broker

import "time"

// WithLogClock sets the clock of the log's rate limits, so a test counts
// lines in one window however slow the machine is.
func WithLogClock(cfg Config, now func() time.Time) Config {
	cfg.logNow = now
	return cfg
}
