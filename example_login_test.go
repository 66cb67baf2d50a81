package audit_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	jwt "github.com/appleboy/gin-jwt/v2"
	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/jwtaudit"
	"github.com/gin-gonic/gin"
)

// Wire gin-jwt to the trail: jwtaudit.Wrap records sign ins, failed logins
// and sign outs from gin-jwt's own hooks, and its UserResolver names the
// user of every audited request from a verified token.
func Example_ginJWT() {
	dir, _ := os.MkdirTemp("", "audit-example-")
	defer os.RemoveAll(dir)
	dsn := filepath.Join(dir, "audit_trail.sqlite3")

	mw, err := jwt.New(&jwt.GinJWTMiddleware{
		Key:         []byte("load me from a secret store"),
		Timeout:     time.Hour,
		IdentityKey: "user_id",
		Authenticator: func(c *gin.Context) (any, error) {
			var in struct{ Username, Password string }
			if err := c.ShouldBindJSON(&in); err != nil {
				return nil, jwt.ErrMissingLoginValues
			}
			if in.Username != "admin" || in.Password != "s3cret" { // look up and bcrypt-compare in real life
				return nil, jwt.ErrFailedAuthentication
			}
			return "1", nil
		},
		PayloadFunc: func(data any) jwt.MapClaims { return jwt.MapClaims{"user_id": data} },
	})
	if err != nil {
		log.Fatal(err)
	}
	auditor, err := jwtaudit.Wrap(mw, jwtaudit.Config{UserClaim: "user_id"})
	if err != nil {
		log.Fatal(err)
	}
	trail, err := audit.Open(audit.Options{DSN: dsn, UserResolver: auditor.UserResolver})
	if err != nil {
		log.Fatal(err)
	}

	router := gin.New()
	router.Use(gin.Recovery(), trail.Middleware())
	router.POST("/api/token/", mw.LoginHandler) // the default Options.AuthURLs
	router.POST("/api/logout/", mw.MiddlewareFunc(), mw.LogoutHandler)

	for _, password := range []string{"guess", "s3cret"} {
		req := httptest.NewRequest("POST", "/api/token/", strings.NewReader(`{"username":"admin","password":"`+password+`"}`))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		router.ServeHTTP(w, req)
		if w.Code == 200 {
			token := w.Body.String()[strings.Index(w.Body.String(), `"token":"`)+9:]
			token = token[:strings.Index(token, `"`)]
			req = httptest.NewRequest("POST", "/api/logout/", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			router.ServeHTTP(httptest.NewRecorder(), req)
		}
	}
	if err := trail.Close(context.Background()); err != nil {
		log.Fatal(err)
	}

	reader, _ := audit.Open(audit.Options{DSN: dsn})
	defer reader.Close(context.Background())
	var logins []entities.LoginEvent
	reader.DB().Order("datetime, id").Find(&logins)
	for _, l := range logins {
		fmt.Printf("%-8s user=%q username=%q\n", l.Status, l.UserID, l.Username)
	}
	// Output:
	// Failed   user="" username="admin"
	// Sign in  user="1" username="admin"
	// Sign out user="1" username=""
}

// Without gin-jwt, a login handler describes the outcome through the
// request's handle; nothing else is needed.
func ExampleEvent_LoginFailed() {
	dir, _ := os.MkdirTemp("", "audit-example-")
	defer os.RemoveAll(dir)
	dsn := filepath.Join(dir, "audit_trail.sqlite3")
	trail, err := audit.Open(audit.Options{DSN: dsn, Synchronous: true})
	if err != nil {
		log.Fatal(err)
	}
	defer trail.Close(context.Background())

	checkPassword := func(username, password string) (userID string, err error) {
		return "", errors.New("no such user") // your user store
	}
	router := gin.New()
	router.Use(trail.Middleware())
	router.POST("/api/token/", func(c *gin.Context) {
		username, password := c.PostForm("username"), c.PostForm("password")
		userID, err := checkPassword(username, password)
		if err != nil {
			audit.From(c).LoginFailed(username, "unknown user or wrong password")
			c.JSON(401, gin.H{"detail": "No active account found with the given credentials"})
			return
		}
		audit.From(c).SignedIn(userID, username)
		c.JSON(200, gin.H{"access": "..."})
	})

	req := httptest.NewRequest("POST", "/api/token/", strings.NewReader("username=mallory&password=letmein"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	router.ServeHTTP(httptest.NewRecorder(), req)

	var l entities.LoginEvent
	trail.DB().First(&l)
	fmt.Println(l.Status, l.Username, l.ExtraInformations)
	// Output: Failed mallory {"reason":"unknown user or wrong password"}
}
