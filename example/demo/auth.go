package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	jwt "github.com/appleboy/gin-jwt/v2"
	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/jwtaudit"
	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/binding"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// User is a demo account, stored in the application's database with a
// bcrypt hash of its password.
type User struct {
	ID           uint      `gorm:"primaryKey" json:"id"`
	Username     string    `gorm:"size:150;not null;uniqueIndex" json:"username"`
	PasswordHash string    `gorm:"size:100;not null" json:"-"`
	IsAdmin      bool      `gorm:"not null" json:"is_admin"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// AuthUser is the user a verified token names, as the JWT middleware puts
// it on the gin.Context (see CurrentUser).
type AuthUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	IsAdmin  bool   `json:"is_admin"`
}

// IdentityKey is the JWT claim (and gin.Context key) holding the user id;
// the audit trail stores it in user_id.
const IdentityKey = "user_id"

// CurrentUser is the user authenticated by App.JWT's middleware on this
// request, or nil.
func CurrentUser(c *gin.Context) *AuthUser {
	u, _ := c.Get(IdentityKey)
	au, _ := u.(*AuthUser)
	return au
}

// AdminOnly answers 403 unless App.JWT's middleware, run before it,
// authenticated an admin: router.GET(path, app.JWT.MiddlewareFunc(),
// demo.AdminOnly, handler).
func AdminOnly(c *gin.Context) {
	if u := CurrentUser(c); u == nil || !u.IsAdmin {
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"detail": "You do not have permission to perform this action."})
	}
}

// auth is the demo's login: gin-jwt with the audit integration.
type auth struct {
	db        *gorm.DB
	mw        *jwt.GinJWTMiddleware
	auditor   *jwtaudit.Auditor
	dummyHash []byte // compared against for unknown users, so timing does not tell them apart
}

type credentials struct {
	Username string `json:"username" form:"username" binding:"required"`
	Password string `json:"password" form:"password" binding:"required"`
}

// bindCredentials reads the login as JSON, as an urlencoded form or as a
// multipart form (what Django's test client and HTML forms send). A JSON
// object sent with the form content type (curl -d does that) is read as
// JSON.
func bindCredentials(c *gin.Context, in *credentials) error {
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	switch mt {
	case "multipart/form-data":
		return c.ShouldBindWith(in, binding.FormMultipart)
	case "application/x-www-form-urlencoded":
		raw, err := io.ReadAll(c.Request.Body)
		if err != nil {
			return err
		}
		if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '{' {
			return binding.JSON.BindBody(raw, in)
		}
		vals, err := url.ParseQuery(string(raw))
		if err != nil {
			return err
		}
		in.Username, in.Password = vals.Get("username"), vals.Get("password")
		return binding.Validator.ValidateStruct(in)
	}
	return c.ShouldBindJSON(in)
}

func newAuth(db *gorm.DB, cfg Config) (*auth, error) {
	if cfg.DemoUser == "" {
		cfg.DemoUser = "admin"
	}
	if cfg.DemoPassword == "" {
		cfg.DemoPassword = "admin"
	}
	cost := cfg.BcryptCost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	if err := db.AutoMigrate(&User{}); err != nil {
		return nil, fmt.Errorf("demo: migrate users: %w", err)
	}
	if err := seedUser(db, cfg.DemoUser, cfg.DemoPassword, cost); err != nil {
		return nil, err
	}
	a := &auth{db: db}
	var err error
	if a.dummyHash, err = bcrypt.GenerateFromPassword([]byte(rand.Text()), cost); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}

	key := []byte(cfg.JWTSecret)
	if len(key) == 0 {
		key = []byte(rand.Text() + rand.Text())
		slog.Warn("demo: JWT_SECRET is not set: tokens are signed with a random key generated at start, and stop working when the demo restarts")
	}
	a.mw, err = jwt.New(&jwt.GinJWTMiddleware{
		Realm:         "audit demo",
		Key:           key,
		Timeout:       time.Hour,
		MaxRefresh:    24 * time.Hour,
		IdentityKey:   IdentityKey,
		Authenticator: a.authenticate,
		PayloadFunc: func(data any) jwt.MapClaims {
			u, ok := data.(*User)
			if !ok {
				return jwt.MapClaims{}
			}
			return jwt.MapClaims{IdentityKey: strconv.FormatUint(uint64(u.ID), 10), "username": u.Username, "is_admin": u.IsAdmin}
		},
		IdentityHandler: func(c *gin.Context) any {
			claims := jwt.ExtractClaims(c)
			id, _ := claims[IdentityKey].(string)
			name, _ := claims["username"].(string)
			admin, _ := claims["is_admin"].(bool)
			return &AuthUser{ID: id, Username: name, IsAdmin: admin}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("demo: JWT middleware: %w", err)
	}
	// One call: sign ins, failed logins and sign outs become login events,
	// and every audited request is named by its verified token.
	if a.auditor, err = jwtaudit.Wrap(a.mw, jwtaudit.Config{UserClaim: IdentityKey}); err != nil {
		return nil, err
	}
	return a, nil
}

// seedUser creates the demo admin, or updates its hash when DEMO_PASSWORD
// changed since the last start.
func seedUser(db *gorm.DB, username, password string, cost int) error {
	var u User
	err := db.Where("username = ?", username).First(&u).Error
	if err == nil && bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) == nil {
		return nil
	}
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("demo: read demo user: %w", err)
	}
	hash, herr := bcrypt.GenerateFromPassword([]byte(password), cost)
	if herr != nil {
		return fmt.Errorf("demo: hash the demo password: %w", herr)
	}
	u.Username, u.PasswordHash, u.IsAdmin = username, string(hash), true
	if err := db.Save(&u).Error; err != nil {
		return fmt.Errorf("demo: save demo user: %w", err)
	}
	return nil
}

// authenticate checks {"username", "password"} against the users table.
func (a *auth) authenticate(c *gin.Context) (any, error) {
	var in credentials
	if err := bindCredentials(c, &in); err != nil {
		return nil, jwt.ErrMissingLoginValues
	}
	var u User
	// The request's context, not the gin.Context: gin reuses that for the
	// next request while database/sql may still watch it.
	err := a.db.WithContext(c.Request.Context()).Where("username = ?", in.Username).First(&u).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		_ = bcrypt.CompareHashAndPassword(a.dummyHash, []byte(in.Password))
		return nil, jwt.ErrFailedAuthentication
	case err != nil:
		_ = c.Error(err) // recorded on the request event
		return nil, errors.New("user lookup failed")
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(in.Password)) != nil {
		return nil, jwt.ErrFailedAuthentication
	}
	return &u, nil
}

// auditOptions adds the login integration to the trail's options: the
// verified-token user resolver, and no bodies for refresh and logout (their
// answers carry tokens; redaction would mask them anyway).
func (a *auth) auditOptions(opts audit.Options) audit.Options {
	if opts.UserResolver == nil {
		opts.UserResolver = a.auditor.UserResolver
	}
	if opts.LogoutURLs == nil {
		opts.LogoutURLs = []string{"/api/logout/"} // a refused logout is a failed login event
	}
	noBody := audit.BodyRule{Route: `^/api/(token/refresh|logout)/$`, Method: "ALL"}
	opts.SkipRequestBody = append(slices.Clip(opts.SkipRequestBody), noBody)
	opts.SkipResponseBody = append(slices.Clip(opts.SkipResponseBody), noBody)
	return opts
}

// userName names a user id of the audit trail for the admin (its
// Config.UserName): the demo's user ids are the users table's keys.
func (a *auth) userName(ctx context.Context, id string) (string, error) {
	var u User
	err := a.db.WithContext(ctx).Select("username").Where("id = ?", id).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", nil
	}
	return u.Username, err
}

// mount adds the login routes and returns the guard for protected routes.
func (a *auth) mount(api *gin.RouterGroup) gin.HandlerFunc {
	guard := a.mw.MiddlewareFunc()
	api.POST("/token/", a.mw.LoginHandler)
	api.POST("/token/refresh/", a.mw.RefreshHandler)
	api.POST("/logout/", guard, a.mw.LogoutHandler)
	api.GET("/protected/", guard, func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"user": CurrentUser(c)})
	})
	return guard
}
