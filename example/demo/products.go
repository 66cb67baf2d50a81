package demo

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"
)

// Product is the demo's model, as in drf-audit-trail's Django demo.
type Product struct {
	ID        uint      `gorm:"primaryKey" json:"id"`
	Name      string    `gorm:"size:255;not null" json:"name"`
	Code      string    `gorm:"size:64;not null;uniqueIndex" json:"code"`
	Price     float64   `gorm:"not null" json:"price"`
	Quantity  int       `gorm:"not null" json:"quantity"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// productInput is what clients send; pointers tell a missing field from zero.
type productInput struct {
	Name     *string  `json:"name"`
	Code     *string  `json:"code"`
	Price    *float64 `json:"price"`
	Quantity *int     `json:"quantity"`
}

// validate returns the field errors, keyed like DRF's serializer errors.
func (in productInput) validate(partial bool) map[string][]string {
	errs := map[string][]string{}
	if in.Name == nil && !partial {
		errs["name"] = append(errs["name"], "This field is required.")
	} else if in.Name != nil && (strings.TrimSpace(*in.Name) == "" || len(*in.Name) > 255) {
		errs["name"] = append(errs["name"], "Must be 1 to 255 characters.")
	}
	if in.Code == nil && !partial {
		errs["code"] = append(errs["code"], "This field is required.")
	} else if in.Code != nil && (strings.TrimSpace(*in.Code) == "" || len(*in.Code) > 64) {
		errs["code"] = append(errs["code"], "Must be 1 to 64 characters.")
	}
	if in.Price == nil && !partial {
		errs["price"] = append(errs["price"], "This field is required.")
	} else if in.Price != nil && *in.Price < 0 {
		errs["price"] = append(errs["price"], "Must not be negative.")
	}
	if in.Quantity == nil && !partial {
		errs["quantity"] = append(errs["quantity"], "This field is required.")
	} else if in.Quantity != nil && *in.Quantity < 0 {
		errs["quantity"] = append(errs["quantity"], "Must not be negative.")
	}
	return errs
}

func (in productInput) apply(p *Product) {
	if in.Name != nil {
		p.Name = *in.Name
	}
	if in.Code != nil {
		p.Code = *in.Code
	}
	if in.Price != nil {
		p.Price = *in.Price
	}
	if in.Quantity != nil {
		p.Quantity = *in.Quantity
	}
}

type productHandlers struct {
	db *gorm.DB
}

// mount adds the product CRUD routes. Writes are wrapped by the auth
// middleware when login is enabled (see auth.go).
func (h productHandlers) mount(api *gin.RouterGroup, writeGuards ...gin.HandlerFunc) {
	api.GET("/product/", h.list)
	api.GET("/product/:id/", h.get)
	api.POST("/product/", append(writeGuards, h.create)...)
	api.PUT("/product/:id/", append(writeGuards, h.update(false))...)
	api.PATCH("/product/:id/", append(writeGuards, h.update(true))...)
	api.DELETE("/product/:id/", append(writeGuards, h.delete)...)
}

func (h productHandlers) list(c *gin.Context) {
	var ps []Product
	if err := h.db.WithContext(c).Order("id").Limit(1000).Find(&ps).Error; err != nil {
		serverError(c, err)
		return
	}
	c.JSON(http.StatusOK, ps)
}

func (h productHandlers) find(c *gin.Context) (*Product, bool) {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		c.JSON(http.StatusNotFound, gin.H{"detail": "Not found."})
		return nil, false
	}
	var p Product
	err = h.db.WithContext(c).First(&p, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		c.JSON(http.StatusNotFound, gin.H{"detail": "Not found."})
		return nil, false
	}
	if err != nil {
		serverError(c, err)
		return nil, false
	}
	return &p, true
}

func (h productHandlers) get(c *gin.Context) {
	if p, ok := h.find(c); ok {
		c.JSON(http.StatusOK, p)
	}
}

func (h productHandlers) create(c *gin.Context) {
	var in productInput
	if err := c.ShouldBindJSON(&in); err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"detail": "Invalid JSON: " + err.Error()})
		return
	}
	if errs := in.validate(false); len(errs) > 0 {
		c.JSON(http.StatusBadRequest, errs)
		return
	}
	var p Product
	in.apply(&p)
	if err := h.db.WithContext(c).Create(&p).Error; err != nil {
		if isUniqueViolation(err) {
			c.JSON(http.StatusBadRequest, gin.H{"code": []string{"product with this code already exists."}})
			return
		}
		serverError(c, err)
		return
	}
	c.JSON(http.StatusCreated, p)
}

func (h productHandlers) update(partial bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, ok := h.find(c)
		if !ok {
			return
		}
		var in productInput
		if err := c.ShouldBindJSON(&in); err != nil {
			c.JSON(http.StatusBadRequest, gin.H{"detail": "Invalid JSON: " + err.Error()})
			return
		}
		if errs := in.validate(partial); len(errs) > 0 {
			c.JSON(http.StatusBadRequest, errs)
			return
		}
		in.apply(p)
		if err := h.db.WithContext(c).Save(p).Error; err != nil {
			if isUniqueViolation(err) {
				c.JSON(http.StatusBadRequest, gin.H{"code": []string{"product with this code already exists."}})
				return
			}
			serverError(c, err)
			return
		}
		c.JSON(http.StatusOK, p)
	}
}

func (h productHandlers) delete(c *gin.Context) {
	p, ok := h.find(c)
	if !ok {
		return
	}
	if err := h.db.WithContext(c).Delete(p).Error; err != nil {
		serverError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func serverError(c *gin.Context, err error) {
	_ = c.Error(err) // recorded by the audit trail
	c.JSON(http.StatusInternalServerError, gin.H{"detail": "Internal server error."})
}

func isUniqueViolation(err error) bool {
	msg := strings.ToLower(err.Error())
	return errors.Is(err, gorm.ErrDuplicatedKey) || strings.Contains(msg, "unique") || strings.Contains(msg, "duplicate key")
}
