package lambdahost_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/lambdahost"
)

// A schedule runs one round of the jobs it names (all when it names none),
// each once; a failed round fails the invocation without stopping the
// others, and a job the service does not have is an error, not a no-op.
func TestJobs(t *testing.T) {
	t.Parallel()
	var ran []string
	job := func(name string, err error) lambdahost.Job {
		return lambdahost.Job{Name: name, Round: func(ctx context.Context) error {
			if _, ok := ctx.Deadline(); !ok {
				return errors.New("no budget")
			}
			ran = append(ran, name)
			return err
		}}
	}
	h, err := lambdahost.Jobs([]lambdahost.Job{job("expiry", nil), job("dispatch", errors.New("smtp down")), job("advance", nil)})
	require.NoError(t, err)
	invoke := func(payload string) (lambdahost.JobsReport, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := lambda.NewHandler(h).Invoke(ctx, []byte(payload))
		if err != nil {
			return lambdahost.JobsReport{}, err
		}
		var rep lambdahost.JobsReport
		require.NoError(t, json.Unmarshal(out, &rep))
		return rep, nil
	}

	rep, err := invoke(`{"jobs":["advance","expiry","advance"]}`)
	require.NoError(t, err)
	require.Equal(t, []string{"advance", "expiry"}, rep.Ran)
	require.Equal(t, []string{"advance", "expiry"}, ran)

	ran = nil
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep, err = h(ctx, lambdahost.ScheduleEvent{})
	require.ErrorContains(t, err, "job dispatch: smtp down")
	require.Equal(t, []string{"expiry", "advance"}, rep.Ran)
	require.Equal(t, map[string]string{"dispatch": "smtp down"}, rep.Failed)
	require.Equal(t, []string{"expiry", "dispatch", "advance"}, ran)

	ran = nil
	_, err = invoke(`{"jobs":["expiry","vacuum"]}`)
	require.ErrorContains(t, err, `unknown job "vacuum"`)
	require.Empty(t, ran, "nothing runs when the schedule names a job the service lacks")
}

func TestJobsRefusesBadJobs(t *testing.T) {
	t.Parallel()
	round := func(context.Context) error { return nil }
	_, err := lambdahost.Jobs([]lambdahost.Job{{Name: "", Round: round}})
	require.Error(t, err)
	_, err = lambdahost.Jobs([]lambdahost.Job{{Name: "a"}})
	require.Error(t, err)
	_, err = lambdahost.Jobs([]lambdahost.Job{{Name: "a", Round: round}, {Name: "a", Round: round}})
	require.ErrorContains(t, err, "declared twice")
}
