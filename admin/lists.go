package admin

import (
	"context"
	"io"
	"iter"
	"net/http"
	"slices"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/query"
	"github.com/gin-audit-trail/audit/pdf"
	"github.com/gin-gonic/gin"
	"gorm.io/gorm"
)

// list is the routes of one admin list: the HTML page, the JSON API and,
// for some, a PDF report, all under the same name and the same filters.
type list struct {
	name            string
	html, json, pdf gin.HandlerFunc
}

// listSpec describes one list: F is its repository filter, T the rows the
// repository pages, V what the admin shows of a row (with user names).
type listSpec[F, T, V any] struct {
	name, title string
	reportTitle string            // the PDF's title
	params      []string          // its filter parameters
	filter      func(p *params) F // reads them
	page        pager[F, T]       // one page
	view        func(ctx context.Context, h *handlers, row *T) V
	stream      streamer[F, T] // every row, for the PDF; nil: no generic PDF
	report      func(w io.Writer, meta pdf.Meta, rows iter.Seq2[*T, error]) error
	pdf         gin.HandlerFunc // a PDF route of its own (processes: also id=)
}

type pager[F, T any] func(ctx context.Context, db *gorm.DB, f F, o query.ListOptions) (query.ListPage[T], error)

type streamer[F, T any] func(ctx context.Context, db *gorm.DB, f F, o query.ListOptions, max int) iter.Seq2[*T, error]

// makeList builds the handlers of s: one helper for every HTML list, one
// for every JSON list, one for every list report.
func makeList[F, T, V any](h *handlers, s listSpec[F, T, V]) list {
	read := func(c *gin.Context) (query.ListPage[V], error) {
		p := newParams(c.Request.URL.Query(), slices.Concat(s.params, pageParams)...)
		f, o := s.filter(p), p.list(h.cfg.PageSize)
		if p.err != nil {
			return query.ListPage[V]{}, p.err
		}
		ctx := c.Request.Context()
		rows, err := s.page(ctx, h.db, f, o)
		if err != nil {
			return query.ListPage[V]{}, err
		}
		out := query.ListPage[V]{Items: make([]V, len(rows.Items)), Next: rows.Next}
		for i := range rows.Items {
			out.Items[i] = s.view(ctx, h, &rows.Items[i])
		}
		return out, nil
	}
	l := list{name: s.name, pdf: s.pdf}
	l.json = func(c *gin.Context) {
		page, err := read(c)
		if err != nil {
			fail(c, err)
			return
		}
		c.JSON(http.StatusOK, page)
	}
	l.html = func(c *gin.Context) {
		q := c.Request.URL.Query()
		page, err := read(c)
		if err != nil {
			h.renderError(c, s.name, q, err)
			return
		}
		d := pageData{Page: s.title, Nav: s.name, Query: q, Data: page}
		if s.report != nil || s.pdf != nil {
			d.PDF = h.pdfLink("/reports/"+s.name+".pdf", q)
		}
		h.render(c, http.StatusOK, s.name, d)
	}
	if s.stream != nil && s.report != nil {
		l.pdf = func(c *gin.Context) {
			q := c.Request.URL.Query()
			p := newParams(q, slices.Concat(s.params, []string{"order"})...)
			f, o := s.filter(p), reportOrder(p)
			if p.err != nil {
				fail(c, p.err)
				return
			}
			ctx := c.Request.Context()
			rows := s.stream(ctx, h.db, f, o, h.cfg.MaxReportRows)
			meta := h.meta(s.reportTitle, q, true)
			meta.UserName = h.users.forReport(ctx)
			report(c, "audit-"+s.name, func(w *pdfWriter) error { return s.report(w, meta, rows) })
		}
	}
	return l
}

// requestItem is a request as the lists show it.
type requestItem struct {
	entities.RequestEvent
	UserName string `json:"user_name"`
}

// loginItem is a login as the lists show it.
type loginItem struct {
	entities.LoginRow
	UserName string `json:"user_name"`
}

// stepItem is a step as the lists show it; UserName names its created_by.
type stepItem struct {
	entities.StepRow
	UserName string `json:"user_name"`
}

// registrationItem is a registration as the lists show it; UserName names
// its created_by.
type registrationItem struct {
	entities.RegistrationRow
	UserName string `json:"user_name"`
}

// lists are the admin's lists.
func (h *handlers) lists() []list {
	return []list{
		makeList(h, listSpec[query.RequestFilter, entities.RequestEvent, requestItem]{
			name: "requests", title: "Requests", params: requestParams,
			filter: (*params).requestFilter, page: query.ListRequests,
			view: func(ctx context.Context, h *handlers, r *entities.RequestEvent) requestItem {
				return requestItem{*r, h.users.name(ctx, r.UserID)}
			},
			stream: query.StreamRequests, report: pdf.WriteRequestReport, reportTitle: "Request report",
		}),
		makeList(h, listSpec[query.LoginFilter, entities.LoginRow, loginItem]{
			name: "logins", title: "Logins", params: loginParams,
			filter: (*params).loginFilter, page: query.ListLogins,
			view: func(ctx context.Context, h *handlers, l *entities.LoginRow) loginItem {
				return loginItem{*l, h.users.name(ctx, l.UserID)}
			},
			stream: query.StreamLogins, report: pdf.WriteLoginReport, reportTitle: "Login report",
		}),
		makeList(h, listSpec[query.ProcessFilter, entities.ProcessDetail, processView]{
			name: "processes", title: "Processes", params: processParams,
			filter: (*params).processFilter, page: query.ListProcesses,
			view: func(ctx context.Context, h *handlers, p *entities.ProcessDetail) processView {
				return h.processView(ctx, p)
			},
			pdf: h.pdfProcesses,
		}),
		makeList(h, listSpec[query.StepFilter, entities.StepRow, stepItem]{
			name: "steps", title: "Steps", params: stepParams,
			filter: (*params).stepFilter, page: query.ListSteps,
			view: func(ctx context.Context, h *handlers, s *entities.StepRow) stepItem {
				return stepItem{*s, h.users.name(ctx, s.CreatedBy)}
			},
		}),
		makeList(h, listSpec[query.RegistrationFilter, entities.RegistrationRow, registrationItem]{
			name: "registrations", title: "Registrations", params: registrationParams,
			filter: (*params).registrationFilter, page: query.ListRegistrations,
			view: func(ctx context.Context, h *handlers, r *entities.RegistrationRow) registrationItem {
				return registrationItem{*r, h.users.name(ctx, r.CreatedBy)}
			},
		}),
	}
}
