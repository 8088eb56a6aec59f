package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agoracommerce/agora/internal/orderhistory"
)

// Phases of a rebuild, as Progress reports them.
const (
	PhaseBuild    = "build"    // replaying the log from its start into the new generation
	PhaseSwitch   = "switch"   // making the new generation active
	PhaseCatchUp  = "catch-up" // replaying what arrived while building
	PhaseFinished = "finished"
)

// Progress is a rebuild's running state, reported when a phase starts
// (nothing read yet) and as it reads.
type Progress struct {
	Generation Generation
	Phase      string
	// Read counts what the current phase read so far.
	Read ReplayStats
	// Target bounds the records the current phase reads in all (the sum
	// of the offsets it reads up to, less those it starts from).
	Target int64
}

// RebuildReport sums up a finished rebuild.
type RebuildReport struct {
	// Generation is the new, now active generation; Previous the one it
	// replaced (retired, dropped by the next rebuild).
	Generation Generation
	Previous   Generation
	// Read counts the records read per topic, build and catch-up together.
	Read ReplayStats
	// Built is where the build stopped (the log's end when it started);
	// CaughtUp where the catch-up after the switch stopped.
	Built, CaughtUp Offsets
	// Stats is what the new generation holds at the end.
	Stats    GenerationStats
	Duration time.Duration
}

// Rebuild builds the read model anew from log into a fresh generation
// while the live projector keeps serving the active one, then switches to
// it, losing nothing:
//
//  1. a new generation is created (BeginGeneration drops the previous
//     retired one and any unfinished build);
//  2. the log's end (its high watermarks) is read, and everything up to it
//     is replayed into the new generation;
//  3. the new generation is activated in one transaction: from then on
//     readers and the live projector use it;
//  4. the log's end is read again and everything between the first end
//     and the second is replayed into the new generation once more.
//
// Records the live projector applied to the old generation between steps 2
// and 3 are thereby in the new one too, and records after step 4's end are
// the live projector's, which writes to the new generation since step 3.
// Recording is idempotent (entries are keyed by event ID), so what both
// wrote is harmless. A rebuild that fails before step 3 leaves the active
// generation untouched; the next rebuild discards what it built.
func (s *Service) Rebuild(ctx context.Context, log EventLog, progress func(Progress)) (RebuildReport, error) {
	if log == nil {
		return RebuildReport{}, errors.New("orderhistory rebuild: an EventLog is required")
	}
	if progress == nil {
		progress = func(Progress) {}
	}
	start := s.now()
	gen, err := s.gens.BeginGeneration(ctx)
	if err != nil {
		return RebuildReport{}, fmt.Errorf("orderhistory rebuild: begin a generation: %w", err)
	}
	apply := func(ctx context.Context, entries []orderhistory.Entry) error {
		_, err := s.repo.Record(ctx, gen, entries)
		return err
	}
	report := RebuildReport{Generation: gen, Read: ReplayStats{}}

	if report.Built, err = log.End(ctx); err != nil {
		return report, fmt.Errorf("orderhistory rebuild: read the log's end: %w", err)
	}
	phase := func(name string, target int64) func(ReplayStats) {
		return func(read ReplayStats) { progress(Progress{Generation: gen, Phase: name, Read: read, Target: target}) }
	}
	building := phase(PhaseBuild, report.Built.Total())
	building(ReplayStats{})
	built, err := log.Replay(ctx, nil, report.Built, apply, building)
	if err != nil {
		return report, fmt.Errorf("orderhistory rebuild: build generation %d: %w", gen, err)
	}
	report.Read.add(built)

	phase(PhaseSwitch, 0)(ReplayStats{})
	if report.Previous, err = s.gens.ActivateGeneration(ctx, gen); err != nil {
		return report, fmt.Errorf("orderhistory rebuild: activate generation %d: %w", gen, err)
	}

	if report.CaughtUp, err = log.End(ctx); err != nil {
		return report, fmt.Errorf("orderhistory rebuild: read the log's end after the switch: %w", err)
	}
	catching := phase(PhaseCatchUp, report.CaughtUp.Total()-report.Built.Total())
	catching(ReplayStats{})
	caught, err := log.Replay(ctx, report.Built, report.CaughtUp, apply, catching)
	if err != nil {
		return report, fmt.Errorf("orderhistory rebuild: catch up generation %d (already active): %w", gen, err)
	}
	report.Read.add(caught)

	if report.Stats, err = s.gens.Stats(ctx, gen); err != nil {
		return report, fmt.Errorf("orderhistory rebuild: count generation %d: %w", gen, err)
	}
	report.Duration = s.now().Sub(start)
	phase(PhaseFinished, 0)(report.Read)
	return report, nil
}

// Generations lists the read model's generations.
func (s *Service) Generations(ctx context.Context) ([]GenerationInfo, error) {
	gens, err := s.gens.Generations(ctx)
	if err != nil {
		return nil, fmt.Errorf("list generations: %w", err)
	}
	return gens, nil
}
