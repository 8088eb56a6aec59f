// Package topics provisions Agora's Kafka topics from their declaration
// (api/topics.yaml): it creates the topics that are missing, with their
// partition count and retention, and brings the retention of existing
// topics back to the declared one. It never deletes a topic, never lowers
// a partition count and leaves every other setting to the cluster, so it
// is safe to apply on every start and every deployment.
//
// Amazon MSK creates topics with the cluster's defaults when auto-creation
// is on, and the AWS provider of Terraform cannot set a topic's
// configuration, so the services apply their own topics at start
// (host.Config.KafkaEnsureTopics), the local runner applies all of them,
// and `agora topics apply` does it by hand.
package topics

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/agoracommerce/agora/api"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// RetentionKey is the topic configuration Apply manages.
const RetentionKey = "retention.ms"

// Options adjusts how topics are applied.
type Options struct {
	// Prefix is put in front of every topic name (host's
	// KAFKA_TOPIC_PREFIX).
	Prefix string
	// Partitions, when positive, is the partition count of topics created
	// (production sizes its topics on its own); 0 takes each topic's
	// declared count.
	Partitions int
	// ReplicationFactor of topics created; 0 or -1 takes the cluster's
	// default.
	ReplicationFactor int
}

// Action is what Apply did to one topic.
type Action string

// Actions of Apply.
const (
	Created   Action = "created"
	Updated   Action = "updated"
	Unchanged Action = "unchanged"
)

// Result is what Apply did to one topic.
type Result struct {
	Topic  string
	Action Action
	// Retention is the topic's retention.ms after Apply.
	Retention int64
	// Previous is the retention.ms before an update.
	Previous int64
}

// Admin is the part of *kadm.Client Apply uses.
type Admin interface {
	ListTopics(ctx context.Context, topics ...string) (kadm.TopicDetails, error)
	CreateTopic(ctx context.Context, partitions int32, replicationFactor int16, configs map[string]*string, topic string) (kadm.CreateTopicResponse, error)
	DescribeTopicConfigs(ctx context.Context, topics ...string) (kadm.ResourceConfigs, error)
	AlterTopicConfigs(ctx context.Context, configs []kadm.AlterConfig, topics ...string) (kadm.AlterConfigsResponses, error)
}

var _ Admin = (*kadm.Client)(nil)

// Apply makes the cluster hold every topic of decl as declared and reports
// what it did, in decl's order. It stops at the first topic it cannot
// apply; errors are retryable unless the cluster refused the request
// (authorization, invalid configuration).
func Apply(ctx context.Context, adm Admin, decl []api.Topic, opts Options) ([]Result, error) {
	if opts.Partitions < 0 || opts.Partitions > 10000 {
		return nil, fmt.Errorf("topics: partitions %d out of range", opts.Partitions)
	}
	rf := opts.ReplicationFactor
	if rf == 0 {
		rf = -1
	}
	if rf < -1 || rf > 32 {
		return nil, fmt.Errorf("topics: replication factor %d out of range", rf)
	}
	names := make([]string, len(decl))
	for i, t := range decl {
		names[i] = opts.Prefix + t.Name
	}
	details, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return nil, classify(fmt.Errorf("topics: list: %w", err))
	}
	var existing, missing []string
	for _, name := range names {
		if d, ok := details[name]; ok && d.Err == nil {
			existing = append(existing, name)
		} else {
			missing = append(missing, name)
		}
	}

	byName := make(map[string]Result, len(decl))
	for i, t := range decl {
		name := names[i]
		if !slices.Contains(missing, name) {
			continue
		}
		partitions := t.Partitions
		if opts.Partitions > 0 {
			partitions = opts.Partitions
		}
		value := strconv.FormatInt(t.RetentionMillis(), 10)
		res, err := adm.CreateTopic(ctx, int32(partitions), int16(rf), map[string]*string{RetentionKey: &value}, name) // #nosec G115 -- bounded above and by api.ParseTopics
		if err == nil {
			err = res.Err
		}
		switch {
		case err == nil:
			byName[name] = Result{Topic: name, Action: Created, Retention: t.RetentionMillis()}
		case errors.Is(err, kerr.TopicAlreadyExists):
			// Listed as missing, yet it exists: another process created it
			// since, or the listing came from stale metadata. Align it below.
			existing = append(existing, name)
		default:
			return ordered(names, byName), classify(fmt.Errorf("topics: create %s: %w", name, err))
		}
	}

	current := map[string]int64{}
	if len(existing) > 0 {
		configs, err := adm.DescribeTopicConfigs(ctx, existing...)
		if err != nil {
			return ordered(names, byName), classify(fmt.Errorf("topics: describe configs: %w", err))
		}
		for _, rc := range configs {
			if rc.Err != nil {
				return ordered(names, byName), classify(fmt.Errorf("topics: describe %s: %w", rc.Name, rc.Err))
			}
			for _, c := range rc.Configs {
				if c.Key != RetentionKey || c.Value == nil {
					continue
				}
				ms, err := strconv.ParseInt(*c.Value, 10, 64)
				if err != nil {
					return ordered(names, byName), fault.Permanent(fmt.Errorf("topics: %s of %s is %q: %w", RetentionKey, rc.Name, *c.Value, err))
				}
				current[rc.Name] = ms
			}
		}
	}
	for i, t := range decl {
		name, want := names[i], t.RetentionMillis()
		if !slices.Contains(existing, name) {
			continue
		}
		if have, ok := current[name]; ok && have == want {
			byName[name] = Result{Topic: name, Action: Unchanged, Retention: want}
			continue
		}
		if err := setRetention(ctx, adm, name, strconv.FormatInt(want, 10)); err != nil {
			return ordered(names, byName), err
		}
		byName[name] = Result{Topic: name, Action: Updated, Retention: want, Previous: current[name]}
	}
	return ordered(names, byName), nil
}

// ordered returns the results of names that have one, in names' order.
func ordered(names []string, byName map[string]Result) []Result {
	out := make([]Result, 0, len(byName))
	for _, n := range names {
		if r, ok := byName[n]; ok {
			out = append(out, r)
		}
	}
	return out
}

func setRetention(ctx context.Context, adm Admin, name, value string) error {
	resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: RetentionKey, Value: &value}}, name)
	if err == nil {
		for _, r := range resp {
			if r.Err != nil {
				err = r.Err
			}
		}
	}
	if err != nil {
		return classify(fmt.Errorf("topics: set %s of %s to %s: %w", RetentionKey, name, value, err))
	}
	return nil
}

// Owned returns the topics of decl that service publishes to.
func Owned(decl []api.Topic, service string) []api.Topic {
	var out []api.Topic
	for _, t := range decl {
		if t.Owner == service {
			out = append(out, t)
		}
	}
	return out
}

// classify marks errors the cluster answered with a non-retriable code as
// permanent (authorization, invalid configuration) and everything else
// (connections, timeouts, retriable Kafka errors) as retryable.
func classify(err error) error {
	var ke *kerr.Error
	if errors.As(err, &ke) && !ke.Retriable {
		return fault.Permanent(err)
	}
	return fault.Retryable(err)
}
