package audit

import "context"

// closeWhenDone schedules Close for the end of ctx (Options.Context) and
// sends its result on closed (Options.Closed) without blocking. A Close
// called before ctx ends cancels the schedule.
func (t *Trail) closeWhenDone(ctx context.Context, closed chan<- error) {
	if ctx == nil {
		return
	}
	t.stopAfter = context.AfterFunc(ctx, func() {
		err := t.close(context.Background())
		if closed != nil {
			select {
			case closed <- err:
			default:
				t.log.Error("audit: Options.Closed has no room for the result of the close", "error", err)
			}
		}
	})
}
