package server

import (
	"fmt"
	"os"
	"time"

	"github.com/ferrydeploy/ferry/internal/retention"
)

// Retention runs on one node at a time, as this store lock.
const retentionLock = "retention"

// The environment variables that tune retention (docs/operations.md).
const (
	retentionIntervalEnv = "FERRY_RETENTION_INTERVAL" // how often the loop runs; default 1h
	retentionGraceEnv    = "FERRY_RETENTION_GRACE"    // how old unused packages and chunks must be; default 1h, 0s for none
)

// retentionSettings reads retention's environment variables.
func retentionSettings() (retention.Settings, error) {
	var s retention.Settings
	interval, err := durationEnv(retentionIntervalEnv, retention.DefaultSettings.Interval)
	if err != nil {
		return s, err
	}
	s.Interval = interval
	if v := os.Getenv(retentionGraceEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return s, fmt.Errorf("%s=%q: want a duration such as 1h (0s: none)", retentionGraceEnv, v)
		}
		s.Grace = d
		if d == 0 {
			s.Grace = -1 // none (retention.Settings.WithDefaults)
		}
	}
	return s, nil
}
