package pdf

import (
	"fmt"
	"io"
	"iter"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
)

// generateProcesses yields n processes of 2 steps and 3 registrations
// each, built on the fly as a database cursor would deliver them.
func generateProcesses(n int) iter.Seq2[*entities.ProcessDetail, error] {
	return func(yield func(*entities.ProcessDetail, error) bool) {
		at := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
		for i := range n {
			p := &entities.ProcessDetail{
				Process: entities.ProcessEvent{
					ID: entities.NewID(), Datetime: at.Add(time.Duration(i) * time.Second),
					Name: fmt.Sprintf("Criar produto %d", i), CreatedBy: "joão.silva",
					Description: "Cadastro de produto pelo painel de administração.",
				},
				Steps: []entities.StepDetail{
					{
						Step: entities.StepEvent{Name: "Validação dos Dados", Description: "Verifica nome e preço.", StepOrder: 1, TotalRegistrations: 2},
						Registrations: []entities.RegistrationEvent{
							{Success: true, Name: "Nome válido"},
							{Success: i%10 != 0, Name: "Preço válido", Description: "Preço maior que zero."},
						},
					},
					{
						Step:          entities.StepEvent{Name: "Salvar no banco de dados", StepOrder: 2, TotalRegistrations: 1},
						Registrations: []entities.RegistrationEvent{{Success: true, Name: "Produto salvo"}},
					},
				},
			}
			if !yield(p, nil) {
				return
			}
		}
	}
}

// countingWriter counts the bytes written to it.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// sampleHeap samples HeapInuse every 10 ms until stop is closed and
// returns the peak.
func sampleHeap(stop <-chan struct{}) func() uint64 {
	var peak atomic.Uint64
	var wg sync.WaitGroup
	wg.Go(func() {
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	return func() uint64 { wg.Wait(); return peak.Load() }
}

// BenchmarkProcessReport10k renders 10,000 processes (2 steps and 3
// registrations each) from a generator and reports the PDF size and the
// peak heap in use.
func BenchmarkProcessReport10k(b *testing.B) {
	const n = 10_000
	b.ReportAllocs()
	runtime.GC()
	stop := make(chan struct{})
	peak := sampleHeap(stop)
	var size int64
	for b.Loop() {
		w := &countingWriter{}
		if err := WriteProcessReport(w, testMeta("Processos"), generateProcesses(n)); err != nil {
			b.Fatal(err)
		}
		size = w.n
	}
	close(stop)
	b.ReportMetric(float64(size), "pdf-bytes")
	b.ReportMetric(float64(size)/n, "pdf-bytes/process")
	b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MiB")
}

var _ io.Writer = (*countingWriter)(nil)
