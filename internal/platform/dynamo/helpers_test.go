package dynamo_test

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

type awsValue = types.AttributeValue

func cmpString(a, b string) int { return strings.Compare(a, b) }
