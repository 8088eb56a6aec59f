package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/agoracommerce/agora/internal/platform/dlq"
)

// dlqFlags are the flags every dlq subcommand shares.
type dlqFlags struct {
	kafka   kafkaFlags
	topic   string
	group   string
	timeout time.Duration
}

// newDLQCmd groups the dead-letter topic tooling.
func newDLQCmd() *cobra.Command {
	f := &dlqFlags{}
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "List, inspect and redrive the records of a dead-letter topic",
		Long: `Work with a dead-letter topic ("<consumer group>.dlq"): list what it holds,
show one entry with its failure headers, and redrive entries back to the topic
they failed on.

A redrive republishes the original key, value and headers (without the dlq_*
headers, with agora_redrives raised by one) with an idempotent acks=all
producer. Progress is committed to a consumer group of its own
("<topic>.redrive" unless --group says otherwise): 'redrive --all' starts
where the last one stopped, so running it twice sends nothing twice.
'redrive --offset' sends the named entries even if they were sent before;
consumers dedupe events by ce_id in their inbox, so a repeat has no second
effect.`,
	}
	pf := cmd.PersistentFlags()
	f.kafka.register(pf)
	pf.StringVar(&f.topic, "topic", "", "the dead-letter topic (required)")
	pf.StringVar(&f.group, "group", "", "consumer group that records redrive progress (default <topic>.redrive)")
	pf.DurationVar(&f.timeout, "timeout", 30*time.Second, "give up after this long")
	cmd.AddCommand(newDLQListCmd(f), newDLQShowCmd(f), newDLQRedriveCmd(f))
	return cmd
}

// open checks the shared flags and connects.
func (f *dlqFlags) open(ctx context.Context) (context.Context, *dlq.Client, func(), error) {
	opts, err := f.kafka.opts(ctx, "dlq")
	if err != nil {
		return nil, nil, nil, err
	}
	if f.topic == "" {
		return nil, nil, nil, errors.New("dlq: --topic (the dead-letter topic) is required")
	}
	if f.timeout <= 0 {
		return nil, nil, nil, fmt.Errorf("dlq: --timeout must be positive, got %s", f.timeout)
	}
	client, err := dlq.New(dlq.Config{ClientOpts: opts})
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	return ctx, client, func() { cancel(); client.Close() }, nil
}

func newDLQListCmd(f *dlqFlags) *cobra.Command {
	var (
		asJSON bool
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Summarize a dead-letter topic and list its entries",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return fmt.Errorf("dlq list: --limit must not be negative, got %d", limit)
			}
			ctx, client, done, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			summary, err := client.List(ctx, f.topic, dlq.ListOptions{Group: f.group})
			if err != nil {
				return err
			}
			entries, err := client.Read(ctx, f.topic, dlq.ReadOptions{Partition: dlq.AllPartitions, Limit: limit})
			if err != nil {
				return err
			}
			if asJSON {
				views := make([]entryView, len(entries))
				for i, e := range entries {
					views[i] = newEntryView(e)
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Summary dlq.Summary `json:"summary"`
					Entries []entryView `json:"entries"`
				}{summary, views})
			}
			return printList(cmd.OutOrStdout(), summary, entries)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary and entries as JSON")
	cmd.Flags().IntVar(&limit, "limit", 100, "list at most this many entries (0: all)")
	return cmd
}

func printList(out io.Writer, s dlq.Summary, entries []dlq.Entry) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "topic %s: %d records, %d pending redrive (progress group %s)\n\n", s.Topic, s.Records, s.Pending, s.RedriveGroup)
	fmt.Fprintln(w, "PARTITION\tSTART\tEND\tRECORDS\tREDRIVEN TO\tPENDING")
	for _, p := range s.Partitions {
		redriven := "-"
		if p.RedrivenTo >= 0 {
			redriven = strconv.FormatInt(p.RedrivenTo, 10)
		}
		fmt.Fprintf(w, "%d\t%d\t%d\t%d\t%s\t%d\n", p.Partition, p.StartOffset, p.EndOffset, p.Records, redriven, p.Pending)
	}
	fmt.Fprintln(w, "\nREASON\tRECORDS")
	for _, c := range s.Reasons {
		fmt.Fprintf(w, "%s\t%d\n", orNone(c.Name), c.Records)
	}
	fmt.Fprintln(w, "\nORIGINAL TOPIC\tRECORDS")
	for _, c := range s.OriginalTopics {
		fmt.Fprintf(w, "%s\t%d\n", orNone(c.Name), c.Records)
	}
	fmt.Fprintln(w, "\nPOSITION\tREASON\tORIGIN\tEVENT TYPE\tEVENT ID\tATTEMPTS\tREDRIVES\tFAILED AT")
	for _, e := range entries {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", e.Position, orNone(e.Reason), origin(e),
			orNone(printable(e.EventType)), orNone(printable(e.EventID)), e.Attempts, e.Redrives, timeText(e.FailedAt))
	}
	if len(entries) < s.Records {
		fmt.Fprintf(w, "(%d of %d entries listed; --limit 0 lists all)\n", len(entries), s.Records)
	}
	return w.Flush()
}

