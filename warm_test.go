package warm
import (
 _ "gorm.io/driver/sqlite"
 _ "gorm.io/driver/postgres"
 _ "github.com/gin-gonic/gin"
 _ "github.com/appleboy/gin-jwt/v2"
 _ "github.com/signintech/gopdf"
 _ "github.com/stretchr/testify/require"
 _ "golang.org/x/image/font/gofont/goregular"
 _ "github.com/chromedp/chromedp"
)
