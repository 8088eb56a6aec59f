// Package broker starts the embedded Kafka-protocol broker of local mode:
// franz-go's kfake with a data directory, so topics, records and committed
// group offsets survive a restart of `agora run`. Services talk to it over
// the real Kafka wire protocol, exactly as they talk to Amazon MSK.
package broker

import (
	"errors"
	"fmt"
	"os"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Config configures the embedded broker.
type Config struct {
	// DataDir holds the broker's state; required.
	DataDir string
	// Port to listen on at 127.0.0.1; 0 picks a free one.
	Port int
	// Partitions of auto-created topics (default 3).
	Partitions int
	// NoSyncWrites turns off the fsync of every produced batch (faster, but
	// a crash may lose the last writes).
	NoSyncWrites bool
}

// Embedded is a running embedded broker.
type Embedded struct {
	cluster *kfake.Cluster
}

// Start starts the broker and returns once it accepts connections.
func Start(cfg Config) (*Embedded, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("broker: DataDir is required")
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = 3
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("broker: data dir: %w", err)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.DataDir(cfg.DataDir),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(cfg.Partitions),
		kfake.Ports(cfg.Port),
	}
	if !cfg.NoSyncWrites {
		opts = append(opts, kfake.SyncWrites())
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("broker: start embedded broker in %s: %w", cfg.DataDir, err)
	}
	return &Embedded{cluster: cluster}, nil
}

// Addrs returns the seed broker addresses.
func (e *Embedded) Addrs() []string { return e.cluster.ListenAddrs() }

// Close stops the broker, flushing its state to the data directory.
func (e *Embedded) Close() { e.cluster.Close() }