func newDLQShowCmd(f *dlqFlags) *cobra.Command {
	var (
		partition int32
		offset    int64
		valueHex  bool
	)
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print one entry of a dead-letter topic with all its headers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if partition < 0 || offset < 0 {
				return errors.New("dlq show: --partition and --offset must not be negative")
			}
			ctx, client, done, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			entries, err := client.Read(ctx, f.topic, dlq.ReadOptions{Partition: partition, FromOffset: offset, Limit: 1})
			if err != nil {
				return err
			}
			if len(entries) == 0 || entries[0].Offset != offset {
				return fmt.Errorf("dlq show: %w: %d:%d in %s", dlq.ErrNoRecord, partition, offset, f.topic)
			}
			return printEntry(cmd.OutOrStdout(), entries[0], valueHex)
		},
	}
	cmd.Flags().Int32Var(&partition, "partition", 0, "partition of the entry")
	cmd.Flags().Int64Var(&offset, "offset", 0, "offset of the entry (required)")
	cmd.Flags().BoolVar(&valueHex, "value-hex", false, "also print the record value as a hex dump")
	_ = cmd.MarkFlagRequired("offset")
	return cmd
}

func printEntry(out io.Writer, e dlq.Entry, valueHex bool) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	num := func(n int64) string {
		if n < 0 {
			return "(none)"
		}
		return strconv.FormatInt(n, 10)
	}
	rows := [][2]string{
		{"position", e.Position.String()},
		{"timestamp", timeText(e.Timestamp)},
		{"key", keyText(e.Key)},
		{"value size", fmt.Sprintf("%d bytes", e.ValueSize)},
		{"reason", orNone(e.Reason)},
		{"error", orNone(printable(e.Error))},
		{"original topic", orNone(printable(e.OriginalTopic))},
		{"original partition", num(int64(e.OriginalPartition))},
		{"original offset", num(e.OriginalOffset)},
		{"attempts", strconv.Itoa(e.Attempts)},
		{"consumer group", orNone(printable(e.Group))},
		{"failed at", timeText(e.FailedAt)},
		{"event id", orNone(printable(e.EventID))},
		{"event type", orNone(printable(e.EventType))},
		{"redrives", strconv.Itoa(e.Redrives)},
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\n", r[0], r[1])
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, "headers:")
	for _, h := range e.Headers {
		fmt.Fprintf(out, "  %s: %s\n", printable(h.Key), printable(string(h.Value)))
	}
	if valueHex {
		fmt.Fprintln(out, "value:")
		if _, err := io.WriteString(out, hex.Dump(e.Value)); err != nil {
			return err
		}
	}
	return nil
}

