package pdf

import (
	"fmt"

	"github.com/signintech/gopdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
)

// fontFamily is the family name under which the Go fonts are registered in
// every document.
const fontFamily = "go"

// loadFonts embeds the regular and bold Go fonts into p. Both cover Latin-1
// and Latin Extended-A, which is what accented Portuguese text needs.
func loadFonts(p *gopdf.GoPdf) error {
	if err := p.AddTTFFontDataWithOption(fontFamily, goregular.TTF, gopdf.TtfOption{Style: gopdf.Regular}); err != nil {
		return fmt.Errorf("pdf: loading Go regular font: %w", err)
	}
	if err := p.AddTTFFontDataWithOption(fontFamily, gobold.TTF, gopdf.TtfOption{Style: gopdf.Bold}); err != nil {
		return fmt.Errorf("pdf: loading Go bold font: %w", err)
	}
	return nil
}
