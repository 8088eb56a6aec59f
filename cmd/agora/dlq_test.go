package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/dlq"
	"github.com/agoracommerce/agora/internal/platform/events"
)

const (
	dlqTestTopic    = "ordering-payments.dlq"
	dlqTestOriginal = "payment.payments.v1"
)

var dlqTestTime = time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)

// dlqCluster starts kfake holding a dead-letter topic with three entries, as
// the consumer runtime writes them: 0:0 and 0:1 failed on the original
// topic, 1:0 has lost its original-topic header.
func dlqCluster(t *testing.T) (addr string, admin *kadm.Client) {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	addr = cluster.ListenAddrs()[0]
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	admin = kadm.NewClient(cl)
	ctx := context.Background()
	_, err = admin.CreateTopic(ctx, 2, 1, nil, dlqTestTopic)
	require.NoError(t, err)
	_, err = admin.CreateTopic(ctx, 1, 1, nil, dlqTestOriginal)
	require.NoError(t, err)
	entry := func(partition int32, id, key, reason, original string, attempts string) *kgo.Record {
		h := []kgo.RecordHeader{
			{Key: events.HeaderID, Value: []byte(id)},
			{Key: events.HeaderType, Value: []byte("agora.payment.v1.PaymentAuthorized")},
			{Key: events.HeaderSource, Value: []byte("agora/payment")},
			{Key: consumer.HeaderDLQReason, Value: []byte(reason)},
			{Key: consumer.HeaderDLQError, Value: []byte("card issuer said no")},
		}
		if original != "" {
			h = append(h, kgo.RecordHeader{Key: consumer.HeaderDLQTopic, Value: []byte(original)})
		}
		h = append(h,
			kgo.RecordHeader{Key: consumer.HeaderDLQPartition, Value: []byte("0")},
			kgo.RecordHeader{Key: consumer.HeaderDLQOffset, Value: []byte("41")},
			kgo.RecordHeader{Key: consumer.HeaderDLQAttempts, Value: []byte(attempts)},
			kgo.RecordHeader{Key: consumer.HeaderDLQGroup, Value: []byte("ordering-payments")},
			kgo.RecordHeader{Key: consumer.HeaderDLQFailedAt, Value: []byte(dlqTestTime.Format(time.RFC3339Nano))})
		return &kgo.Record{Topic: dlqTestTopic, Partition: partition, Key: []byte(key), Value: []byte{0, 0, 0, 0, 1, 0, 0x0a, 0x02, 'o', '1'},
			Headers: h, Timestamp: dlqTestTime}
	}
	require.NoError(t, cl.ProduceSync(ctx,
		entry(0, "evt-1", "order-1", consumer.ReasonHandlerFailed, dlqTestOriginal, "1"),
		entry(0, "evt-2", "order-2", consumer.ReasonRetriesExhausted, dlqTestOriginal, "5"),
		entry(1, "evt-3", "order-3", consumer.ReasonHandlerFailed, "", "1"),
	).FirstErr())
	return addr, admin
}

// agora runs the CLI and returns what it printed.
func agora(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String(), err
}