func newDLQRedriveCmd(f *dlqFlags) *cobra.Command {
	var (
		all     bool
		offsets []string
		dryRun  bool
	)
	cmd := &cobra.Command{
		Use:   "redrive",
		Short: "Send dead-letter entries back to the topic they failed on",
		Long: `Send entries back to their original topic: every entry not yet redriven
(--all), or the entries named with --offset partition:offset. Entries without
an original topic header are refused and reported (the command then fails);
the others are still sent. --dry-run shows what would be sent and sends and
commits nothing.`,
		Example: `  agora dlq redrive --topic ordering-payments.dlq --all --dry-run
  agora dlq redrive --topic ordering-payments.dlq --offset 0:12 --offset 2:3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if all == (len(offsets) > 0) {
				return errors.New("dlq redrive: pass either --all or --offset partition:offset")
			}
			opts := dlq.RedriveOptions{All: all, DryRun: dryRun, Group: f.group}
			for _, s := range offsets {
				p, err := dlq.ParsePosition(s)
				if err != nil {
					return err
				}
				opts.Offsets = append(opts.Offsets, p)
			}
			ctx, client, done, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			res, err := client.Redrive(ctx, f.topic, opts)
			if err != nil && len(res.Redriven)+len(res.Refused)+len(res.Committed) == 0 {
				return err // failed before doing anything
			}
			if perr := printRedrive(cmd.OutOrStdout(), res); perr != nil && err == nil {
				err = perr
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "redrive every entry not redriven yet")
	cmd.Flags().StringSliceVar(&offsets, "offset", nil, "redrive the entry at partition:offset; repeat or separate with commas")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would be redriven; produce and commit nothing")
	return cmd
}

func printRedrive(out io.Writer, r dlq.RedriveResult) error {
	var b strings.Builder
	for _, d := range r.Redriven {
		if r.DryRun {
			fmt.Fprintf(&b, "would redrive %s -> %s event %s (redrives %d)\n", d.From, d.Topic, orNone(printable(d.EventID)), d.Redrives)
		} else {
			fmt.Fprintf(&b, "redriven %s -> %s[%d]@%d event %s (redrives %d)\n", d.From, d.Topic, d.Partition, d.Offset, orNone(printable(d.EventID)), d.Redrives)
		}
	}
	for _, x := range r.Refused {
		fmt.Fprintf(&b, "refused %s event %s: %s\n", x.From, orNone(printable(x.EventID)), x.Reason)
	}
	if len(r.Committed) > 0 {
		parts := make([]string, len(r.Committed))
		for i, c := range r.Committed {
			parts[i] = c.String()
		}
		fmt.Fprintf(&b, "progress committed to group %s: %s\n", r.Group, strings.Join(parts, " "))
	}
	if r.DryRun {
		fmt.Fprintf(&b, "dry run: %d would be redriven, %d refused; nothing produced or committed\n", len(r.Redriven), len(r.Refused))
	} else {
		fmt.Fprintf(&b, "%d redriven, %d refused\n", len(r.Redriven), len(r.Refused))
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// entryView is the JSON form of an entry in `dlq list --json`.
type entryView struct {
	Partition         int32      `json:"partition"`
	Offset            int64      `json:"offset"`
	Timestamp         time.Time  `json:"timestamp"`
	Key               string     `json:"key"`
	ValueSize         int        `json:"value_size"`
	Reason            string     `json:"reason"`
	Error             string     `json:"error"`
	OriginalTopic     string     `json:"original_topic"`
	OriginalPartition int32      `json:"original_partition"`
	OriginalOffset    int64      `json:"original_offset"`
	Attempts          int        `json:"attempts"`
	Group             string     `json:"consumer_group"`
	FailedAt          *time.Time `json:"failed_at"`
	EventID           string     `json:"event_id"`
	EventType         string     `json:"event_type"`
	Redrives          int        `json:"redrives"`
}

func newEntryView(e dlq.Entry) entryView {
	v := entryView{
		Partition: e.Partition, Offset: e.Offset, Timestamp: e.Timestamp, Key: keyText(e.Key), ValueSize: e.ValueSize,
		Reason: e.Reason, Error: e.Error, OriginalTopic: e.OriginalTopic, OriginalPartition: e.OriginalPartition,
		OriginalOffset: e.OriginalOffset, Attempts: e.Attempts, Group: e.Group, EventID: e.EventID,
		EventType: e.EventType, Redrives: e.Redrives,
	}
	if !e.FailedAt.IsZero() {
		v.FailedAt = &e.FailedAt
	}
	return v
}

func origin(e dlq.Entry) string {
	if e.OriginalTopic == "" {
		return "(none)"
	}
	return fmt.Sprintf("%s[%d]@%d", printable(e.OriginalTopic), e.OriginalPartition, e.OriginalOffset)
}

// keyText shows a key as text when it is printable, else as hex.
func keyText(k []byte) string {
	if k == nil {
		return "(none)"
	}
	if s := string(k); isPrintable(s) {
		return s
	}
	return "hex:" + hex.EncodeToString(k)
}

// printable keeps s on one line of plain text, quoting it otherwise.
func printable(s string) string {
	if isPrintable(s) {
		return s
	}
	return strconv.Quote(s)
}

func isPrintable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "(none)"
	}
	return t.UTC().Format(time.RFC3339Nano)
}
