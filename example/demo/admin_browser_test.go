package demo_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/internal/testskip"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromiumPath finds Debian's chromium (or Chrome), skipping loudly when
// there is none, failing when CI is set.
func chromiumPath(t *testing.T) string {
	t.Helper()
	return testskip.Tool(t, "chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
}

// demoTraffic drives the demo's API so that the viewer has something to
// show: a failed and a successful login, products created and deleted
// (processes), a 404, a panic and a body with a <script>.
func demoTraffic(t *testing.T, base string) {
	t.Helper()
	do := func(method, path, body, token string) *http.Response {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { _ = res.Body.Close() })
		return res
	}
	do("POST", "/api/token/", `{"username":"admin","password":"nope"}`, "")
	tok := adminTestToken(t, do("POST", "/api/token/", `{"username":"admin","password":"admin"}`, ""))
	do("POST", "/api/product/", `{"name":"Café torrado","code":"CAFE-1","price":12.5,"quantity":3}`, tok)
	do("POST", "/api/product/", `{"name":"Caneta","code":"CAN-1","price":2.5,"quantity":10}`, tok)
	do("POST", "/api/product/", `{"name":"<script>alert(1)</script>","code":"CAFE-1","price":-1}`, tok)
	do("GET", "/api/product/", "", "")
	do("GET", "/api/product/999/", "", "")
	do("DELETE", "/api/product/2/", "", tok)
	do("GET", "/api/boom/", "", "")
	do("GET", "/api/ping/", "", "")
}

func TestAdminViewerInChromium(t *testing.T) {
	exe := chromiumPath(t)
	app := newAdminDemo(t, testdb.SQLite(t))
	srv := httptest.NewServer(app.Router)
	t.Cleanup(srv.Close)
	demoTraffic(t, srv.URL)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	require.NoError(t, chromedp.Do(browserCtx), "start chromium") // no timeout on the first call: it owns the browser
	ctx, cancelTimeout := context.WithTimeout(browserCtx, 90*time.Second)
	t.Cleanup(cancelTimeout)

	shots := os.Getenv("AUDIT_WRITE_SCREENSHOTS") == "1"
	shotDir := filepath.Join("..", "..", "docs", "screenshots")
	if shots {
		require.NoError(t, os.MkdirAll(shotDir, 0o755))
	}
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if !shots {
				return nil
			}
			png, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shotDir, name+".png"), png, 0o644)
		})
	}
	eval := func(expr string) []string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](expr))
		require.NoError(t, err)
		return v
	}
	const rowMethods = `Array.from(document.querySelectorAll("#requests tbody tr td:nth-child(2)")).map(td => td.textContent)`

	// Log in: the admin sends the browser to the login form, which posts to
	// the demo's /api/token/ and keeps the token in a cookie.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/admin/audit/requests"),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
	))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	assert.Contains(t, loc, "/admin/login?next=")
	require.NoError(t, chromedp.Do(ctx,
		shot("login"),
		chromedp.SendKeys(chromedp.ID("username"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), "admin"),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("requests")),
		shot("requests"),
	))

	// The list.
	listText, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("requests")))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(eval(rowMethods)), 10)
	assert.Contains(t, listText, "/api/boom/")

	// Filter: POST requests only, through the form.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`select[name="method"]`), "POST"),
		chromedp.Submit(chromedp.CSS("form.filters")),
		chromedp.WaitVisible(chromedp.CSS(`#requests tbody tr`)),
	))
	require.Eventually(t, func() bool {
		loc, err = chromedp.Run(ctx, chromedp.Location())
		return err == nil && strings.Contains(loc, "method=POST")
	}, 10*time.Second, 50*time.Millisecond)
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("requests")), shot("requests-filtered")))
	methods := eval(rowMethods)
	require.NotEmpty(t, methods)
	for _, m := range methods {
		assert.Equal(t, "POST", m)
	}

	// A detail: the stored <script> is shown as text, not run.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/admin/audit/requests?method=POST&status=4xx"),
		chromedp.WaitVisible(chromedp.ID("requests")),
		chromedp.Click(chromedp.CSS(`#requests tbody tr:first-child a`)),
		chromedp.WaitVisible(chromedp.ID("request-body")),
		shot("request-detail"),
	))
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("request-body")))
	require.NoError(t, err)
	assert.Contains(t, body, "<script>alert(1)</script>")
	scripts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.scripts.length`))
	require.NoError(t, err)
	assert.Zero(t, scripts)

	if shots {
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(srv.URL+"/admin/audit/requests?url=/api/boom/"),
			chromedp.Click(chromedp.CSS(`#requests tbody tr:first-child a`)),
			chromedp.WaitVisible(chromedp.ID("stack")), shot("request-error"),
			chromedp.Navigate(srv.URL+"/admin/audit/processes"), chromedp.WaitReady(chromedp.CSS("main")), shot("processes"),
			chromedp.Navigate(srv.URL+"/admin/audit/logins"), chromedp.WaitReady(chromedp.CSS("main")), shot("logins"),
			chromedp.Navigate(srv.URL+"/admin/audit/endpoints"), chromedp.WaitReady(chromedp.CSS("main")), shot("endpoints"),
		))
	}

	// Download the request report of the current filters.
	dir := t.TempDir()
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/admin/audit/requests?method=POST"),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior:      browser.SetDownloadBehaviorBehaviorAllowAndName,
				DownloadPath:  dir,
				EventsEnabled: new(true),
			})
			return err
		}),
		chromedp.Click(chromedp.ID("pdf-link")),
	))
	var guid string
	for ev, err := range progress {
		require.NoError(t, err, "waiting for the PDF download")
		if ev.State == browser.DownloadProgressStateCompleted {
			guid = ev.GUID
			break
		}
	}
	pdf, err := os.ReadFile(filepath.Join(dir, guid))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(pdf), "%PDF-"))
	pdftotext := testskip.Tool(t, "poppler-utils", "pdftotext")
	path := filepath.Join(dir, "report.pdf")
	require.NoError(t, os.WriteFile(path, pdf, 0o600))
	out, err := exec.Command(pdftotext, path, "-").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "Request report")
	assert.Contains(t, string(out), "/api/product/")
	assert.Contains(t, string(out), "POST")
}

// adminTestToken reads the token of a successful POST /api/token/.
func adminTestToken(t *testing.T, res *http.Response) string {
	t.Helper()
	require.Equal(t, http.StatusOK, res.StatusCode)
	var out struct {
		Token string `json:"token"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	return out.Token
}
