package inbox

import "time"

// SetClock makes s read the time from now, so tests control entry ages.
func SetClock(s *Store, now func() time.Time) { s.now = now }
