package audit

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// Addresses of the probe that tells whether gin trusts every proxy: peers
// from the documentation ranges (RFC 5737, RFC 3849), which no deployment
// lists as its proxies, forwarding for another documentation address.
const (
	probePeer4     = "192.0.2.1:1"
	probePeer6     = "[2001:db8::1]:1"
	probeForwarded = "198.51.100.7"
)

// warnIfEveryProxyTrusted logs one warning, at the first audited request
// whose client IP came from a forwarding header, when gin trusts every
// proxy (gin's default until the application calls SetTrustedProxies): any
// client can then choose the IP address stored in the audit trail by
// sending X-Forwarded-For. Once checked, it costs one atomic load.
func (t *Trail) warnIfEveryProxyTrusted(c *gin.Context, clientIP string) {
	if t.proxiesChecked.Load() || clientIP == c.RemoteIP() {
		return
	}
	if !t.proxiesChecked.CompareAndSwap(false, true) {
		return
	}
	if trustsEveryProxy(c) {
		t.log.Warn("audit: gin trusts every proxy, so the client IP stored in the audit trail comes from X-Forwarded-For, "+
			"which any client can forge; call router.SetTrustedProxies with your proxies' addresses (nil when there is none)",
			"remote_ip", c.RemoteIP(), "client_ip", clientIP)
	}
}

// trustsEveryProxy asks c's engine, through c.ClientIP, whether it takes a
// forwarded address from peers that no deployment lists as its proxies.
func trustsEveryProxy(c *gin.Context) bool {
	saved := c.Request
	defer func() { c.Request = saved }()
	for _, peer := range [...]string{probePeer4, probePeer6} {
		probe := saved.WithContext(saved.Context())
		probe.RemoteAddr = peer
		probe.Header = http.Header{"X-Forwarded-For": {probeForwarded}, "X-Real-Ip": {probeForwarded}}
		c.Request = probe
		if c.ClientIP() != probeForwarded {
			return false
		}
	}
	return true
}
