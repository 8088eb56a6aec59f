package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/dynamo/dynamotest"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

var (
	errTaken   = errors.New("taken")
	errMissing = errors.New("missing")
)

func put(pk string) types.Put {
	return types.Put{Item: dynamo.Key(pk, "X"), ConditionExpression: aws.String("attribute_not_exists(pk)")}
}

func TestTxMapsCancellationReasons(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := dynamotest.Client(t)
	table := dynamotest.NewTable(t, client, "tx")

	tx := dynamo.NewTx(table)
	tx.Put(put("A"), errTaken)
	require.NoError(t, tx.Commit(ctx, client))
	require.NoError(t, dynamo.NewTx(table).Commit(ctx, client), "an empty transaction does nothing")

	tx = dynamo.NewTx(table)
	tx.Put(put("B"), nil)
	tx.Put(types.Put{Item: dynamo.Key("A", "X"), ConditionExpression: aws.String("attribute_not_exists(pk)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}, errTaken)
	tx.Check(types.ConditionCheck{Key: dynamo.Key("C", "X"), ConditionExpression: aws.String("attribute_exists(pk)")}, errMissing)
	err := tx.Commit(ctx, client)
	require.ErrorIs(t, err, dynamo.ErrConditionFailed)
	require.ErrorIs(t, err, errTaken)
	require.ErrorIs(t, err, errMissing)
	require.True(t, fault.IsPermanent(err))
	var cfe *dynamo.ConditionFailedError
	require.ErrorAs(t, err, &cfe)
	require.Equal(t, []int{1, 2}, cfe.Failed)
	require.True(t, cfe.FailedAt(1))
	require.False(t, cfe.FailedAt(0))
	require.Equal(t, "A", dynamo.GetS(cfe.Items[1], dynamo.AttrPK), "the failed item as it was")
	require.Empty(t, dynamotest.Items(t, client, table, "B"), "nothing of a cancelled transaction is written")
}

func TestTxRefusesMoreThan100Items(t *testing.T) {
	t.Parallel()
	tx := dynamo.NewTx("any")
	for i := range dynamo.MaxTxItems + 1 {
		tx.Put(put(fmt.Sprint(i)), nil)
	}
	err := tx.Commit(context.Background(), nil)
	require.ErrorIs(t, err, dynamo.ErrTooManyItems)
	require.True(t, fault.IsPermanent(err))
}

func TestClassify(t *testing.T) {
	t.Parallel()
	require.NoError(t, dynamo.Classify(nil))
	require.True(t, fault.IsRetryable(dynamo.Classify(&types.ProvisionedThroughputExceededException{})))
	require.True(t, fault.IsRetryable(dynamo.Classify(&types.InternalServerError{})))
	require.True(t, fault.IsRetryable(dynamo.Classify(errors.New("connection reset"))))
	ccf := dynamo.Classify(&types.ConditionalCheckFailedException{})
	require.ErrorIs(t, ccf, dynamo.ErrConditionFailed)
	require.True(t, fault.IsPermanent(ccf))
	require.True(t, fault.IsPermanent(dynamo.Classify(&types.ResourceNotFoundException{})))
	require.ErrorIs(t, dynamo.Classify(context.Canceled), context.Canceled)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	require.Error(t, dynamo.Config{Table: "t"}.Validate())
	require.Error(t, dynamo.Config{Region: "us-east-1"}.Validate())
	_, err := dynamo.NewClient(context.Background(), dynamo.Config{})
	require.Error(t, err)
	c, err := dynamo.NewClient(context.Background(), dynamo.Config{Region: "us-east-1", Table: "t", Endpoint: "http://127.0.0.1:1"})
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:1", aws.ToString(c.Options().BaseEndpoint))
}
