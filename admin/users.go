package admin

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Defaults of the user name cache.
const (
	defaultUserNameTTL = 5 * time.Minute
	maxCachedUserNames = 10000
)

// userNames names user ids for display with Config.UserName, remembering
// each answer for Config.UserNameTTL so that a page of 50 rows by the same
// user asks once. It holds at most maxCachedUserNames names; when full,
// expired entries are dropped first, then everything.
type userNames struct {
	resolve func(ctx context.Context, userID string) (string, error)
	ttl     time.Duration

	mu      sync.Mutex
	entries map[string]userName
}

type userName struct {
	name    string
	expires time.Time
}

func newUserNames(cfg Config) *userNames {
	ttl := cfg.UserNameTTL
	if ttl <= 0 {
		ttl = defaultUserNameTTL
	}
	return &userNames{resolve: cfg.UserName, ttl: ttl, entries: map[string]userName{}}
}

// name is the display name of id, "" when there is no resolver, no user or
// the resolver does not know it (or failed: logged, not cached).
func (u *userNames) name(ctx context.Context, id string) string {
	if u == nil || u.resolve == nil || id == "" {
		return ""
	}
	now := time.Now()
	u.mu.Lock()
	e, ok := u.entries[id]
	u.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.name
	}
	name, err := u.resolve(ctx, id)
	if err != nil {
		slog.Warn("audit admin: the user name resolver failed; showing the user id", "user_id", id, "error", err)
		return ""
	}
	u.mu.Lock()
	if len(u.entries) >= maxCachedUserNames {
		for k, v := range u.entries {
			if !now.Before(v.expires) {
				delete(u.entries, k)
			}
		}
		if len(u.entries) >= maxCachedUserNames {
			clear(u.entries)
		}
	}
	u.entries[id] = userName{name: name, expires: now.Add(u.ttl)}
	u.mu.Unlock()
	return name
}

// forReport is name bound to ctx, for pdf.Meta.UserName; nil without a
// resolver.
func (u *userNames) forReport(ctx context.Context) func(string) string {
	if u == nil || u.resolve == nil {
		return nil
	}
	return func(id string) string { return u.name(ctx, id) }
}
