package outbox

import "time"

// SetClock makes s read the time from now: tests drive leases, ages and
// cleanup cutoffs with a controllable clock.
func SetClock(s *Store, now func() time.Time) { s.now = now }
