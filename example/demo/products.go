package demo

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/process"
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
	if err := h.db.WithContext(c.Request.Context()).Order("id").Limit(1000).Find(&ps).Error; err != nil {
		serverError(c, err)
		return
	}
	c.JSON(http.StatusOK, ps)
}

// errNotFound is load's answer for a product that does not exist.
var errNotFound = errors.New("product not found")

// load reads the product named by the :id parameter.
func (h productHandlers) load(c *gin.Context) (*Product, error) {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		return nil, errNotFound
	}
	var p Product
	err = h.db.WithContext(c.Request.Context()).First(&p, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// find loads the product or answers 404 or 500.
func (h productHandlers) find(c *gin.Context) (*Product, bool) {
	p, err := h.load(c)
	if errors.Is(err, errNotFound) {
		c.JSON(http.StatusNotFound, gin.H{"detail": "Not found."})
		return nil, false
	}
	if err != nil {
		serverError(c, err)
		return nil, false
	}
	return p, true
}

func (h productHandlers) get(c *gin.Context) {
	if p, ok := h.find(c); ok {
		c.JSON(http.StatusOK, p)
	}
}

// create runs the "Criar produto" process: step 1 validates the code and
// the data (two registrations), step 2 saves. Validation errors are failed
// registrations with the errors as JSON, a duplicate code a failed save.
func (h productHandlers) create(c *gin.Context) {
	run := audit.From(c).StartProcess(CreateProductProcess)
	c.Header(ProcessIDHeader, run.ID().String())
	validation := run.Step(stepValidation)

	var in productInput
	if err := c.ShouldBindJSON(&in); err != nil {
		detail := gin.H{"detail": "Invalid JSON: " + err.Error()}
		validation.Fail(regDataInvalid, process.JSON(detail))
		c.JSON(http.StatusBadRequest, detail)
		return
	}
	if errs := in.validate(false); len(errs) > 0 {
		if codeErrs, bad := errs["code"]; bad {
			validation.Fail(regCodeInvalid, process.JSON(codeErrs))
		} else {
			validation.Succeed(regCodeValid)
		}
		validation.Fail(regDataInvalid, process.JSON(errs))
		c.JSON(http.StatusBadRequest, errs)
		return
	}
	validation.Succeed(regCodeValid)
	validation.Succeed(regDataValid)

	var p Product
	in.apply(&p)
	save := run.Step(stepSave)
	if err := h.db.WithContext(c.Request.Context()).Create(&p).Error; err != nil {
		if isUniqueViolation(err) {
			save.Fail(regSaved, duplicateCodeText, process.Extra(gin.H{"code": p.Code, "error": err.Error()}))
			c.JSON(http.StatusBadRequest, gin.H{"code": []string{duplicateCodeText}})
			return
		}
		save.Fail(regSaved, err.Error())
		serverError(c, err)
		return
	}
	save.Succeed(regSaved, process.Extra(gin.H{"product_id": p.ID, "code": p.Code}))
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
		if err := h.db.WithContext(c.Request.Context()).Save(p).Error; err != nil {
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

// delete runs the "Deletar produto" process: step 1 finds the product (a
// missing one is a failed registration), step 2 deletes it.
func (h productHandlers) delete(c *gin.Context) {
	run := audit.From(c).StartProcess(DeleteProductProcess)
	c.Header(ProcessIDHeader, run.ID().String())
	ref := process.Extra(gin.H{"id": c.Param("id")})

	p, err := h.load(c)
	switch {
	case errors.Is(err, errNotFound):
		run.Step(stepFind).Fail(regNotFound, "No product has the id "+strconv.Quote(c.Param("id"))+".", ref)
		c.JSON(http.StatusNotFound, gin.H{"detail": "Not found."})
		return
	case err != nil:
		run.Step(stepFind).Fail(regLookupFailed, err.Error(), ref)
		serverError(c, err)
		return
	}
	run.Step(stepFind).Succeed(regFound, process.Extra(gin.H{"id": p.ID, "code": p.Code}))

	if err := h.db.WithContext(c.Request.Context()).Delete(p).Error; err != nil {
		run.Step(stepDelete).Fail(regDeleteFailed, err.Error(), ref)
		serverError(c, err)
		return
	}
	run.Step(stepDelete).Succeed(regDeleted, process.Extra(gin.H{"id": p.ID, "code": p.Code}))
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
