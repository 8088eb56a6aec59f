package sqldb

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/agoracommerce/agora/internal/platform/fault"
)

// IsUniqueViolation reports whether err is a unique or primary-key
// constraint violation, on either dialect.
func IsUniqueViolation(err error) bool {
	if pe, ok := asPg(err); ok {
		return pe.Code == "23505"
	}
	if code, ok := sqliteCode(err); ok {
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// IsForeignKeyViolation reports whether err is a foreign-key violation, on
// either dialect.
func IsForeignKeyViolation(err error) bool {
	if pe, ok := asPg(err); ok {
		return pe.Code == "23503"
	}
	if code, ok := sqliteCode(err); ok {
		return code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// Classify marks the database's transient failures retryable —
// serialization failures and deadlocks (class 40), lost connections (08),
// server shutdown (57P), insufficient resources (53), a busy or locked
// SQLite file, a connection that failed before sending — and returns any
// other error unchanged.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	if pe, ok := asPg(err); ok {
		for _, class := range []string{"40", "08", "57P", "53"} {
			if strings.HasPrefix(pe.Code, class) {
				return fault.Retryable(err)
			}
		}
		return err
	}
	if code, ok := sqliteCode(err); ok {
		if code&0xff == sqlite3.SQLITE_BUSY || code&0xff == sqlite3.SQLITE_LOCKED {
			return fault.Retryable(err)
		}
		return err
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return fault.Retryable(err)
	}
	return err
}

func asPg(err error) (*pgconn.PgError, bool) {
	var pe *pgconn.PgError
	ok := errors.As(err, &pe)
	return pe, ok
}

func sqliteCode(err error) (int, bool) {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code(), true
	}
	return 0, false
}
