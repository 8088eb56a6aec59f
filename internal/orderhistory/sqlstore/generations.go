package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/agoracommerce/agora/internal/orderhistory"
	"github.com/agoracommerce/agora/internal/orderhistory/app"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// ActiveGeneration implements app.Generations.
func (s *Store) ActiveGeneration(ctx context.Context) (app.Generation, error) {
	var gen app.Generation
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		gen, err = s.active(ctx, tx, false)
		return err
	})
	return gen, err
}

// BeginGeneration implements app.Generations. Dropping the retired
// generation here, not at the switch, keeps it readable for transactions
// that resolved it just before the switch.
func (s *Store) BeginGeneration(ctx context.Context) (app.Generation, error) {
	var gen app.Generation
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var active, last int64
		if err := tx.QueryRowContext(ctx, `SELECT generation, last_generation FROM orderhistory_active WHERE id = 1`+s.lockClause("UPDATE")).
			Scan(&active, &last); err != nil {
			return dbErr("read the active generation", err)
		}
		old, err := s.generationsOtherThan(ctx, tx, active)
		if err != nil {
			return err
		}
		for _, g := range old {
			if err := s.dropTables(ctx, tx, g); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.db.Rebind(`DELETE FROM orderhistory_generations WHERE generation = ?`), int64(g)); err != nil {
				return dbErr(fmt.Sprintf("forget generation %d", g), err)
			}
		}
		gen = app.Generation(last + 1)
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE orderhistory_active SET last_generation = ? WHERE id = 1`), int64(gen)); err != nil {
			return dbErr("number a generation", err)
		}
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO orderhistory_generations (generation, state, created_at, activated_at)
			VALUES (?, ?, ?, 0)`), int64(gen), string(app.GenerationBuilding), micros(s.now())); err != nil {
			return dbErr(fmt.Sprintf("insert generation %d", gen), err)
		}
		return s.createTables(ctx, tx, gen)
	})
	if err != nil {
		return 0, err
	}
	return gen, nil
}

func (s *Store) generationsOtherThan(ctx context.Context, tx *sql.Tx, active int64) ([]app.Generation, error) {
	rows, err := tx.QueryContext(ctx, s.db.Rebind(`SELECT generation FROM orderhistory_generations WHERE generation <> ? ORDER BY generation`), active)
	if err != nil {
		return nil, dbErr("list generations", err)
	}
	defer func() { _ = rows.Close() }()
	var out []app.Generation
	for rows.Next() {
		var g int64
		if err := rows.Scan(&g); err != nil {
			return nil, dbErr("list generations", err)
		}
		out = append(out, app.Generation(g))
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("list generations", err)
	}
	return out, nil
}

// ActivateGeneration implements app.Generations: the pointer, the old
// generation's state and the new one's change in one transaction.
func (s *Store) ActivateGeneration(ctx context.Context, gen app.Generation) (app.Generation, error) {
	var previous app.Generation
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var state string
		err := tx.QueryRowContext(ctx, s.db.Rebind(`SELECT state FROM orderhistory_generations WHERE generation = ?`+s.lockClause("UPDATE")),
			int64(gen)).Scan(&state)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fault.Permanent(fmt.Errorf("orderhistory sqlstore: generation %d does not exist: %w", gen, orderhistory.ErrInvalid))
		case err != nil:
			return dbErr("read generation", err)
		case app.GenerationState(state) != app.GenerationBuilding:
			return fault.Permanent(fmt.Errorf("orderhistory sqlstore: generation %d is %s, not building: %w", gen, state, orderhistory.ErrInvalid))
		}
		var prev int64
		if err := tx.QueryRowContext(ctx, `SELECT generation FROM orderhistory_active WHERE id = 1`+s.lockClause("UPDATE")).Scan(&prev); err != nil {
			return dbErr("read the active generation", err)
		}
		previous = app.Generation(prev)
		for _, stmt := range []struct {
			q    string
			args []any
		}{
			{`UPDATE orderhistory_generations SET state = ?, activated_at = ? WHERE generation = ?`,
				[]any{string(app.GenerationActive), micros(s.now()), int64(gen)}},
			{`UPDATE orderhistory_active SET generation = ? WHERE id = 1`, []any{int64(gen)}},
			{`UPDATE orderhistory_generations SET state = ? WHERE generation = ?`, []any{string(app.GenerationRetired), prev}},
		} {
			if _, err := tx.ExecContext(ctx, s.db.Rebind(stmt.q), stmt.args...); err != nil {
				return dbErr(fmt.Sprintf("activate generation %d", gen), err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return previous, nil
}

// Generations implements app.Generations.
func (s *Store) Generations(ctx context.Context) ([]app.GenerationInfo, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT generation, state, created_at, activated_at FROM orderhistory_generations ORDER BY generation`)
	if err != nil {
		return nil, dbErr("list generations", err)
	}
	defer func() { _ = rows.Close() }()
	var out []app.GenerationInfo
	for rows.Next() {
		var (
			g                  int64
			state              string
			created, activated int64
		)
		if err := rows.Scan(&g, &state, &created, &activated); err != nil {
			return nil, dbErr("list generations", err)
		}
		info := app.GenerationInfo{Generation: app.Generation(g), State: app.GenerationState(state)}
		if created != 0 { // the first generation came with the schema
			info.CreatedAt = fromMicros(created)
		}
		if activated != 0 {
			info.ActivatedAt = fromMicros(activated)
		}
		out = append(out, info)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("list generations", err)
	}
	return out, nil
}

// Stats implements app.Generations.
func (s *Store) Stats(ctx context.Context, gen app.Generation) (app.GenerationStats, error) {
	var st app.GenerationStats
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		g, err := s.resolve(ctx, tx, gen)
		if err != nil {
			return err
		}
		t := tablesOf(g)
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t.orders+` WHERE placed = 1`).Scan(&st.Orders); err != nil {
			return dbErr("count orders", err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t.entries).Scan(&st.Entries); err != nil {
			return dbErr("count entries", err)
		}
		return nil
	})
	return st, err
}
