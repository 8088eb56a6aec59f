package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/testenv"
)

// Tokens an Amazon Cognito user pool issues — here the AWS emulator's,
// signed with the pool's key and published at the pool's JWKS address —
// pass the verifier configured as the services are on AWS (the pool's
// issuer, its app client IDs, no audience), and its ID tokens and another
// client's tokens do not.
func TestVerifierAcceptsTokensOfACognitoUserPool(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	emu := testenv.AWSEmulator(t)
	awsCfg, err := emu.Config(ctx)
	require.NoError(t, err)
	idp := cip.NewFromConfig(awsCfg)

	pool, err := idp.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("agora-" + uuid.NewString()[:8])})
	require.NoError(t, err)
	poolID := aws.ToString(pool.UserPool.Id)
	t.Cleanup(func() {
		_, _ = idp.DeleteUserPool(context.Background(), &cip.DeleteUserPoolInput{UserPoolId: aws.String(poolID)})
	})
	newClient := func(name string) string {
		out, err := idp.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
			UserPoolId: aws.String(poolID), ClientName: aws.String(name),
			ExplicitAuthFlows: []ciptypes.ExplicitAuthFlowsType{ciptypes.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth, ciptypes.ExplicitAuthFlowsTypeAllowRefreshTokenAuth},
		})
		require.NoError(t, err)
		return aws.ToString(out.UserPoolClient.ClientId)
	}
	web, other := newClient("web"), newClient("other")
	const password = "Correct-Horse-9"
	_, err = idp.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(poolID), Username: aws.String("ada"), TemporaryPassword: aws.String(password)})
	require.NoError(t, err)
	_, err = idp.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(poolID), Username: aws.String("ada"), Password: aws.String(password), Permanent: true})
	require.NoError(t, err)
	signIn := func(client string) *ciptypes.AuthenticationResultType {
		out, err := idp.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{
			UserPoolId: aws.String(poolID), ClientId: aws.String(client), AuthFlow: ciptypes.AuthFlowTypeAdminUserPasswordAuth,
			AuthParameters: map[string]string{"USERNAME": "ada", "PASSWORD": password},
		})
		require.NoError(t, err)
		require.NotNil(t, out.AuthenticationResult)
		return out.AuthenticationResult
	}

	// The issuer is the pool's AWS address whatever serves it; the keys
	// come from where the pool publishes them (the emulator here).
	region := awsCfg.Region
	v, err := auth.NewVerifier(auth.Config{
		Issuer:      "https://cognito-idp." + region + ".amazonaws.com/" + poolID,
		ClientIDs:   []string{web},
		ScopePrefix: "agora/",
		JWKSURL:     strings.TrimSuffix(emu.Endpoint, "/") + "/" + poolID + "/.well-known/jwks.json",
	})
	require.NoError(t, err)

	tokens := signIn(web)
	p, err := v.Verify(ctx, aws.ToString(tokens.AccessToken))
	require.NoError(t, err)
	require.NotEmpty(t, p.Subject)
	require.Equal(t, web, p.ClientID)
	require.Equal(t, "ada", p.Claims["username"])

	_, err = v.Verify(ctx, aws.ToString(tokens.IdToken))
	require.True(t, errors.Is(err, auth.ErrInvalidToken), "an ID token: %v", err)
	_, err = v.Verify(ctx, aws.ToString(signIn(other).AccessToken))
	require.True(t, errors.Is(err, auth.ErrInvalidToken), "another app client's token: %v", err)
}
