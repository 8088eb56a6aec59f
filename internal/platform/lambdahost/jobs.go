package lambdahost

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Job is one of a service's periodic rounds (expiring reservations,
// advancing shipments, dispatching emails), which a long-running process
// repeats on a ticker and a function runs once per scheduled invocation.
type Job struct {
	Name  string
	Round func(ctx context.Context) error
}

// ScheduleEvent is the input an EventBridge schedule passes to the jobs
// function (the rule's constant JSON input): the jobs to run, every job of
// the service when empty.
type ScheduleEvent struct {
	Jobs []string `json:"jobs,omitempty"`
}

// JobsReport is the result of a jobs invocation: the jobs that ran
// without error and the error of each that failed.
type JobsReport struct {
	Ran    []string          `json:"ran"`
	Failed map[string]string `json:"failed,omitempty"`
}

// JobsHandler is the Lambda handler of a service's scheduled jobs.
type JobsHandler func(ctx context.Context, ev ScheduleEvent) (JobsReport, error)

// ErrUnknownJob is returned for a schedule naming a job the service does
// not have: a deployment error, reported rather than ignored.
var ErrUnknownJob = errors.New("lambdahost: unknown job")

// Jobs returns the handler that runs one round of each job the event
// names, in the order given, each within the invocation's budget. A
// failed round does not stop the others; the invocation then fails with
// every round's error, so that the function's error metric and alarm see
// it, while the report still lists what ran. Job names must be unique.
func Jobs(jobs []Job) (JobsHandler, error) {
	byName := make(map[string]Job, len(jobs))
	var names []string
	for _, j := range jobs {
		if j.Name == "" || j.Round == nil {
			return nil, errors.New("lambdahost: a job needs a Name and a Round")
		}
		if _, dup := byName[j.Name]; dup {
			return nil, fmt.Errorf("lambdahost: job %q declared twice", j.Name)
		}
		byName[j.Name] = j
		names = append(names, j.Name)
	}
	return func(ctx context.Context, ev ScheduleEvent) (JobsReport, error) {
		run := ev.Jobs
		if len(run) == 0 {
			run = names
		}
		for _, name := range run {
			if _, ok := byName[name]; !ok {
				return JobsReport{}, fmt.Errorf("%w %q (jobs: %s)", ErrUnknownJob, name, strings.Join(names, ", "))
			}
		}
		rep := JobsReport{Ran: []string{}}
		var errs []error
		seen := make(map[string]bool, len(run))
		for _, name := range run {
			if seen[name] {
				continue
			}
			seen[name] = true
			budget, cancel := Budget(ctx, 0)
			err := byName[name].Round(budget)
			cancel()
			if err != nil {
				if rep.Failed == nil {
					rep.Failed = map[string]string{}
				}
				rep.Failed[name] = err.Error()
				errs = append(errs, fmt.Errorf("job %s: %w", name, err))
				continue
			}
			rep.Ran = append(rep.Ran, name)
		}
		return rep, errors.Join(errs...)
	}, nil
}

// Jobs returns h followed by a flush (the events the rounds wrote go out
// before the function freezes).
func (f *Flusher) Jobs(h JobsHandler) JobsHandler {
	return func(ctx context.Context, ev ScheduleEvent) (JobsReport, error) {
		defer f.after(ctx)
		return h(ctx, ev)
	}
}
