package demo

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/gin-audit-trail/audit/admin"
	"github.com/gin-gonic/gin"
)

// Paths of the demo's audit viewer.
const (
	AdminPath      = "/admin/audit"  // the admin routes (admin.Mount)
	AdminLoginPath = "/admin/login"  // GET: the login form; POST: sign in
	AdminLogout    = "/admin/logout" // POST: forget the cookie
	// AdminCookie holds the API token for the browser: HttpOnly, SameSite
	// Strict, sent to /admin only.
	AdminCookie = "audit_admin_token"
)

// mountAdmin serves the audit admin on /admin/audit/ for the demo's admins.
// Scripts send the API token (POST /api/token/) as Authorization: Bearer;
// browsers sign in on /admin/login, which posts the credentials to the same
// /api/token/ route (so the sign in is audited like any other) and keeps the
// token in a cookie.
func (a *App) mountAdmin(r *gin.Engine) error {
	r.GET(AdminLoginPath, a.adminLoginForm)
	r.POST(AdminLoginPath, a.adminLogin)
	r.POST(AdminLogout, func(c *gin.Context) {
		c.SetSameSite(http.SameSiteStrictMode)
		c.SetCookie(AdminCookie, "", -1, "/admin", "", false, true)
		c.Redirect(http.StatusSeeOther, AdminLoginPath)
	})
	group := r.Group(AdminPath, a.cookieToken, a.JWT.MiddlewareFunc())
	return admin.Mount(group, a.Trail, admin.Config{
		Title:     "Audit trail · demo",
		Authorize: AdminOnly,
		UserName:  a.userName, // the admin shows "admin (1)", not "1"
	})
}

// cookieToken lets a browser's cookie stand for the Authorization header.
// A browser without a valid token is sent to the login form; an API client
// (one that sent Authorization) gets gin-jwt's 401 as usual.
func (a *App) cookieToken(c *gin.Context) {
	if c.GetHeader("Authorization") != "" {
		c.Next()
		return
	}
	tok, err := c.Cookie(AdminCookie)
	if err == nil && tok != "" {
		if _, perr := a.JWT.ParseTokenString(tok); perr == nil {
			c.Request.Header.Set("Authorization", "Bearer "+tok)
			c.Next()
			return
		}
	}
	if strings.Contains(c.GetHeader("Accept"), "text/html") {
		c.Redirect(http.StatusFound, AdminLoginPath+"?next="+url.QueryEscape(c.Request.URL.RequestURI()))
		c.Abort()
		return
	}
	c.Next() // gin-jwt answers 401
}

var loginPage = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · Audit trail</title>
<style>
body{font:15px system-ui,sans-serif;background:#f6f7f9;display:flex;justify-content:center;padding-top:12vh;margin:0}
form{background:#fff;border:1px solid #d9dee7;border-radius:8px;padding:26px 30px;width:320px}
h1{font-size:19px;margin:0 0 16px}label{display:block;margin:10px 0 4px;color:#475467;font-size:13px}
input{width:100%;box-sizing:border-box;padding:7px 9px;border:1px solid #d9dee7;border-radius:4px;font:inherit}
button{margin-top:18px;width:100%;padding:8px;border:0;border-radius:4px;background:#2451b2;color:#fff;font:inherit;cursor:pointer}
.error{background:#fde4e1;color:#b42318;padding:8px 10px;border-radius:4px;font-size:13px}
</style></head><body>
<form method="post" action="{{.Action}}">
<h1>Audit trail sign in</h1>
{{with .Error}}<p class="error" id="login-error">{{.}}</p>{{end}}
<input type="hidden" name="next" value="{{.Next}}">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" autofocus required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="sign-in">Sign in</button>
</form></body></html>`))

type loginView struct{ Action, Next, Error string }

func (a *App) adminLoginForm(c *gin.Context) {
	renderLogin(c, http.StatusOK, loginView{Action: AdminLoginPath, Next: safeNext(c.Query("next"))})
}

func renderLogin(c *gin.Context, status int, v loginView) {
	var buf bytes.Buffer
	_ = loginPage.Execute(&buf, v)
	c.Header("Cache-Control", "no-store")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// adminLogin posts the form's credentials to the demo's own /api/token/
// route, in process, and keeps the token it answers in a cookie.
func (a *App) adminLogin(c *gin.Context) {
	next := safeNext(c.PostForm("next"))
	body, _ := json.Marshal(map[string]string{"username": c.PostForm("username"), "password": c.PostForm("password")})
	req, err := http.NewRequestWithContext(c.Request.Context(), http.MethodPost, "/api/token/", bytes.NewReader(body))
	if err != nil {
		renderLogin(c, http.StatusInternalServerError, loginView{Action: AdminLoginPath, Next: next, Error: "Sign in failed."})
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", c.Request.UserAgent())
	req.RemoteAddr = c.Request.RemoteAddr // the audited login keeps the browser's IP
	rec := httptest.NewRecorder()
	a.Router.ServeHTTP(rec, req)

	var out struct {
		Token string `json:"token"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &out) != nil || out.Token == "" {
		renderLogin(c, http.StatusUnauthorized, loginView{Action: AdminLoginPath, Next: next, Error: "Incorrect username or password."})
		return
	}
	c.SetSameSite(http.SameSiteStrictMode)
	c.SetCookie(AdminCookie, out.Token, int(a.JWT.Timeout.Seconds()), "/admin", "", c.Request.TLS != nil, true)
	c.Redirect(http.StatusSeeOther, next)
}

// safeNext keeps redirects inside the admin: anything else goes to its
// start page.
func safeNext(next string) string {
	if strings.HasPrefix(next, AdminPath+"/") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") {
		return next
	}
	return AdminPath + "/"
}
