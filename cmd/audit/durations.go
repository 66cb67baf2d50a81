package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseAge reads an age such as 90d, 2w, 36h or 1h30m: days (d) and weeks
// (w) on top of what time.ParseDuration accepts.
func parseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("invalid age %q: use for example 90d, 2w or 36h", s)
			}
			return time.Duration(v * float64(unit)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid age %q: use for example 90d, 2w or 36h", s)
	}
	return d, nil
}

// parseTime reads a bound of export: RFC 3339 (2025-01-31T12:00:00Z), a
// date (2025-01-31, midnight UTC), or an age before now (90d); "" is no
// bound.
func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := parseAge(s); err == nil {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("invalid time %q: use 2025-01-31, 2025-01-31T12:00:00Z or an age such as 7d", s)
}