func recordsIn(t *testing.T, admin *kadm.Client, topic string) int64 {
	t.Helper()
	ends, err := admin.ListEndOffsets(context.Background(), topic)
	require.NoError(t, err)
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

func TestDLQList(t *testing.T) {
	t.Parallel()
	addr, _ := dlqCluster(t)
	out, err := agora(t, "dlq", "list", "--brokers", addr, "--topic", dlqTestTopic)
	require.NoError(t, err)
	want := `topic ordering-payments.dlq: 3 records, 3 pending redrive (progress group ordering-payments.dlq.redrive)

PARTITION  START  END  RECORDS  REDRIVEN TO  PENDING
0          0      2    2        -            2
1          0      1    1        -            1

REASON             RECORDS
handler_failed     2
retries_exhausted  1

ORIGINAL TOPIC       RECORDS
(none)               1
payment.payments.v1  2

POSITION  REASON             ORIGIN                     EVENT TYPE                          EVENT ID  ATTEMPTS  REDRIVES  FAILED AT
0:0       handler_failed     payment.payments.v1[0]@41  agora.payment.v1.PaymentAuthorized  evt-1     1         0         2026-03-01T12:30:00Z
0:1       retries_exhausted  payment.payments.v1[0]@41  agora.payment.v1.PaymentAuthorized  evt-2     5         0         2026-03-01T12:30:00Z
1:0       handler_failed     (none)                     agora.payment.v1.PaymentAuthorized  evt-3     1         0         2026-03-01T12:30:00Z
`
	require.Equal(t, want, out)

	out, err = agora(t, "dlq", "list", "--brokers", addr, "--topic", dlqTestTopic, "--limit", "1")
	require.NoError(t, err)
	require.Contains(t, out, "0:0 ")
	require.NotContains(t, out, "0:1 ")
	require.Contains(t, out, "(1 of 3 entries listed; --limit 0 lists all)")

	out, err = agora(t, "dlq", "list", "--brokers", addr, "--topic", dlqTestTopic, "--json")
	require.NoError(t, err)
	var got struct {
		Summary dlq.Summary `json:"summary"`
		Entries []entryView `json:"entries"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Equal(t, 3, got.Summary.Records)
	require.Len(t, got.Entries, 3)
	require.Equal(t, "evt-2", got.Entries[1].EventID)
	require.Equal(t, "order-2", got.Entries[1].Key)
	require.Equal(t, 5, got.Entries[1].Attempts)
	require.EqualValues(t, 41, got.Entries[1].OriginalOffset)
	require.Equal(t, dlqTestTime, got.Entries[1].FailedAt.UTC())
}

func TestDLQShow(t *testing.T) {
	t.Parallel()
	addr, _ := dlqCluster(t)
	out, err := agora(t, "dlq", "show", "--brokers", addr, "--topic", dlqTestTopic, "--partition", "0", "--offset", "1")
	require.NoError(t, err)
	want := `position            0:1
timestamp           2026-03-01T12:30:00Z
key                 order-2
value size          10 bytes
reason              retries_exhausted
error               card issuer said no
original topic      payment.payments.v1
original partition  0
original offset     41
attempts            5
consumer group      ordering-payments
failed at           2026-03-01T12:30:00Z
event id            evt-2
event type          agora.payment.v1.PaymentAuthorized
redrives            0
headers:
  ce_id: evt-2
  ce_type: agora.payment.v1.PaymentAuthorized
  ce_source: agora/payment
  dlq_reason: retries_exhausted
  dlq_error: card issuer said no
  dlq_original_topic: payment.payments.v1
  dlq_original_partition: 0
  dlq_original_offset: 41
  dlq_attempts: 5
  dlq_consumer_group: ordering-payments
  dlq_failed_at: 2026-03-01T12:30:00Z
`
	require.Equal(t, want, out)

	out, err = agora(t, "dlq", "show", "--brokers", addr, "--topic", dlqTestTopic, "--partition", "1", "--offset", "0", "--value-hex")
	require.NoError(t, err)
	require.Contains(t, out, "original topic      (none)\n")
	require.True(t, strings.HasSuffix(out, "value:\n"+hex.Dump([]byte{0, 0, 0, 0, 1, 0, 0x0a, 0x02, 'o', '1'})), out)

	_, err = agora(t, "dlq", "show", "--brokers", addr, "--topic", dlqTestTopic, "--partition", "0", "--offset", "2")
	require.ErrorIs(t, err, dlq.ErrNoRecord)
	_, err = agora(t, "dlq", "show", "--brokers", addr, "--topic", dlqTestTopic, "--partition", "0")
	require.ErrorContains(t, err, `"offset" not set`)
	_, err = agora(t, "dlq", "show", "--brokers", addr, "--topic", "no-such.dlq", "--offset", "0")
	require.ErrorIs(t, err, dlq.ErrUnknownTopic)
}

func TestDLQRedrive(t *testing.T) {
	t.Parallel()
	addr, admin := dlqCluster(t)
	base := []string{"dlq", "redrive", "--brokers", addr, "--topic", dlqTestTopic}

	out, err := agora(t, append(base, "--all", "--dry-run")...)
	require.ErrorIs(t, err, dlq.ErrNoOriginalTopic, "a dry run reports refusals too")
	require.Equal(t, `would redrive 0:0 -> payment.payments.v1 event evt-1 (redrives 1)
would redrive 0:1 -> payment.payments.v1 event evt-2 (redrives 1)
refused 1:0 event evt-3: dlq: entry has no dlq_original_topic header
dry run: 2 would be redriven, 1 refused; nothing produced or committed
`, out)
	require.Zero(t, recordsIn(t, admin, dlqTestOriginal))

	out, err = agora(t, append(base, "--offset", "0:0")...)
	require.NoError(t, err)
	require.Equal(t, `redriven 0:0 -> payment.payments.v1[0]@0 event evt-1 (redrives 1)
progress committed to group ordering-payments.dlq.redrive: 0:1
1 redriven, 0 refused
`, out)

	out, err = agora(t, append(base, "--all")...)
	require.ErrorIs(t, err, dlq.ErrNoOriginalTopic)
	require.Equal(t, `redriven 0:1 -> payment.payments.v1[0]@1 event evt-2 (redrives 1)
refused 1:0 event evt-3: dlq: entry has no dlq_original_topic header
progress committed to group ordering-payments.dlq.redrive: 0:2 1:1
1 redriven, 1 refused
`, out)

	out, err = agora(t, append(base, "--all")...)
	require.NoError(t, err)
	require.Equal(t, "0 redriven, 0 refused\n", out)
	require.EqualValues(t, 2, recordsIn(t, admin, dlqTestOriginal), "each entry sent once")

	out, err = agora(t, "dlq", "list", "--brokers", addr, "--topic", dlqTestTopic, "--limit", "0")
	require.NoError(t, err)
	require.Contains(t, out, "3 records, 0 pending redrive")

	// Forcing an entry again by offset sends it again.
	_, err = agora(t, append(base, "--offset", "0:1")...)
	require.NoError(t, err)
	require.EqualValues(t, 3, recordsIn(t, admin, dlqTestOriginal))

	out, err = agora(t, "dlq", "redrive", "--brokers", addr, "--topic", "no-such.dlq", "--all")
	require.ErrorIs(t, err, dlq.ErrUnknownTopic)
	require.Empty(t, out, "nothing done, nothing printed")

	// Another progress group starts from the beginning.
	out, err = agora(t, append(base, "--all", "--group", "ops-replay", "--offset", "0:0")...)
	require.ErrorContains(t, err, "either --all or --offset")
	require.Empty(t, out)
	out, err = agora(t, append(base, "--all", "--dry-run", "--group", "ops-replay")...)
	require.ErrorIs(t, err, dlq.ErrNoOriginalTopic)
	require.Contains(t, out, "dry run: 2 would be redriven, 1 refused")
}

func TestDLQFlagErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no topic", []string{"dlq", "list", "--brokers", "127.0.0.1:1"}, "--topic"},
		{"neither all nor offset", []string{"dlq", "redrive", "--brokers", "127.0.0.1:1", "--topic", "t.dlq"}, "either --all or --offset"},
		{"bad offset", []string{"dlq", "redrive", "--brokers", "127.0.0.1:1", "--topic", "t.dlq", "--offset", "7"}, "want partition:offset"},
		{"negative limit", []string{"dlq", "list", "--brokers", "127.0.0.1:1", "--topic", "t.dlq", "--limit", "-1"}, "--limit"},
		{"bad timeout", []string{"dlq", "list", "--brokers", "127.0.0.1:1", "--topic", "t.dlq", "--timeout", "0s"}, "--timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := agora(t, tt.args...)
			require.ErrorContains(t, err, tt.want)
			require.Empty(t, out)
		})
	}
}

func TestDLQTimeout(t *testing.T) {
	t.Parallel()
	// A "broker" that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // listener closed
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })

	start := time.Now()
	_, err = agora(t, "dlq", "list", "--brokers", ln.Addr().String(), "--topic", "t.dlq", "--timeout", "300ms")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 5*time.Second, "gave up at the timeout")
}

// TestDLQBrokersFromEnvironment changes the environment, so it does not run
// in parallel.
func TestDLQBrokersFromEnvironment(t *testing.T) {
	t.Setenv(envKafkaBrokers, "")
	_, err := agora(t, "dlq", "list", "--topic", dlqTestTopic)
	require.ErrorContains(t, err, envKafkaBrokers)

	addr, _ := dlqCluster(t)
	t.Setenv(envKafkaBrokers, addr)
	out, err := agora(t, "dlq", "list", "--topic", dlqTestTopic)
	require.NoError(t, err)
	require.Contains(t, out, "3 records")
}
