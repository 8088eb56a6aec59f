// Package api holds Agora's contracts: the topic configuration
// (topics.yaml, loaded here), the OpenAPI files of the HTTP APIs
// (api/openapi), the Protobuf event schemas (api/proto) and the AsyncAPI
// documents generated from the topics and the schemas (api/asyncapi).
package api

import (
	"bytes"
	_ "embed" // topics.yaml
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

//go:embed topics.yaml
var topicsYAML []byte

// RetainForever is the Retention of a topic whose records are never deleted
// (Kafka retention.ms=-1).
const RetainForever time.Duration = -1

// Topic is one Kafka topic: who publishes to it, what its records carry and
// who reads it.
type Topic struct {
	// Name is the topic, <context>.<aggregate>.v<major>.
	Name string
	// Owner is the only service that publishes to the topic.
	Owner string
	// Envelope is the full name of the Protobuf message of every record
	// value (a oneof of the topic's event types).
	Envelope string
	// Key says what the record key is.
	Key string
	// Partitions is the partition count of a local run.
	Partitions int
	// Retention is how long records are kept; RetainForever for ever.
	Retention time.Duration
	// Description says what the topic is for.
	Description string
	// Consumers are the consumer groups that read the topic, in the order
	// the configuration lists them.
	Consumers []Consumer
}

// RetentionMillis is the topic's Kafka retention.ms: -1 for ever.
func (t Topic) RetentionMillis() int64 {
	if t.Retention == RetainForever {
		return -1
	}
	return t.Retention.Milliseconds()
}

// Consumer is one consumer group reading a topic.
type Consumer struct {
	// Group is the Kafka consumer group; it dead-letters to <Group>.dlq.
	Group string
	// Service is the service the group belongs to.
	Service string
	// Events are the event types the group acts on: names of the messages
	// in the envelope's oneof (every other event passes without effect).
	Events []string
	// Description says what the group does with the events.
	Description string
}

// Topics returns the topics of topics.yaml, in the order it lists them.
// Every call returns a fresh copy that the caller may change.
func Topics() ([]Topic, error) {
	return ParseTopics(topicsYAML)
}

// topicFile is the layout of topics.yaml.
type topicFile struct {
	Topics []topicEntry `yaml:"topics"`
}

type topicEntry struct {
	Name        string          `yaml:"name"`
	Owner       string          `yaml:"owner"`
	Envelope    string          `yaml:"envelope"`
	Key         string          `yaml:"key"`
	Partitions  int             `yaml:"partitions"`
	Retention   string          `yaml:"retention"`
	Description string          `yaml:"description"`
	Consumers   []consumerEntry `yaml:"consumers"`
}

type consumerEntry struct {
	Group       string   `yaml:"group"`
	Service     string   `yaml:"service"`
	Events      []string `yaml:"events"`
	Description string   `yaml:"description"`
}

var (
	topicName    = regexp.MustCompile(`^[a-z][a-z0-9]*(\.[a-z][a-z0-9-]*)+\.v[1-9][0-9]*$`)
	serviceName  = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	groupName    = regexp.MustCompile(`^[a-z][a-z0-9]*\.[a-z][a-z0-9-]*$`)
	fullName     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$`)
	messageName  = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
	retentionDur = regexp.MustCompile(`^([1-9][0-9]*)d$`)
)

// ParseTopics reads a topic configuration in the layout of topics.yaml and
// checks it: unknown fields, missing values, malformed names, duplicate
// topics, groups or events are errors naming the topic.
func ParseTopics(data []byte) ([]Topic, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f topicFile
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("topics: the configuration is empty")
		}
		return nil, fmt.Errorf("topics: %w", err)
	}
	if len(f.Topics) == 0 {
		return nil, errors.New("topics: the configuration lists no topics")
	}
	seen := make(map[string]bool, len(f.Topics))
	out := make([]Topic, 0, len(f.Topics))
	for i, e := range f.Topics {
		t, err := e.topic()
		if err != nil {
			label := e.Name
			if label == "" {
				label = "#" + strconv.Itoa(i+1)
			}
			return nil, fmt.Errorf("topics: topic %s: %w", label, err)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("topics: topic %s is listed twice", t.Name)
		}
		seen[t.Name] = true
		out = append(out, t)
	}
	return out, nil
}

func (e topicEntry) topic() (Topic, error) {
	switch {
	case !topicName.MatchString(e.Name):
		return Topic{}, fmt.Errorf("name %q is not <context>.<aggregate>.v<major>", e.Name)
	case !serviceName.MatchString(e.Owner):
		return Topic{}, fmt.Errorf("owner %q is not a service name", e.Owner)
	case !fullName.MatchString(e.Envelope):
		return Topic{}, fmt.Errorf("envelope %q is not a Protobuf full name", e.Envelope)
	case strings.TrimSpace(e.Key) == "":
		return Topic{}, errors.New("key is missing")
	case e.Partitions < 1:
		return Topic{}, fmt.Errorf("partitions %d is not positive", e.Partitions)
	case strings.TrimSpace(e.Description) == "":
		return Topic{}, errors.New("description is missing")
	}
	retention, err := parseRetention(e.Retention)
	if err != nil {
		return Topic{}, err
	}
	t := Topic{
		Name: e.Name, Owner: e.Owner, Envelope: e.Envelope, Key: strings.TrimSpace(e.Key),
		Partitions: e.Partitions, Retention: retention, Description: strings.TrimSpace(e.Description),
		Consumers: make([]Consumer, 0, len(e.Consumers)),
	}
	groups := make(map[string]bool, len(e.Consumers))
	for _, c := range e.Consumers {
		consumer, err := c.consumer(e.Owner)
		if err != nil {
			return Topic{}, err
		}
		if groups[consumer.Group] {
			return Topic{}, fmt.Errorf("consumer group %s is listed twice", consumer.Group)
		}
		groups[consumer.Group] = true
		t.Consumers = append(t.Consumers, consumer)
	}
	return t, nil
}

func (c consumerEntry) consumer(owner string) (Consumer, error) {
	switch {
	case !groupName.MatchString(c.Group):
		return Consumer{}, fmt.Errorf("consumer group %q is not <service>.<name>", c.Group)
	case !serviceName.MatchString(c.Service):
		return Consumer{}, fmt.Errorf("consumer group %s: service %q is not a service name", c.Group, c.Service)
	case !strings.HasPrefix(c.Group, c.Service+"."):
		return Consumer{}, fmt.Errorf("consumer group %s does not start with its service %s", c.Group, c.Service)
	case c.Service == owner:
		return Consumer{}, fmt.Errorf("consumer group %s: the owner %s does not consume its own topic", c.Group, owner)
	case len(c.Events) == 0:
		return Consumer{}, fmt.Errorf("consumer group %s lists no events", c.Group)
	case strings.TrimSpace(c.Description) == "":
		return Consumer{}, fmt.Errorf("consumer group %s: description is missing", c.Group)
	}
	events := make(map[string]bool, len(c.Events))
	for _, ev := range c.Events {
		if !messageName.MatchString(ev) {
			return Consumer{}, fmt.Errorf("consumer group %s: event %q is not a message name", c.Group, ev)
		}
		if events[ev] {
			return Consumer{}, fmt.Errorf("consumer group %s: event %s is listed twice", c.Group, ev)
		}
		events[ev] = true
	}
	return Consumer{
		Group: c.Group, Service: c.Service, Events: append([]string(nil), c.Events...),
		Description: strings.TrimSpace(c.Description),
	}, nil
}

// parseRetention reads "forever", a number of days ("7d") or a Go duration
// ("36h").
func parseRetention(s string) (time.Duration, error) {
	if s == "forever" {
		return RetainForever, nil
	}
	if m := retentionDur.FindStringSubmatch(s); m != nil {
		days, err := strconv.Atoi(m[1])
		if err != nil || days > 365*100 {
			return 0, fmt.Errorf("retention %q is out of range", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("retention %q is neither forever, <n>d nor a positive duration", s)
	}
	return d, nil
}
